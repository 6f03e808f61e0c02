"""Pruning finished deliveries: a year of reminders is a million rows nobody reads again.

Rows that are sent, skipped or failed and were last changed more than `days` ago are deleted
a bounded batch per statement, each in its own short transaction (SQLite has one writer: a
million-row DELETE would hold the write lock for seconds). Pending and claimed rows are
never touched, however old: they are work still to do.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bot.store.db import Database
from bot.store.models import Delivery, DeliveryState

FINISHED = (DeliveryState.SENT, DeliveryState.SKIPPED, DeliveryState.FAILED)


async def prune_deliveries(db: Database, now: datetime, days: int, batch: int = 1000) -> int:
    """Delete finished deliveries older than `days` days; returns how many were deleted."""
    if days < 1 or batch < 1:
        raise ValueError("days and batch must be at least 1")
    cutoff = now - timedelta(days=days)
    # The ids are chosen by the (state, updated_at) index; deleting by id keeps each
    # statement to at most `batch` rows on both databases (SQLite has no DELETE ... LIMIT).
    chosen = (
        select(Delivery.id)
        .where(Delivery.state.in_([str(s) for s in FINISHED]), Delivery.updated_at < cutoff)
        .limit(batch)
    )
    total = 0
    while True:
        async with db.session() as session:
            ids = list((await session.scalars(chosen)).all())
            if not ids:
                return total
            result = await session.execute(
                delete(Delivery)
                .where(Delivery.id.in_(ids))
                # Re-checked: a row retried (back to pending) since it was chosen stays.
                .where(Delivery.state.in_([str(s) for s in FINISHED]))
                .execution_options(synchronize_session=False)
            )
        total += int(result.rowcount)  # type: ignore[attr-defined]
        if len(ids) < batch:
            return total
        # SQLite runs on the loop's thread and never suspends: let commands in between.
        await asyncio.sleep(0)
