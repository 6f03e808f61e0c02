"""The deliveries table as a work queue: atomic claims with leases, outcomes, releases.

A claim is one conditional `UPDATE … WHERE id IN (SELECT … LIMIT n) AND <still due> RETURNING`.
On PostgreSQL the inner select takes `FOR UPDATE SKIP LOCKED`, so concurrent replicas each get
different rows without waiting on each other; on SQLite every transaction starts with
`BEGIN IMMEDIATE` (bot.store.db), so claims are serialized. Either way a row is claimed by one
worker at a time, and the outer condition re-checks it under the lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    column,
    func,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import Database
from bot.store.models import Delivery, DeliveryState

_WRITERS: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


@asynccontextmanager
async def _writing(db: Database) -> AsyncIterator[AsyncSession]:
    """A write transaction; on SQLite, queued in this process first.

    SQLite has one writer at a time. Left to SQLite, concurrent sends wait in its busy
    handler, which sleeps up to 100 ms between tries: a burst would spend most of its time
    asleep. Queued on an asyncio lock, each write starts the moment the previous one ends.
    """
    if not db.is_sqlite:
        async with db.session() as session:
            yield session
        return
    lock = _WRITERS.setdefault(db, asyncio.Lock())
    async with lock, db.session() as session:
        yield session


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        # A claim whose lease ran out belongs to a worker that died (or hung) mid-send.
        and_(Delivery.state == DeliveryState.CLAIMED, Delivery.lease_until < now),
    )


def _ours(platforms: Collection[str], kinds: Collection[str]) -> ColumnElement[bool]:
    # Only platforms this process has connected (the console never takes a Slack row), and
    # only kinds it knows (an older replica in a rolling upgrade leaves newer kinds alone).
    return and_(Delivery.platform.in_(list(platforms)), Delivery.kind.in_(list(kinds)))


async def claim(
    db: Database,
    *,
    worker: str,
    platforms: Collection[str],
    kinds: Collection[str],
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Delivery]:
    """Atomically take up to `limit` due rows for `worker`, earliest first; counts an attempt."""
    if not platforms or not kinds or limit <= 0:
        return []
    pick = (
        select(Delivery.id)
        .where(_due(now), _ours(platforms, kinds))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if db.is_postgres:
        pick = pick.with_for_update(skip_locked=True)
    # A CTE, not `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`: PostgreSQL may re-run
    # such a subquery when a concurrent claim changed a row it looked at, and each re-run
    # picks more rows, so one claim could take hundreds. A locking CTE runs exactly once.
    picked = pick.cte("picked")
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(select(picked.c.id)), _due(now))
        .values(
            state=DeliveryState.CLAIMED,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=Delivery.attempts + 1,
            updated_at=now,
        )
        .returning(Delivery)
    )
    async with _writing(db) as session:
        result = await session.scalars(stmt, execution_options={"synchronize_session": False})
        rows = list(result.all())
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    return rows


async def finish(db: Database, row_id: int, worker: str, now: datetime, **values: Any) -> bool:
    """Record an outcome, only while `worker`'s claim stands (a lease may have been taken over)."""
    async with _writing(db) as session:
        result = await session.execute(
            update(Delivery)
            .where(
                Delivery.id == row_id,
                Delivery.claimed_by == worker,
                Delivery.state == DeliveryState.CLAIMED,
            )
            .values(updated_at=now, lease_until=None, **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_sent(db: Database, worker: str, sent: Sequence[tuple[int, datetime, str]]) -> int:
    """Mark rows sent — (id, when, message ref) — in one transaction; returns how many stood.

    One transaction for all the sends that finished together (group commit): in a burst,
    a transaction per row would be most of the work.
    """
    if not sent:
        return 0
    table = Delivery.__table__
    stands = (table.c.claimed_by == worker, table.c.state == DeliveryState.CLAIMED)
    done = {"state": DeliveryState.SENT, "lease_until": None, "last_error": None}
    if db.is_postgres:
        # One UPDATE … FROM (VALUES …) RETURNING: asyncpg reports no row count for an
        # executemany, and the count is how a lease taken over shows.
        rows = values(
            column("row_id", Integer),
            column("at", table.c.sent_at.type),
            column("ref", table.c.message_ref.type),
            name="sent",
        ).data([(i, at, ref[:200]) for i, at, ref in sent])
        stmt = (
            update(table)
            .where(table.c.id == rows.c.row_id, *stands)
            .values(sent_at=rows.c.at, updated_at=rows.c.at, message_ref=rows.c.ref, **done)
            .returning(table.c.id)
        )
        async with _writing(db) as session:
            conn = await session.connection()
            return len((await conn.execute(stmt)).all())
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"), *stands)
        .values(
            sent_at=bindparam("at"),
            updated_at=bindparam("at"),
            message_ref=bindparam("ref"),
            **done,
        )
    )
    params = [{"row_id": i, "at": at, "ref": ref[:200]} for i, at, ref in sent]
    async with _writing(db) as session:
        conn = await session.connection()
        result = await conn.execute(stmt, params)
        return int(result.rowcount)


async def release(
    db: Database,
    worker: str,
    now: datetime,
    *,
    only: Collection[int] | None = None,
    exclude: Collection[int] = (),
) -> int:
    """Hand `worker`'s claimed rows back unsent (or just `only`), undoing the attempt count."""
    conditions = [Delivery.claimed_by == worker, Delivery.state == DeliveryState.CLAIMED]
    if only is not None:
        if not only:
            return 0
        conditions.append(Delivery.id.in_(list(only)))
    if exclude:
        conditions.append(Delivery.id.not_in(list(exclude)))
    # attempts >= 1 for a claimed row (the claim counted one), so this never goes below 0.
    async with _writing(db) as session:
        result = await session.execute(
            update(Delivery)
            .where(*conditions)
            .values(
                state=DeliveryState.PENDING,
                claimed_by=None,
                lease_until=None,
                attempts=Delivery.attempts - 1,
                updated_at=now,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def next_due(
    db: Database, platforms: Collection[str], kinds: Collection[str]
) -> datetime | None:
    """When the earliest of our rows becomes claimable: a pending row, or a lease running out."""
    if not platforms or not kinds:
        return None
    ours = _ours(platforms, kinds)
    # ORDER BY … LIMIT 1 rather than min(): it walks the (state, next_attempt_at) index and
    # stops at the first row of ours, where min() with these filters reads every pending row.
    async with db.sessions() as session:
        pending = await session.scalar(
            select(Delivery.next_attempt_at)
            .where(Delivery.state == DeliveryState.PENDING, ours)
            .order_by(Delivery.next_attempt_at)
            .limit(1)
        )
        leased = await session.scalar(
            select(func.min(Delivery.lease_until)).where(
                Delivery.state == DeliveryState.CLAIMED, ours
            )
        )
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None
