"""Scheduled messages as database rows: enqueue them, then `run_due(now)` claims and sends.

The database is the source of truth. A row is claimed atomically with a lease (so two replicas
never send it twice, and a crashed replica's claim expires and is retried), sent, then marked
sent with the platform's message reference.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from bot import metrics
from bot.adapters.base import Adapter, DeliveryError
from bot.core.invocation import Platform
from bot.core.message import Message, para
from bot.core.services import Services
from bot.scheduling.kinds import DeletePosted, EditPosted, SendContext
from bot.scheduling.targets import Target, maintainer_target
from bot.store.models import Delivery, DeliveryState
from bot.store.upsert import insert_ignore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6
BATCH = 200
CONCURRENCY = 16
NOTICE_KIND = "maintainer_notice"


@dataclass(frozen=True, slots=True)
class Planned:
    """One delivery a feature wants: the unique key is (kind, subject, occurrence, target)."""

    kind: str
    subject: str
    occurrence: str
    target: Target
    due_at: datetime
    payload: Mapping[str, Any] | None = None


async def enqueue(
    session: Any, community_id: int, planned: Iterable[Planned], now: datetime
) -> int:
    """Insert the planned deliveries that do not exist yet; returns how many were new."""
    new = 0
    for p in planned:
        new += await insert_ignore(
            session,
            Delivery.__table__,  # type: ignore[arg-type]
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
            },
            ("kind", "subject", "occurrence", "target"),
        )
    return new


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 900))


class DeliveryRunner:
    """Claims due rows for the platforms this process serves and sends them."""

    def __init__(self, services: Services, adapters: Mapping[Platform, Adapter]) -> None:
        self.services = services
        self.adapters = dict(adapters)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    @property
    def platforms(self) -> list[str]:
        return [str(p) for p, a in self.adapters.items() if a.connected]

    async def run_due(self, now: datetime) -> int:
        """Send everything due at `now`; returns how many deliveries were attempted."""
        total = 0
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def one(row: Delivery) -> None:
            async with semaphore:
                await self._send(row, now)

        while True:
            rows = await self._claim(now)
            if not rows:
                return total

            await asyncio.gather(*(one(r) for r in rows))
            total += len(rows)
            if len(rows) < BATCH:
                return total

    async def next_due(self) -> datetime | None:
        """When the earliest pending row for our platforms becomes due (or a lease expires)."""
        platforms = self.platforms
        if not platforms:
            return None
        async with self.services.db.sessions() as session:
            pending = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.state == DeliveryState.PENDING, Delivery.platform.in_(platforms)
                )
            )
            leased = await session.scalar(
                select(func.min(Delivery.lease_until)).where(
                    Delivery.state == DeliveryState.CLAIMED, Delivery.platform.in_(platforms)
                )
            )
        times = [t for t in (pending, leased) if t is not None]
        return min(times) if times else None

    async def _claim(self, now: datetime) -> list[Delivery]:
        platforms = self.platforms
        if not platforms:
            return []
        due = or_(
            and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
            and_(Delivery.state == DeliveryState.CLAIMED, Delivery.lease_until < now),
        )
        pick = (
            select(Delivery.id)
            .where(due, Delivery.platform.in_(platforms))
            .order_by(Delivery.next_attempt_at)
            .limit(BATCH)
        )
        db = self.services.db
        if db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(Delivery)
            .where(Delivery.id.in_(pick.scalar_subquery()), due)
            .values(
                state=DeliveryState.CLAIMED,
                claimed_by=self.worker_id,
                lease_until=now + LEASE,
                attempts=Delivery.attempts + 1,
                updated_at=now,
            )
            .returning(Delivery)
        )
        async with db.session() as session:
            result = await session.scalars(stmt, execution_options={"synchronize_session": False})
            return list(result.all())

    async def release_claims(self, now: datetime) -> int:
        """On a graceful stop: hand this worker's claimed rows back, so no lease must expire.

        Another replica (or this one after a restart) sends them at once instead of after
        LEASE. Returns how many rows were released.
        """
        async with self.services.db.session() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.claimed_by == self.worker_id,
                    Delivery.state == DeliveryState.CLAIMED,
                )
                .values(
                    state=DeliveryState.PENDING, claimed_by=None, lease_until=None, updated_at=now
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def _finish(self, row: Delivery, now: datetime, **values: Any) -> bool:
        """Record an outcome, only if our claim still stands (a lease may have been taken over)."""
        async with self.services.db.session() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id == row.id,
                    Delivery.claimed_by == self.worker_id,
                    Delivery.state == DeliveryState.CLAIMED,
                )
                .values(updated_at=now, lease_until=None, **values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _send(self, row: Delivery, now: datetime) -> None:
        target = Target.parse(row.target)
        kind = self.services.kinds.get(row.kind)
        adapter = self.adapters.get(target.platform)
        lateness = max(now - row.due_at, timedelta(0))
        if kind is None or adapter is None:
            await self._finish(
                row, now, state=DeliveryState.FAILED, last_error=f"unknown kind {row.kind}"
            )
            metrics.DELIVERIES.labels(row.kind, "failed").inc()
            return
        if kind.max_lateness is not None and lateness > kind.max_lateness:
            await self._finish(
                row,
                now,
                state=DeliveryState.SKIPPED,
                last_error=f"skipped: {int(lateness.total_seconds())} s late",
            )
            metrics.DELIVERIES.labels(row.kind, "skipped").inc()
            return
        try:
            async with self.services.db.sessions() as session:
                ctx = SendContext(self.services, session, now, target, lateness)
                message = await kind.render(ctx, row)
            if message is None:
                await self._finish(
                    row, now, state=DeliveryState.SKIPPED, last_error="no longer applies"
                )
                metrics.DELIVERIES.labels(row.kind, "skipped").inc()
                return
            match message:
                case EditPosted(ref, edited):
                    await adapter.edit(target, ref, edited)
                case DeletePosted(ref):
                    await adapter.delete(target, ref)
                case _:
                    ref = await adapter.send(
                        target, message, nonce=f"d{row.id}a{row.attempts}"[:25]
                    )
        except DeliveryError as exc:
            await self._failed(row, now, exc)
            return
        except Exception as exc:  # a bug in rendering or the adapter: retried, then failed
            log.exception("delivery %s (%s) raised", row.id, row.kind)
            await self._failed(
                row, now, DeliveryError(f"internal error: {exc!r}"[:300], permanent=False)
            )
            return
        await self._finish(
            row,
            now,
            state=DeliveryState.SENT,
            sent_at=self.services.clock(),
            message_ref=ref[:200],
            last_error=None,
        )
        metrics.DELIVERIES.labels(row.kind, "sent").inc()
        metrics.DELIVERY_LATENESS.observe(lateness.total_seconds())

    async def _failed(self, row: Delivery, now: datetime, exc: DeliveryError) -> None:
        if not exc.permanent and row.attempts < MAX_ATTEMPTS:
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(row.attempts)
            await self._finish(
                row,
                now,
                state=DeliveryState.PENDING,
                next_attempt_at=now + delay,
                claimed_by=None,
                last_error=exc.reason[:1000],
            )
            metrics.DELIVERIES.labels(row.kind, "retried").inc()
            return
        if await self._finish(row, now, state=DeliveryState.FAILED, last_error=exc.reason[:1000]):
            metrics.DELIVERIES.labels(row.kind, "failed").inc()
            log.warning(
                "delivery %s (%s to %s) failed: %s", row.id, row.kind, row.target, exc.reason
            )
            if row.kind != NOTICE_KIND:
                await self._tell_maintainers(row, now, exc.reason)

    async def _tell_maintainers(self, row: Delivery, now: datetime, reason: str) -> None:
        target = maintainer_target(self.services.settings, Platform(row.platform))
        if target is None or str(target) == row.target:
            return
        async with self.services.db.session() as session:
            await enqueue(
                session,
                row.community_id,
                [
                    Planned(
                        NOTICE_KIND,
                        f"delivery:{row.id}",
                        "failed",
                        target,
                        now,
                        {
                            "text": f"A scheduled {row.kind.replace('_', ' ')} to {row.target} "
                            f"could not be sent: {reason[:300]}"
                        },
                    )
                ],
                now,
            )
        self.services.wake()


async def render_notice(ctx: SendContext, row: Delivery) -> Message | None:
    del ctx
    return Message((para(str(row.payload.get("text", ""))),))
