"""Scheduled messages as database rows: enqueue them, then `run_due(now)` claims and sends.

The database is the source of truth. A row is claimed atomically with a lease (so two replicas
never send it twice, and a crashed replica's claim expires and is retried), rendered as things
are now, sent with a nonce that is the same for every attempt, then marked sent with the
platform's message reference. Transient errors are retried with backoff (or after the
platform's Retry-After); permanent ones, and the last of MAX_ATTEMPTS, fail the row and tell the
maintainers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot import metrics
from bot.core.invocation import Platform
from bot.core.ports import Adapter, DeliveryError, sending_for
from bot.core.targets import Target, TargetKind
from bot.scheduling import claims
from bot.scheduling.kinds import DeletePosted, DeliveryKind, EditPosted, Host, SendContext
from bot.scheduling.notices import NOTICE_KIND, failure_notice, render_notice
from bot.scheduling.queue import Planned, delivery_nonce, enqueue
from bot.store.db import Database
from bot.store.members import zone_of
from bot.store.models import Delivery, DeliveryState

__all__ = [
    "NOTICE_KIND",
    "DeliveryRunner",
    "Planned",
    "backoff",
    "delivery_nonce",
    "enqueue",
    "render_notice",
]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6
# Rows are claimed only as fast as they are sent, so no claim waits behind others and a live
# worker's lease never runs out while the row is still queued in this process.
CONCURRENCY = 16
# A send that takes longer is abandoned and retried; kept well inside the lease so another
# replica never takes over a row this one is still sending.
SEND_TIMEOUT = 60.0
# Recording "sent" is retried a few times: failing it means a resend once the lease runs out.
RECORD_TRIES = 3


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min … after the 1st, 2nd, 3rd … attempt, at most 15 min."""
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 900))


