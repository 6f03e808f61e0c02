"""APScheduler as a timer only: it wakes the process when the next delivery is due.

The rows are the truth. APScheduler holds one in-memory `date` job whose only effect is to
set an event (no pickled callables, no job store to write), so losing its memory loses
nothing. One worker task waits for that event and calls `runner.run_due(now)`; it alone runs
deliveries, so runs never overlap. After each run it asks the database for the next due time
and re-arms the job at that time, or in POLL at the latest so rows other replicas added (or
leases that ran out there) are picked up. `wake()` runs it at once (a command made rows due).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.scheduling.deliveries import DeliveryRunner

log = logging.getLogger(__name__)

JOB_ID = "deliveries"
POLL = timedelta(seconds=5)
# After a failed run (database unreachable…), wait this long rather than spin.
AFTER_ERROR = timedelta(seconds=5)
# When rows are due but none could be claimed (another replica holds them locked for a
# moment), look again after this instead of at once.
BUSY = timedelta(milliseconds=250)


class DeliveryTimer:
    def __init__(self, runner: DeliveryRunner, clock: Callable[[], datetime]) -> None:
        self.runner = runner
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._due = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self.runs = 0
        # Set each time a run ends and the next one is armed: when the process is idle.
        self.armed = asyncio.Event()
        self.next_run: datetime | None = None

    def start(self) -> None:
        self.scheduler.start()
        self._worker = asyncio.create_task(self._work(), name="deliveries")
        self._due.set()  # catch up at once on whatever came due while we were down

    async def stop(self) -> None:
        """Stop arming; a run in progress claims nothing more and finishes its sends."""
        self._stopping = True
        self.runner.stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._due.set()
        if self._worker is not None:
            try:
                await asyncio.shield(self._worker)
            except asyncio.CancelledError:
                # Our caller gave up waiting (its grace ran out): end the run now.
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
                raise

    def wake(self) -> None:
        """Run due deliveries as soon as possible (coalesced with a run in progress)."""
        if not self._stopping:
            self._due.set()

    async def _fire(self) -> None:
        # The APScheduler job: a coroutine, so it runs on the event loop, not in a thread.
        self._due.set()

    def _arm(self, when: datetime) -> None:
        self.next_run = when
        self.scheduler.add_job(
            self._fire,
            trigger="date",
            run_date=when,
            id=JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never: the rows decide
            coalesce=True,
            max_instances=1000,  # _fire is instant; never let APScheduler skip it
        )
        self.armed.set()

    async def _work(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            self.armed.clear()
            if self._stopping:
                return
            when = await self._run_once()
            if self._stopping:
                return
            if when is None:
                self._due.set()  # more became due during the run: go again now
            else:
                self._arm(when)

    async def _run_once(self) -> datetime | None:
        """One run; returns when to run next (None: at once)."""
        try:
            claimed = await self.runner.run_due(self.clock())
            self.runs += 1
            nxt = await self.runner.next_due()
        except Exception:
            log.exception("delivery run failed; trying again in %s s", AFTER_ERROR.seconds)
            return self.clock() + AFTER_ERROR
        now = self.clock()
        if nxt is None:
            return now + POLL
        if nxt <= now:
            return None if claimed else now + BUSY
        return min(nxt, now + POLL)
