"""Pruning finished deliveries: a year of reminders is a million rows nobody reads again.

Rows that are sent, skipped or failed and were last changed more than `days` ago are deleted
a bounded batch per statement, each in its own short transaction (SQLite has one writer: a
million-row DELETE would hold the write lock for seconds). Pending and claimed rows are
never touched, however old: they are work still to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_

from bot.scheduling.pruning import Pruner, prune_one
from bot.store.db import Database
from bot.store.models import Delivery, DeliveryState

FINISHED = (DeliveryState.SENT, DeliveryState.SKIPPED, DeliveryState.FAILED)


def deliveries_pruner(days: int) -> Pruner:
    """The pruning job's entry for deliveries finished more than `days` days ago."""
    if days < 1:
        raise ValueError("days must be at least 1")
    finished = [str(s) for s in FINISHED]
    return Pruner(
        "finished deliveries",
        Delivery.__table__,  # type: ignore[arg-type]
        # Checked again by the DELETE itself: a row retried (back to pending) since stays.
        lambda now: and_(
            Delivery.state.in_(finished), Delivery.updated_at < now - timedelta(days=days)
        ),
    )


async def prune_deliveries(db: Database, now: datetime, days: int, batch: int = 1000) -> int:
    """Delete finished deliveries older than `days` days; returns how many were deleted."""
    if batch < 1:
        raise ValueError("days and batch must be at least 1")
    return (await prune_one(db, deliveries_pruner(days), now, batch)).rows
