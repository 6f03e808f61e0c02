"""Platform event and interaction ids seen, so a redelivered one has a single effect."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.store.models import InboundEvent
from bot.store.upsert import insert_ignore_in

# Slack retries for about an hour at most; Discord redeliveries come within minutes.
KEEP_FOR = timedelta(days=2)


async def first_arrival(session: AsyncSession, platform: str, event_id: str, now: datetime) -> bool:
    """True the first time (platform, event_id) is seen; False for every redelivery."""
    return await session.run_sync(first_arrival_in, platform, event_id, now)


def first_arrival_in(session: Session, platform: str, event_id: str, now: datetime) -> bool:
    """first_arrival on the synchronous session, for a caller already in SQLAlchemy's
    greenlet (`AsyncSession.run_sync`), where several steps share one hand-off."""
    return insert_ignore_in(
        session,
        InboundEvent.__table__,  # type: ignore[arg-type]
        {"platform": platform, "event_id": event_id[:128], "received_at": now},
        ("platform", "event_id"),
    )


def expired(now: datetime) -> ColumnElement[bool]:
    """The ids too old to be redelivered; bot.scheduling.pruning deletes them."""
    return InboundEvent.received_at < now - KEEP_FOR
