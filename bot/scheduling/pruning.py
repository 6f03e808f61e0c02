"""One scheduled job deletes the rows that would otherwise only grow.

Each `Pruner` names a table and which of its rows are expired; `PRUNERS` is the registry,
so a later table with a retention (delivered rows, a replay store, link codes, export
tokens) is one more entry there. Rows go in batches of at most `BATCH`, chosen by primary
key, each batch its own short transaction: on SQLite the write lock is held for one batch
at a time, never for the whole clean-up, so commands keep flowing while it runs.

The running bot runs `prune_all` every `EVERY` on the delivery timer's APScheduler
(`schedule`); tests call `prune_all(db, now)` directly. Replicas may prune at the same
time: deleting a row twice deletes it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, Table, delete, select, tuple_

from bot.store import inbound
from bot.store.db import Database
from bot.store.identity import FAILURE_RETENTION, ExportToken, LinkCode, LinkFailure
from bot.store.models import Confirmation, InboundEvent

log = logging.getLogger(__name__)

JOB_ID = "prune"
EVERY = timedelta(hours=1)
# The first clean-up waits this long after start, so it does not compete with start-up.
FIRST_AFTER = timedelta(minutes=2)
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Pruner:
    """The rows of `table` for which `expired(now)` holds are deleted."""

    name: str
    table: Table
    expired: Callable[[datetime], ColumnElement[bool]]


PRUNERS: tuple[Pruner, ...] = (
    Pruner("inbound events", InboundEvent.__table__, inbound.expired),  # type: ignore[arg-type]
    Pruner(
        "expired confirmations",
        Confirmation.__table__,  # type: ignore[arg-type]
        lambda now: Confirmation.expires_at < now,
    ),
    Pruner(
        "expired link codes",
        LinkCode.__table__,  # type: ignore[arg-type]
        lambda now: LinkCode.expires_at < now,
    ),
    Pruner(
        "old wrong link codes",
        LinkFailure.__table__,  # type: ignore[arg-type]
        lambda now: LinkFailure.at < now - FAILURE_RETENTION,
    ),
    Pruner(
        "expired data links",
        ExportToken.__table__,  # type: ignore[arg-type]
        lambda now: ExportToken.expires_at < now,
    ),
)


@dataclass(frozen=True, slots=True)
class Pruned:
    rows: int
    batches: int


async def prune_one(db: Database, pruner: Pruner, now: datetime, batch: int = BATCH) -> Pruned:
    """Delete `pruner`'s expired rows, `batch` rows per statement, committing after each."""
    key = list(pruner.table.primary_key.columns)
    chosen = select(*key).where(pruner.expired(now)).limit(batch)
    # `(a, b) IN (SELECT a, b … LIMIT n)`: PostgreSQL and SQLite (3.15+) both have row values.
    target = key[0].in_(chosen) if len(key) == 1 else tuple_(*key).in_(chosen)
    statement = delete(pruner.table).where(target)
    rows = batches = 0
    while True:
        async with db.session() as session:
            result = await session.execute(statement)
        deleted = result.rowcount or 0  # type: ignore[attr-defined]
        batches += 1
        rows += deleted
        if deleted < batch:
            return Pruned(rows, batches)
        # SQLite runs on the loop's thread and never suspends: let commands in between.
        await asyncio.sleep(0)


async def prune_all(
    db: Database,
    now: datetime,
    *,
    pruners: Sequence[Pruner] = PRUNERS,
    batch: int = BATCH,
) -> dict[str, Pruned]:
    """Run every pruner; what each deleted, by name."""
    done: dict[str, Pruned] = {}
    for pruner in pruners:
        done[pruner.name] = result = await prune_one(db, pruner, now, batch)
        if result.rows:
            log.info("pruned %d %s", result.rows, pruner.name)
    return done


def schedule(
    scheduler: AsyncIOScheduler,
    db: Database,
    clock: Callable[[], datetime],
    pruners: Sequence[Pruner] = PRUNERS,
) -> None:
    """Run `prune_all` every EVERY on `scheduler` (a coroutine job, on the event loop)."""

    async def job() -> None:
        try:
            await prune_all(db, clock(), pruners=pruners)
        except Exception:
            # The next run tries again; nothing is lost by waiting.
            log.exception("pruning failed; trying again in %s", EVERY)

    scheduler.add_job(
        job,
        trigger="interval",
        seconds=EVERY.total_seconds(),
        next_run_time=datetime.now(UTC) + FIRST_AFTER,
        id=JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
