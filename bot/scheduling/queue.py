"""The writers' side of deliveries: features plan rows, `enqueue` inserts the new ones."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.targets import Target
from bot.store.models import Delivery, DeliveryState
from bot.store.upsert import insert_ignore_many

# Discord accepts nonces of at most 25 characters; the Discord adapter appends "p<n>" to the
# first 21 for each further part of a split message, so ours stay within 21.
NONCE_LENGTH = 21


@dataclass(frozen=True, slots=True)
class Planned:
    """One delivery a feature wants: the unique key is (kind, subject, occurrence, target)
    within the community that plans it."""

    kind: str
    subject: str
    occurrence: str
    target: Target
    due_at: datetime
    payload: Mapping[str, Any] | None = None


# Marks a session whose transaction added deliveries; see `enqueued`.
ENQUEUED = "communitybot.deliveries_enqueued"


async def enqueue(
    session: AsyncSession, community_id: int, planned: Iterable[Planned], now: datetime
) -> int:
    """Insert the planned deliveries that do not exist yet; returns how many were new.

    Idempotent on the unique key, so features may plan the same thing again (at start, after
    an edit) without doubling it. Commands that enqueue wake the timer once they commit.
    """
    rows = []
    for p in planned:
        if p.due_at.tzinfo is None:
            raise ValueError("a delivery's due time must be timezone-aware")
        rows.append(
            {
                "community_id": community_id,
                "kind": p.kind,
                "subject": p.subject,
                "occurrence": p.occurrence,
                "target": str(p.target),
                "platform": str(p.target.platform),
                "due_at": p.due_at,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": p.due_at,
                "payload": dict(p.payload or {}),
                "created_at": now,
                "updated_at": now,
            }
        )
    # One round trip for them all: sending a reminder re-plans its meeting's next posts.
    new = await insert_ignore_many(
        session,
        Delivery.__table__,  # type: ignore[arg-type]
        rows,
        ("kind", "subject", "occurrence", "target", "community_id"),
    )
    if new:
        session.info[ENQUEUED] = True
    return new


def enqueued(session: AsyncSession) -> bool:
    """Whether this transaction added deliveries (so the timer should look at them now)."""
    return bool(session.info.get(ENQUEUED))


def delivery_nonce(row: Delivery) -> str:
    """The same nonce for every attempt at one delivery, so the platform can drop a resend.

    Discord (with `enforce_nonce`) returns the earlier message instead of posting again when
    the same author sends the same nonce within a few minutes. The row id makes it unique per
    row even if a key is reused after a delete; the key makes it unique across databases.
    """
    key = f"{row.id}|{row.kind}|{row.subject}|{row.occurrence}|{row.target}"
    return "c" + hashlib.sha256(key.encode()).hexdigest()[: NONCE_LENGTH - 1]
