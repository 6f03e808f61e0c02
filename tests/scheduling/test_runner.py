"""run_due(now) with chosen times, in front of recording fake platforms (no sleeps, no timer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import metrics
from bot.app import App
from bot.core.invocation import MemberRef, Platform
from bot.core.targets import Target
from bot.scheduling.deliveries import (
    MAX_ATTEMPTS,
    NOTICE_KIND,
    DeliveryRunner,
    Planned,
    backoff,
    enqueue,
)
from bot.store.identity import set_person_zone
from bot.store.members import ensure_member
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.fakes.recording_platform import RecordingPlatform
from tests.support.scheduler_kinds import EDIT, NEWS, PING, PING_MAX_LATENESS, SCHEDULER_TESTING

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
SLACK_MAINTAINERS = "C0MAINTS"
CONFIG = {"slack": {"maintainer_channel": SLACK_MAINTAINERS}}
GENERAL = Target.channel(Platform.SLACK, "C0GENERAL")
DISCORD_GENERAL = Target.channel(Platform.DISCORD, "910000000000000001")
CONSOLE_MAIN = Target.channel(Platform.CONSOLE, "main")


@dataclass
class World:
    app: App
    slack: RecordingPlatform
    discord: RecordingPlatform
    console: RecordingPlatform
    runner: DeliveryRunner

    def another_runner(self) -> DeliveryRunner:
        """A second worker (another replica) on the same database and platforms."""
        return DeliveryRunner(self.app.services, self.adapters, lease=LEASE)

    @property
    def adapters(self) -> dict[Platform, Any]:
        return {
            Platform.SLACK: self.slack,
            Platform.DISCORD: self.discord,
            Platform.CONSOLE: self.console,
        }

    async def plan(self, *planned: Planned) -> int:
        async with self.app.db.session() as session:
            return await enqueue(
                session, self.app.services.community_id, planned, T0 - timedelta(days=1)
            )

    async def row(self, subject: str, kind: str | None = None) -> Delivery:
        async with self.app.db.sessions() as session:
            query = select(Delivery).where(Delivery.subject == subject)
            if kind is not None:
                query = query.where(Delivery.kind == kind)
            return (await session.scalars(query)).one()

    async def rows(self) -> list[Delivery]:
        async with self.app.db.sessions() as session:
            return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


@pytest.fixture
async def world(sqlite_url: str) -> AsyncIterator[World]:
    app = App(
        make_settings(sqlite_url, CONFIG),
        http=False,
        timer=False,
        extra_features=(SCHEDULER_TESTING,),
    )
    await app.prepare()
    slack, discord, console = (
        RecordingPlatform(Platform.SLACK),
        RecordingPlatform(Platform.DISCORD),
        RecordingPlatform(Platform.CONSOLE),
    )
    adapters = {Platform.SLACK: slack, Platform.DISCORD: discord, Platform.CONSOLE: console}
    runner = DeliveryRunner(app.services, adapters, lease=LEASE)
    try:
        yield World(app, slack, discord, console, runner)
    finally:
        await app.stop()


def ping(subject: str, due: datetime = T0, target: Target = GENERAL, **payload: Any) -> Planned:
    return Planned(PING, subject, "2026-12-01", target, due, {"text": f"ping {subject}", **payload})


def news(subject: str, due: datetime = T0, target: Target = GENERAL, **payload: Any) -> Planned:
    return Planned(NEWS, subject, "2026-12-01", target, due, {"text": f"news {subject}", **payload})


def count(kind: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "communitybot_deliveries_total", {"kind": kind, "outcome": outcome}
    )
    return value or 0.0


# -- due or not --


async def test_a_row_goes_out_when_due_and_only_once(world: World) -> None:
    assert await world.plan(ping("a")) == 1

    assert await world.runner.run_due(T0 - timedelta(seconds=1)) == 0
    assert world.slack.posts == []

    assert await world.runner.run_due(T0) == 1
    assert world.slack.texts(GENERAL) == ["ping a"]

    assert await world.runner.run_due(T0 + timedelta(hours=1)) == 0
    row = await world.row("a")
    assert row.state == DeliveryState.SENT
    assert row.message_ref == world.slack.posts[0].ref
    assert row.attempts == 1 and row.sent_at is not None and row.sent_at >= T0
    assert row.claimed_by == world.runner.worker_id and row.lease_until is None


async def test_a_direct_message_carries_its_readers_own_zone(world: World) -> None:
    # The runner tells the adapter the reader's zone (adapters never look it up themselves).
    dm = Target.dm(Platform.SLACK, "UANA")
    async with world.app.db.session() as session:
        member = await ensure_member(
            session, world.app.services.community_id, MemberRef(Platform.SLACK, "UANA"), T0
        )
        await set_person_zone(session, member, "Asia/Tokyo", T0)
    await world.plan(
        ping("zoned", target=dm), ping("plain", target=Target.dm(Platform.SLACK, "UBO"))
    )
    await world.plan(ping("channel"))
    assert await world.runner.run_due(T0) == 3
    assert sorted(world.slack.zones) == sorted(
        [(str(dm), "Asia/Tokyo"), ("slack:dm:UBO", None), (str(GENERAL), None)]
    )


async def test_enqueue_is_idempotent_on_kind_subject_occurrence_target(world: World) -> None:
    assert await world.plan(ping("a"), ping("a", due=T0 + timedelta(hours=1))) == 1
    assert await world.plan(ping("a")) == 0
    assert await world.plan(ping("a", target=DISCORD_GENERAL)) == 1
    assert len(await world.rows()) == 2


async def test_due_rows_go_out_earliest_first_and_later_ones_wait(world: World) -> None:
    await world.plan(*(news(f"n{i}", due=T0 + timedelta(minutes=i)) for i in (3, 1, 2, 9)))
    assert await world.runner.run_due(T0 + timedelta(minutes=3)) == 3
    assert world.slack.texts() == ["news n1", "news n2", "news n3"]
    assert (await world.row("n9")).state == DeliveryState.PENDING


async def test_a_burst_is_sent_once_each(world: World) -> None:
    await world.plan(*(news(f"b{i}") for i in range(100)))
    assert await world.runner.run_due(T0) == 100
    assert sorted(world.slack.texts()) == sorted(f"news b{i}" for i in range(100))


# -- late deliveries, per kind --


async def test_a_ping_late_within_its_policy_still_goes_out(world: World) -> None:
    await world.plan(ping("a"))
    await world.runner.run_due(T0 + PING_MAX_LATENESS - timedelta(seconds=1))
    assert len(world.slack.posts) == 1
    assert "sent late" in world.slack.posts[0].text


async def test_a_ping_later_than_its_policy_is_skipped(world: World) -> None:
    await world.plan(ping("a"))
    before = count(PING, "skipped")
    await world.runner.run_due(T0 + PING_MAX_LATENESS + timedelta(seconds=1))
    assert world.slack.posts == []
    row = await world.row("a")
    assert row.state == DeliveryState.SKIPPED
    assert row.last_error == "skipped: 601 s late"
    assert count(PING, "skipped") == before + 1
    assert await world.runner.run_due(T0 + timedelta(days=1)) == 0


async def test_news_goes_out_however_late_and_says_so(world: World) -> None:
    await world.plan(news("on-time"), news("late", due=T0 - timedelta(days=3)))
    await world.runner.run_due(T0)
    assert world.slack.texts() == [
        "news late (sent late: it was due 2026-11-28 09:00 UTC)",
        "news on-time",
    ]


async def test_a_row_that_no_longer_applies_is_skipped(world: World) -> None:
    await world.plan(news("cancelled", gone=True))
    await world.runner.run_due(T0)
    assert world.slack.posts == []
    row = await world.row("cancelled")
    assert (row.state, row.last_error) == (DeliveryState.SKIPPED, "no longer applies")


async def test_an_edit_kind_changes_the_earlier_post(world: World) -> None:
    await world.plan(news("orig"))
    await world.runner.run_due(T0)
    ref = world.slack.posts[0].ref
    await world.plan(Planned(EDIT, "orig", "v2", GENERAL, T0, {"ref": ref, "text": "edited"}))
    await world.runner.run_due(T0 + timedelta(seconds=5))
    assert world.slack.posts[0].edits == ["edited"]
    assert len(world.slack.posts) == 1
    assert (await world.row("orig", EDIT)).message_ref == ref


# -- leases --


async def test_a_claim_by_a_dead_worker_is_taken_over_after_its_lease(world: World) -> None:
    await world.plan(news("a"))
    world.slack.hold()
    dying = asyncio.create_task(world.runner.run_due(T0))
    await world.slack.holding.wait()  # it has claimed the row and is mid-send…
    dying.cancel()  # …when the worker dies (as a kill -9 would leave it)
    with pytest.raises(asyncio.CancelledError):
        await dying
    world.slack.release()
    assert (await world.row("a")).state == DeliveryState.CLAIMED

    other = world.another_runner()
    assert await other.run_due(T0 + LEASE - timedelta(seconds=1)) == 0  # lease still holds
    assert await other.run_due(T0 + LEASE + timedelta(seconds=1)) == 1
    assert world.slack.texts() == ["news a"]
    row = await world.row("a")
    assert (row.state, row.claimed_by, row.attempts) == (DeliveryState.SENT, other.worker_id, 2)


async def test_a_slow_worker_that_lost_its_lease_neither_duplicates_nor_overwrites(
    world: World,
) -> None:
    await world.plan(news("a"))
    world.slack.hold()
    slow = asyncio.create_task(world.runner.run_due(T0))
    await world.slack.holding.wait()
    # Its lease runs out while it hangs; another replica takes the row over and sends it…
    other = world.another_runner()
    assert await other.run_due(T0 + LEASE + timedelta(seconds=1)) == 1
    # …and then the first one's send goes through after all.
    world.slack.release()
    await slow
    # Both handed it to the platform with the same nonce, so it was posted once.
    assert world.slack.texts() == ["news a"]
    nonces = {nonce for _, nonce in world.slack.calls}
    assert len(world.slack.calls) == 2 and len(nonces) == 1
    row = await world.row("a")
    assert row.claimed_by == other.worker_id and row.state == DeliveryState.SENT


async def test_a_row_whose_workers_keep_dying_fails_after_max_attempts(world: World) -> None:
    await world.plan(news("poison"))
    now = T0
    for _ in range(MAX_ATTEMPTS):
        world.slack.hold()
        dying = asyncio.create_task(world.another_runner().run_due(now))
        await world.slack.holding.wait()
        dying.cancel()
        await asyncio.gather(dying, return_exceptions=True)
        world.slack.release()
        now += LEASE + timedelta(seconds=1)
    await world.runner.run_due(now)
    row = await world.row("poison")
    assert row.state == DeliveryState.FAILED
    assert row.last_error == f"gave up after {MAX_ATTEMPTS} attempts"


# -- errors --


async def test_a_transient_error_is_retried_with_backoff(world: World) -> None:
    await world.plan(news("a"))
    world.slack.fail()
    before = count(NEWS, "retried")
    await world.runner.run_due(T0)
    row = await world.row("a")
    assert row.state == DeliveryState.PENDING and row.attempts == 1
    assert row.last_error == "503 service unavailable"
    first_retry = row.next_attempt_at
    assert T0 + backoff(1) <= first_retry < T0 + backoff(1) + timedelta(seconds=1)
    assert count(NEWS, "retried") == before + 1

    assert await world.runner.run_due(first_retry - timedelta(seconds=1)) == 0
    assert await world.runner.run_due(first_retry) == 1
    assert world.slack.texts() == ["news a"]
    assert (await world.row("a")).state == DeliveryState.SENT


async def test_a_bug_in_rendering_is_retried_like_a_transient_error(world: World) -> None:
    await world.plan(news("a", bug=True))
    await world.runner.run_due(T0)
    row = await world.row("a")
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 1)
    assert row.last_error == "internal error: RuntimeError('a bug in rendering')"
    assert world.slack.calls == []


def test_the_lease_comes_from_the_environment() -> None:
    from bot.app import load_settings
    from bot.config import ConfigError

    assert load_settings(None, env={}).delivery_lease_seconds == 120
    lease = load_settings(None, env={"COMMUNITYBOT_DELIVERY_LEASE_SECONDS": "30"})
    assert lease.delivery_lease_seconds == 30
    for bad in ("0.1", "soon"):
        with pytest.raises(ConfigError, match="COMMUNITYBOT_DELIVERY_LEASE_SECONDS"):
            load_settings(None, env={"COMMUNITYBOT_DELIVERY_LEASE_SECONDS": bad})


async def test_retry_after_from_the_platform_is_honoured(world: World) -> None:
    await world.plan(news("a"))
    world.slack.fail(retry_after=42, reason="ratelimited")
    await world.runner.run_due(T0)
    row = await world.row("a")
    assert T0 + timedelta(seconds=42) <= row.next_attempt_at < T0 + timedelta(seconds=43)
    assert await world.runner.run_due(T0 + timedelta(seconds=41)) == 0
    assert await world.runner.run_due(T0 + timedelta(seconds=43)) == 1
    assert world.slack.texts() == ["news a"]


async def test_the_nonce_is_the_same_for_every_attempt_and_fits_discord(world: World) -> None:
    await world.plan(news("a", target=DISCORD_GENERAL), news("b", target=DISCORD_GENERAL))
    world.discord.fail(target=DISCORD_GENERAL)
    await world.runner.run_due(T0)
    await world.runner.run_due(T0 + timedelta(minutes=1))
    nonces = [nonce for _, nonce in world.discord.calls]
    assert len(nonces) == 3 and all(n is not None and len(n) <= 21 for n in nonces)
    # a failed, then b, then a again: a's two attempts share their nonce, b has its own.
    assert nonces[0] == nonces[2] != nonces[1]


async def test_a_permanent_error_fails_at_once_and_tells_the_maintainers(world: World) -> None:
    await world.plan(news("a"))
    world.slack.fail(permanent=True, reason="channel_not_found", target=GENERAL)
    before = count(NEWS, "failed")
    await world.runner.run_due(T0)
    row = await world.row("a")
    assert (row.state, row.attempts, row.last_error) == (
        DeliveryState.FAILED,
        1,
        "channel_not_found",
    )
    assert count(NEWS, "failed") == before + 1

    await world.runner.run_due(T0 + timedelta(seconds=1))
    maint = Target.channel(Platform.SLACK, SLACK_MAINTAINERS)
    [notice] = world.slack.texts(maint)
    assert "news" in notice and "C0GENERAL" in notice and "channel_not_found" in notice
    assert world.slack.texts(GENERAL) == []
    assert await world.runner.run_due(T0 + timedelta(days=1)) == 0  # never retried


async def test_after_max_attempts_a_transient_failure_is_final_and_noticed(world: World) -> None:
    await world.plan(news("a"))
    world.slack.fail(MAX_ATTEMPTS, target=GENERAL)
    now = T0
    delays = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await world.runner.run_due(now) >= 1
        row = await world.row("a")
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            delays.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert row.state == DeliveryState.FAILED
    # Counted from each run's start, so the run's own time (seconds on a stalled machine) is
    # added on top of the back-off; it doubles each time.
    expected = [timedelta(seconds=s) for s in (15, 30, 60, 120, 240)]
    pairs = zip(expected, delays, strict=True)
    assert all(e <= d < e + timedelta(seconds=5) for e, d in pairs), delays
    await world.runner.run_due(now + timedelta(seconds=1))
    [notice] = world.slack.texts(Target.channel(Platform.SLACK, SLACK_MAINTAINERS))
    assert f"after {MAX_ATTEMPTS} attempts:" in notice
    assert world.slack.texts(GENERAL) == []


async def test_no_notice_where_no_maintainer_channel_is_set(world: World) -> None:
    await world.plan(news("a", target=DISCORD_GENERAL))
    world.discord.fail(permanent=True, reason="Unknown Channel")
    await world.runner.run_due(T0)
    assert (await world.row("a")).state == DeliveryState.FAILED
    assert [r.kind for r in await world.rows()] == [NEWS]


async def test_a_failed_notice_does_not_beget_another(world: World) -> None:
    await world.plan(news("a"))
    world.slack.fail(2, permanent=True)  # the row, then its notice
    await world.runner.run_due(T0)
    await world.runner.run_due(T0 + timedelta(seconds=1))
    kinds = sorted((r.kind, r.state) for r in await world.rows())
    assert kinds == [(NOTICE_KIND, DeliveryState.FAILED), (NEWS, DeliveryState.FAILED)]


# -- platforms this process serves --


async def test_only_connected_platforms_are_claimed(world: World) -> None:
    await world.plan(news("s"), news("d", target=DISCORD_GENERAL), news("c", target=CONSOLE_MAIN))
    world.slack.disconnect()
    console_only = DeliveryRunner(world.app.services, {Platform.CONSOLE: world.console})
    assert await console_only.run_due(T0) == 1
    assert world.console.texts() == ["news c"]
    assert await world.runner.run_due(T0) == 1  # slack is down: only discord
    assert world.discord.texts() == ["news d"] and world.slack.posts == []
    assert (await world.row("s")).state == DeliveryState.PENDING
    await world.slack.start()
    assert await world.runner.run_due(T0 + timedelta(minutes=1)) == 1
    assert world.slack.texts() == ["news s"]


async def test_the_console_never_sends_a_slack_row(sqlite_url: str) -> None:
    import io

    from bot.adapters.console import ConsoleAdapter

    app = App(
        make_settings(sqlite_url, CONFIG),
        console_user="olu",
        http=False,
        timer=False,
        extra_features=(SCHEDULER_TESTING,),
    )
    await app.start()
    try:
        console = app.adapters[Platform.CONSOLE]
        assert isinstance(console, ConsoleAdapter)
        console.out = io.StringIO()
        async with app.db.session() as session:
            await enqueue(
                session, app.services.community_id, [news("s"), news("c", target=CONSOLE_MAIN)], T0
            )
        await app.run_due(T0)
        assert "news c" in console.out.getvalue() and "news s" not in console.out.getvalue()
        async with app.db.sessions() as session:
            slack_row = (
                await session.scalars(select(Delivery).where(Delivery.subject == "s"))
            ).one()
        assert (slack_row.state, slack_row.attempts) == (DeliveryState.PENDING, 0)
    finally:
        await app.stop()


async def test_kinds_this_process_does_not_know_are_left_for_one_that_does(world: World) -> None:
    await world.plan(Planned("from_a_newer_release", "x", "1", GENERAL, T0))
    assert await world.runner.run_due(T0) == 0
    assert (await world.row("x")).state == DeliveryState.PENDING
    assert await world.runner.next_due() is None


# -- stopping --


async def test_a_graceful_stop_hands_back_unsent_claims_but_not_one_in_flight(world: World) -> None:
    await world.plan(*(news(f"n{i}") for i in range(3)))
    runner = DeliveryRunner(world.app.services, world.adapters, lease=LEASE, concurrency=1)
    world.slack.hold()
    run = asyncio.create_task(runner.run_due(T0))
    await world.slack.holding.wait()
    # The one being sent may reach the platform: it keeps its claim (and its lease).
    assert await runner.release_claims(T0) == 0
    world.slack.release()
    assert await run == 1  # stopping: it finished the send in flight and claimed no more
    states = sorted((r.state, r.attempts) for r in await world.rows())
    assert states == [("pending", 0), ("pending", 0), ("sent", 1)]


async def test_release_returns_claimed_rows_to_pending(world: World) -> None:
    from bot.scheduling import claims

    await world.plan(news("a"), news("b"))
    rows = await claims.claim(
        world.app.db,
        worker="w1",
        platforms=["slack"],
        kinds=[NEWS],
        now=T0,
        lease=LEASE,
        limit=10,
    )
    assert [r.subject for r in rows] == ["a", "b"]
    assert await claims.release(world.app.db, "w2", T0) == 0  # not w2's
    assert await claims.release(world.app.db, "w1", T0, exclude=[rows[0].id]) == 1
    assert {(r.subject, r.state, r.attempts) for r in await world.rows()} == {
        ("a", "claimed", 1),
        ("b", "pending", 0),
    }


# -- metrics and the next due time --


async def test_lateness_is_measured_for_sent_deliveries(world: World) -> None:
    def observed() -> tuple[float, float]:
        get = metrics.REGISTRY.get_sample_value
        return (
            get("communitybot_delivery_lateness_seconds_count") or 0.0,
            get("communitybot_delivery_lateness_seconds_sum") or 0.0,
        )

    await world.plan(news("a"))
    n0, s0 = observed()
    sent0 = count(NEWS, "sent")
    await world.runner.run_due(T0 + timedelta(seconds=30))
    n1, s1 = observed()
    assert n1 == n0 + 1 and 30 <= s1 - s0 < 31
    assert count(NEWS, "sent") == sent0 + 1


async def test_next_due_is_the_earliest_pending_row_or_lease(world: World) -> None:
    assert await world.runner.next_due() is None
    await world.plan(
        news("later", due=T0 + timedelta(hours=2)), news("sooner", due=T0 + timedelta(hours=1))
    )
    assert await world.runner.next_due() == T0 + timedelta(hours=1)
    await world.plan(news("console", due=T0, target=CONSOLE_MAIN))
    console_only = DeliveryRunner(world.app.services, {Platform.SLACK: world.slack})
    assert await console_only.next_due() == T0 + timedelta(hours=1)  # console rows not ours