class DeliveryRunner:
    """Claims due rows for the platforms this process has connected and sends them."""

    def __init__(
        self,
        services: Host,
        adapters: Mapping[Platform, Adapter],
        *,
        lease: timedelta | None = None,
        concurrency: int = CONCURRENCY,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.services = services
        # Kept by reference: the App may add adapters after building the runner.
        self.adapters = adapters
        self.lease = lease or timedelta(seconds=services.settings.delivery_lease_seconds)
        self.send_timeout = min(SEND_TIMEOUT, self.lease.total_seconds() / 2)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.stopping = False
        self._sending: set[int] = set()
        self._recorder = _SentRecorder(services.db, self.worker_id)

    @property
    def platforms(self) -> list[str]:
        return sorted(str(p) for p, a in self.adapters.items() if a.connected)

    @property
    def kinds(self) -> frozenset[str]:
        return self.services.kinds.names()

    async def run_due(self, now: datetime) -> int:
        """Send everything due at `now`; returns how many rows were claimed.

        `now` is this run's clock, advanced by the real time the run takes (so a long burst
        keeps its leases and lateness honest, and tests choose the time by choosing `now`).
        """
        started = time.monotonic()

        def clock() -> datetime:
            return now + timedelta(seconds=time.monotonic() - started)

        claimed = 0
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self.stopping:
                free = max(self.concurrency - len(in_flight), 0)
                # Refill when half the slots are free (or all of them): a claim is a
                # transaction, and one per send would double the database's work in a burst.
                refill = free >= max(self.concurrency // 2, 1) or not in_flight
                rows = await self._claim(clock(), free) if refill else []
                claimed += len(rows)
                for row in rows:
                    in_flight.add(asyncio.create_task(self._send(row, clock)))
                if not in_flight:
                    break
                # Claim again as soon as a slot frees: a slow send never holds up the rest.
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                _log_failures(done)
            if in_flight:  # stopping: let the sends in flight finish and be recorded
                done, _ = await asyncio.wait(in_flight)
                _log_failures(done)
                in_flight.clear()
        except Exception:
            if in_flight:  # a claim failed (database down?): the sends under way finish first
                done, _ = await asyncio.wait(in_flight)
                _log_failures(done)
                in_flight.clear()
            raise
        finally:
            if in_flight:  # cancelled mid-run: the sends die with us, their leases will expire
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)
        return claimed

    async def next_due(self) -> datetime | None:
        """When the earliest of our pending rows becomes due (or a claim's lease runs out)."""
        return await claims.next_due(self.services.db, self.platforms, self.kinds)

    async def release_claims(self, now: datetime) -> int:
        """On a graceful stop: hand this worker's claimed rows back, so no lease must expire.

        Another replica (or this one after a restart) sends them at once instead of after the
        lease. Returns how many rows were released.
        """
        self.stopping = True
        # A row already handed to the platform may have been posted: its lease must run out
        # (and the nonce catch a resend on Discord) rather than another replica send it now.
        return await claims.release(self.services.db, self.worker_id, now, exclude=self._sending)

    async def _claim(self, now: datetime, limit: int) -> list[Delivery]:
        return await claims.claim(
            self.services.db,
            worker=self.worker_id,
            platforms=self.platforms,
            kinds=self.kinds,
            now=now,
            lease=self.lease,
            limit=limit,
        )

    async def _send(self, row: Delivery, clock: Callable[[], datetime]) -> None:
        now = clock()
        lateness = max(now - row.due_at, timedelta(0))
        kind = self.services.kinds.get(row.kind)
        target = Target.parse(row.target)
        adapter = self.adapters.get(target.platform)
        if self.stopping:
            await claims.release(self.services.db, self.worker_id, now, only=[row.id])
            return
        if kind is None or adapter is None:  # not claimable, unless the registry changed
            await self._give_up(row, now, f"no {row.kind} kind or {target.platform} adapter here")
            return
        stopped = self.services.sends_stopped(row.community_id, target.platform)
        if stopped is not None:  # failed quietly: telling the maintainers would be a send too
            await self._finish(row, now, DeliveryState.FAILED, stopped)
            return
        if row.attempts > self.max_attempts:  # the lease ran out that often: workers died on it
            await self._give_up(row, now, f"gave up after {row.attempts - 1} attempts")
            return
        if _too_late(kind, lateness):
            await self._skip(row, now, f"skipped: {_seconds(lateness)} s late")
            return
        try:
            async with asyncio.timeout(self.send_timeout):
                with sending_for(row.community_id):
                    ref = await self._render_and_send(row, kind, target, adapter, now, lateness)
        except DeliveryError as exc:
            await self._failed(row, clock(), exc)
            return
        except TimeoutError:
            await self._failed(
                row,
                clock(),
                DeliveryError(f"no answer within {self.send_timeout:.0f} s", permanent=False),
            )
            return
        except Exception as exc:  # a bug in rendering or the adapter: retried, then failed
            log.exception("delivery %s (%s) raised", row.id, row.kind)
            await self._failed(
                row, clock(), DeliveryError(f"internal error: {exc!r}"[:300], permanent=False)
            )
            return
        if ref is None:
            await self._skip(row, clock(), "no longer applies")
            return
        done = clock()
        await self._record_sent(row, done, ref)
        metrics.DELIVERIES.labels(row.kind, "sent").inc()
        metrics.DELIVERY_LATENESS.observe(max((done - row.due_at).total_seconds(), 0.0))

    async def _render_and_send(
        self,
        row: Delivery,
        kind: DeliveryKind,
        target: Target,
        adapter: Adapter,
        now: datetime,
        lateness: timedelta,
    ) -> str | None:
        """Render as things are now and hand it to the platform; None when it no longer applies."""
        # The row's own community renders it: its settings, its members.
        host = self.services.for_community_id(row.community_id)
        async with host.db.sessions() as session:
            ctx = SendContext(host, session, now, target, lateness)
            rendered = await kind.render(ctx, row)
            # A direct message is read by one person: their own zone, where they set one.
            zone = None
            if target.kind is TargetKind.DM:
                zone = await zone_of(session, host.community_id, str(target.platform), target.id)
        match rendered:
            case None:
                return None
            case EditPosted(ref, message):
                # Edits and deletes are idempotent: a repeat after a crash changes nothing.
                await adapter.edit(target, ref, message, zone=zone)
                return ref
            case DeletePosted(ref):
                await adapter.delete(target, ref)
                return ref
            case _:
                self._sending.add(row.id)
                try:
                    return await adapter.send(
                        target, rendered, nonce=delivery_nonce(row), zone=zone
                    )
                finally:
                    self._sending.discard(row.id)

    async def _record_sent(self, row: Delivery, now: datetime, ref: str) -> None:
        # The one window for a duplicate: sent, but not yet recorded. Retry the write briefly.
        for attempt in range(RECORD_TRIES):
            try:
                await self._recorder.record(row.id, now, ref)
            except Exception:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("recording delivery %s as sent failed; retrying", row.id)
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            return

    async def _finish(self, row: Delivery, now: datetime, state: DeliveryState, why: str) -> bool:
        """Ends `row` as `state` with `why`, if this worker's claim still stands; counted."""
        if not await claims.finish(
            self.services.db, row.id, self.worker_id, now, state=state, last_error=why[:1000]
        ):
            return False
        metrics.DELIVERIES.labels(row.kind, state.value).inc()
        return True

    async def _skip(self, row: Delivery, now: datetime, why: str) -> None:
        if await self._finish(row, now, DeliveryState.SKIPPED, why):
            log.info("delivery %s (%s to %s) %s", row.id, row.kind, row.target, why)

    async def _failed(self, row: Delivery, now: datetime, exc: DeliveryError) -> None:
        if exc.permanent or row.attempts >= self.max_attempts:
            await self._give_up(row, now, exc.reason)
            return
        delay = backoff(row.attempts)
        if exc.retry_after is not None:
            delay = timedelta(seconds=max(exc.retry_after, 0.0))
        if await claims.finish(
            self.services.db,
            row.id,
            self.worker_id,
            now,
            state=DeliveryState.PENDING,
            next_attempt_at=now + delay,
            claimed_by=None,
            last_error=exc.reason[:1000],
        ):
            metrics.DELIVERIES.labels(row.kind, "retried").inc()
            log.info(
                "delivery %s (%s) retried in %s s: %s",
                row.id,
                row.kind,
                _seconds(delay),
                exc.reason,
            )

    async def _give_up(self, row: Delivery, now: datetime, reason: str) -> None:
        if not await self._finish(row, now, DeliveryState.FAILED, reason):
            return
        log.warning("delivery %s (%s to %s) failed: %s", row.id, row.kind, row.target, reason)
        notice = failure_notice(
            self.services.for_community_id(row.community_id).settings, row, reason, now
        )
        if notice is None:
            return
        async with self.services.db.session() as session:
            await enqueue(session, row.community_id, [notice], now)
        self.services.wake()


class _SentRecorder:
    """Group commit of "sent": the sends that finish while one write is under way are all
    recorded by the next, in one transaction. It runs apart from the send tasks, so a send
    that is cancelled after the platform took it is still recorded."""

    def __init__(self, db: Database, worker: str) -> None:
        self.db = db
        self.worker = worker
        self._queue: list[tuple[int, datetime, str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row_id: int, at: datetime, ref: str) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row_id, at, ref, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await asyncio.shield(done)

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                stood = await claims.record_sent(
                    self.db, self.worker, [(i, at, ref) for i, at, ref, _ in batch]
                )
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            if stood < len(batch):
                log.warning(
                    "%d deliveries were sent after their lease ran out (another worker has them)",
                    len(batch) - stood,
                )
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)


def _log_failures(done: set[asyncio.Task[None]]) -> None:
    # _send handles delivery errors itself; what reaches here is the database failing while
    # recording an outcome. The row stays claimed and is retried when its lease runs out.
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("a delivery could not be recorded", exc_info=task.exception())


def _too_late(kind: DeliveryKind, lateness: timedelta) -> bool:
    return kind.max_lateness is not None and lateness > kind.max_lateness


def _seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())
