"""The timer: APScheduler is armed at the next due time from the rows; nothing waits for it.

The clock is fixed at T0 (ahead of the real date), so the armed APScheduler job never fires
during a test: runs happen at start and on wake(), and the tests read where the job is armed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.scheduling.deliveries import DeliveryRunner, Planned, enqueue
from bot.scheduling.timer import JOB_ID, POLL, DeliveryTimer
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.fakes.recording_platform import RecordingPlatform
from tests.support.scheduler_kinds import NEWS, SCHEDULER_TESTING

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
GENERAL = Target.channel(Platform.SLACK, "C0GENERAL")
WITHIN = 10.0  # seconds a deadline allows for one run on a slow machine


@dataclass
class Timed:
    app: App
    platform: RecordingPlatform
    timer: DeliveryTimer

    async def plan(self, subject: str, due: datetime) -> None:
        async with self.app.db.session() as session:
            planned = Planned(NEWS, subject, "1", GENERAL, due, {"text": subject})
            await enqueue(session, self.app.services.community_id, [planned], T0)

    async def idle(self) -> None:
        await asyncio.wait_for(self.timer.armed.wait(), WITHIN)

    def armed_at(self) -> datetime:
        job = self.timer.scheduler.get_job(JOB_ID)
        assert job is not None
        return job.next_run_time


@pytest.fixture
async def timed(sqlite_url: str) -> AsyncIterator[Timed]:
    app = App(
        make_settings(sqlite_url),
        http=False,
        timer=False,
        clock=lambda: T0,
        extra_features=(SCHEDULER_TESTING,),
    )
    await app.prepare()
    platform = RecordingPlatform(Platform.SLACK)
    runner = DeliveryRunner(app.services, {Platform.SLACK: platform})
    timer = DeliveryTimer(runner, lambda: T0)
    app.services.wake = timer.wake
    try:
        yield Timed(app, platform, timer)
    finally:
        await timer.stop()
        await app.stop()


async def test_start_catches_up_and_arms_at_the_next_due_row(timed: Timed) -> None:
    await timed.plan("missed while down", T0 - timedelta(hours=1))
    await timed.plan("soon", T0 + timedelta(seconds=3))
    timed.timer.start()
    await timed.idle()
    assert timed.platform.texts() == [
        "missed while down (sent late: it was due 2030-01-01 08:00 UTC)"
    ]
    assert timed.armed_at() == T0 + timedelta(seconds=3)


async def test_with_nothing_pending_it_polls(timed: Timed) -> None:
    timed.timer.start()
    await timed.idle()
    assert timed.armed_at() == T0 + POLL
    await timed.plan("far", T0 + timedelta(days=2))
    timed.timer.wake()
    timed.timer.armed.clear()
    await timed.idle()
    assert timed.armed_at() == T0 + POLL  # re-checks the rows at least every POLL


async def test_wake_sends_rows_a_command_just_made_due(timed: Timed) -> None:
    timed.timer.start()
    await timed.idle()
    await timed.plan("now", T0)
    timed.timer.armed.clear()
    timed.app.services.wake()
    await timed.idle()
    assert timed.platform.texts() == ["now"]


async def test_stop_lets_a_send_in_flight_finish_and_be_recorded(timed: Timed) -> None:
    await timed.plan("a", T0)
    timed.platform.hold()
    timed.timer.start()
    await asyncio.wait_for(timed.platform.holding.wait(), WITHIN)
    stopping = asyncio.create_task(timed.timer.stop())
    timed.platform.release()
    await asyncio.wait_for(stopping, WITHIN)
    async with timed.app.db.sessions() as session:
        row = (await session.scalars(select(Delivery))).one()
    assert row.state == DeliveryState.SENT
    assert not timed.timer.scheduler.running
