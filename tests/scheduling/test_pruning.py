"""Issue 15 item 15: rows that only grow are pruned by one scheduled job, in bounded batches,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, insert, select

from bot.app import App
from bot.scheduling import pruning
from bot.scheduling.pruning import Pruned, prune_all
from bot.store.db import Database
from bot.store.inbound import KEEP_FOR
from bot.store.members import ensure_community
from bot.store.models import Confirmation, InboundEvent
from tests.conftest import make_settings
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


async def _fill(db: Database, old_events: int, old_confirmations: int) -> None:
    async with db.session() as session:
        community = await ensure_community(session, "Example", "UTC", NOW)
        old, new = NOW - KEEP_FOR - timedelta(minutes=1), NOW - KEEP_FOR + timedelta(minutes=1)
        events = [
            {"platform": "slack", "event_id": f"old-{i}", "received_at": old}
            for i in range(old_events)
        ]
        events += [
            {"platform": p, "event_id": f"new-{i}", "received_at": new}
            for i in range(5)
            for p in ("slack", "discord")
        ]
        await session.execute(insert(InboundEvent), events)

        def confirmation(token: str, expires_at: datetime) -> dict[str, Any]:
            return {
                "token": token,
                "community_id": community.id,
                "platform": "console",
                "user_id": "maya",
                "payload": {"command": "announce"},
                "created_at": expires_at - timedelta(minutes=30),
                "expires_at": expires_at,
            }

        rows = [
            confirmation(f"gone{i}", NOW - timedelta(seconds=1)) for i in range(old_confirmations)
        ]
        rows += [confirmation(f"live{i}", NOW + timedelta(minutes=5)) for i in range(3)]
        await session.execute(insert(Confirmation), rows)


async def _left(db: Database) -> tuple[set[str], set[str]]:
    async with db.sessions() as session:
        events = set((await session.scalars(select(InboundEvent.event_id))).all())
        tokens = set((await session.scalars(select(Confirmation.token))).all())
    return events, tokens


async def test_old_rows_go_in_bounded_batches_and_newer_ones_stay(db: Database) -> None:
    await _fill(db, old_events=2_345, old_confirmations=1_001)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        done = await prune_all(db, NOW)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    # At most 1,000 rows per statement, so 2,345 rows take three (each its own transaction).
    assert done == {
        "inbound events": Pruned(rows=2_345, batches=3),
        "expired confirmations": Pruned(rows=1_001, batches=2),
        # The identity tables (link codes, wrong codes, data links) are empty here.
        "expired link codes": Pruned(rows=0, batches=1),
        "old wrong link codes": Pruned(rows=0, batches=1),
        "expired data links": Pruned(rows=0, batches=1),
    }
    assert len(statements) == 8
    assert all("LIMIT" in s.upper() for s in statements)
    events, tokens = await _left(db)
    assert events == {f"new-{i}" for i in range(5)}  # both platforms' rows kept
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 10
    assert tokens == {"live0", "live1", "live2"}  # unexpired confirmations kept

    # Nothing left to do: one statement per pruner, deleting nothing.
    again = await prune_all(db, NOW)
    assert again == {name: Pruned(0, 1) for name in done}


async def test_smaller_batches_are_honoured(db: Database) -> None:
    await _fill(db, old_events=25, old_confirmations=0)
    done = await prune_all(db, NOW, batch=10)
    assert done["inbound events"] == Pruned(rows=25, batches=3)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 10


async def test_the_running_bot_schedules_one_pruning_job(sqlite_url: str) -> None:
    app = App(
        make_settings(sqlite_url, SCENARIO_CONFIG),
        console_user="olu",
        http=False,
        resolver=fake_resolver,
    )
    await app.start()
    try:
        assert app.timer is not None
        jobs = [j for j in app.timer.scheduler.get_jobs() if j.id == pruning.JOB_ID]
        assert len(jobs) == 1
        job = jobs[0]
        assert job.trigger.interval == pruning.EVERY
        assert job.next_run_time is not None
        # The job itself, run now rather than waited for: it prunes through the app's database.
        async with app.db.session() as session:
            await session.execute(
                insert(InboundEvent),
                [
                    {
                        "platform": "slack",
                        "event_id": "ancient",
                        "received_at": app.clock() - KEEP_FOR * 2,
                    }
                ],
            )
        await job.func()
        async with app.db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0
    finally:
        await app.stop()
