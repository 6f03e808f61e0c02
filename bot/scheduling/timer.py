"""APScheduler as a timer only: it wakes the process when the next delivery is due.

The rows are the truth; nothing is stored in APScheduler, so losing its memory loses nothing.
A periodic check also picks up rows other replicas added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.scheduling.deliveries import DeliveryRunner

log = logging.getLogger(__name__)

JOB_ID = "deliveries"
POLL = timedelta(seconds=15)


class DeliveryTimer:
    def __init__(self, runner: DeliveryRunner, clock: Callable[[], datetime]) -> None:
        self.runner = runner
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()
        self._again = False
        self._stopping = False

    def start(self) -> None:
        self.scheduler.start()
        self._arm(self.clock())

    async def stop(self) -> None:
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        async with self._lock:  # let a run in progress finish its sends
            pass

    def wake(self) -> None:
        """Run due deliveries as soon as possible (coalesced with a run in progress)."""
        if self._stopping or not self.scheduler.running:
            return
        if self._lock.locked():
            self._again = True
        else:
            self._arm(self.clock())

    def _arm(self, when: datetime) -> None:
        if self._stopping:
            return
        self.scheduler.add_job(
            self._tick,
            trigger="date",
            run_date=when,
            id=JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def _tick(self) -> None:
        async with self._lock:
            while True:
                self._again = False
                try:
                    await self.runner.run_due(self.clock())
                except Exception:
                    log.exception("delivery run failed; retrying on the next tick")
                if not self._again or self._stopping:
                    break
        now = self.clock()
        try:
            nxt = await self.runner.next_due()
        except Exception:
            log.exception("could not read the next due time")
            nxt = None
        when = now + POLL if nxt is None else max(min(nxt, now + POLL), now)
        self._arm(when)
