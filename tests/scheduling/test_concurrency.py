"""Two workers on one database never send a row twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from bot.app import App
from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.scheduling import claims
from bot.scheduling.deliveries import DeliveryRunner, Planned, enqueue
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.fakes.recording_platform import RecordingPlatform
from tests.support.scheduler_kinds import NEWS, SCHEDULER_TESTING

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GENERAL = Target.channel(Platform.SLACK, "C0GENERAL")


async def _app(url: str) -> App:
    app = App(make_settings(url), http=False, timer=False, extra_features=(SCHEDULER_TESTING,))
    await app.prepare()
    return app


@pytest.fixture
async def two_replicas(any_db_url: str) -> AsyncIterator[tuple[App, App]]:
    """Two Apps (each its own engine and pool, as two processes have) on one database."""
    first = await _app(any_db_url)
    second = await _app(any_db_url)
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def _plan(app: App, n: int) -> None:
    async with app.db.session() as session:
        await enqueue(
            session,
            app.services.community_id,
            [
                Planned(
                    NEWS, f"s{i}", "1", GENERAL, T0 + timedelta(milliseconds=i), {"text": f"m{i}"}
                )
                for i in range(n)
            ],
            T0,
        )


async def test_two_runners_send_each_due_row_exactly_once(two_replicas: tuple[App, App]) -> None:
    first, second = two_replicas
    n = 400
    await _plan(first, n)
    # One shared fake platform: it counts what arrives whichever replica sent it.
    platform = RecordingPlatform(Platform.SLACK)
    a = DeliveryRunner(first.services, {Platform.SLACK: platform})
    b = DeliveryRunner(second.services, {Platform.SLACK: platform})
    claimed = await asyncio.gather(
        a.run_due(T0 + timedelta(seconds=1)), b.run_due(T0 + timedelta(seconds=1))
    )
    assert sum(claimed) == n
    arrived = Counter(platform.texts())
    assert len(arrived) == n and set(arrived.values()) == {1}
    assert len(platform.calls) == n  # not merely deduplicated: each was handed over once
    async with first.db.sessions() as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert {r.claimed_by for r in rows} <= {a.worker_id, b.worker_id}
    assert {r.attempts for r in rows} == {1}


async def test_postgres_claims_skip_rows_another_transaction_holds(postgres_url: str) -> None:
    app = await _app(postgres_url)
    try:
        await _plan(app, 10)
        platform = RecordingPlatform(Platform.SLACK)
        runner = DeliveryRunner(app.services, {Platform.SLACK: platform})
        async with app.db.engine.connect() as other:
            # Another replica is in the middle of claiming s0..s4: their rows are locked.
            locked = await other.execute(
                text(
                    "SELECT id FROM deliveries WHERE subject IN ('s0','s1','s2','s3','s4') "
                    "FOR UPDATE"
                )
            )
            assert len(locked.all()) == 5
            # SKIP LOCKED: the claim neither waits for that transaction nor takes its rows.
            claimed = await asyncio.wait_for(runner.run_due(T0 + timedelta(seconds=1)), 10)
            assert claimed == 5
            assert sorted(platform.texts()) == [f"m{i}" for i in range(5, 10)]
            await other.rollback()
        assert await runner.run_due(T0 + timedelta(seconds=2)) == 5
        assert sorted(platform.texts()) == sorted(f"m{i}" for i in range(10))
    finally:
        await app.stop()


async def test_concurrent_claims_each_take_at_most_their_limit(any_db_url: str) -> None:
    # Each of four workers (own engine, as a replica) claims in rounds of 5 until nothing
    # is left: batches stay within the limit, never overlap, and cover every row.
    apps = [await _app(any_db_url) for _ in range(4)]
    try:
        await _plan(apps[0], 200)
        batches: list[tuple[str, list[int]]] = []

        async def drain(app: App, worker: str) -> None:
            while rows := await claims.claim(
                app.db,
                worker=worker,
                platforms=["slack"],
                kinds=[NEWS],
                now=T0 + timedelta(seconds=1),
                lease=timedelta(minutes=2),
                limit=5,
            ):
                batches.append((worker, [r.id for r in rows]))

        await asyncio.gather(*(drain(app, f"w{i}") for i, app in enumerate(apps)))
        assert max(len(ids) for _, ids in batches) <= 5
        claimed = [i for _, ids in batches for i in ids]
        assert len(claimed) == len(set(claimed)) == 200
        if "postgresql" in any_db_url:
            # PostgreSQL claims run side by side (SKIP LOCKED). SQLite has one writer at a
            # time, and whoever holds the lock may well drain everything: no fairness there.
            assert len({worker for worker, _ in batches}) > 1
    finally:
        for app in apps:
            await app.stop()


async def test_recording_sends_counts_only_the_claims_that_stand(
    two_replicas: tuple[App, App], caplog: pytest.LogCaptureFixture
) -> None:
    # A row whose lease ran out and another worker took is not marked sent by the first;
    # the count says how many stood (on PostgreSQL too, where an executemany has no count).
    first, second = two_replicas
    await _plan(first, 3)
    now = T0 + timedelta(seconds=1)
    lease = timedelta(seconds=30)
    mine = await claims.claim(
        first.db, worker="a", platforms=["slack"], kinds=[NEWS], now=now, lease=lease, limit=3
    )
    later = now + timedelta(minutes=1)  # a's lease has run out: b takes the first row
    (taken,) = await claims.claim(
        second.db, worker="b", platforms=["slack"], kinds=[NEWS], now=later, lease=lease, limit=1
    )
    assert taken.id == mine[0].id
    sent = [(row.id, later, f"C0GENERAL/{row.id}") for row in mine]
    assert await claims.record_sent(first.db, "a", sent) == 2
    async with first.db.sessions() as session:
        rows = {r.id: r for r in (await session.scalars(select(Delivery))).all()}
    assert rows[taken.id].state == DeliveryState.CLAIMED and rows[taken.id].claimed_by == "b"
    for row in mine[1:]:
        assert rows[row.id].state == DeliveryState.SENT
        assert rows[row.id].message_ref == f"C0GENERAL/{row.id}"
        assert rows[row.id].sent_at == later and rows[row.id].lease_until is None
    assert await claims.record_sent(first.db, "a", []) == 0
