"""Issue 16: finished deliveries older than [retention] deliveries_days are pruned in batches;
pending and claimed ones never are. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from bot.config import ConfigError, parse_file_config
from bot.scheduling.retention import prune_deliveries
from bot.store.db import Database
from bot.store.members import ensure_community
from bot.store.migrate import upgrade
from bot.store.models import Delivery

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _row(community_id: int, n: int, state: str, age_days: float) -> dict[str, Any]:
    at = NOW - timedelta(days=age_days)
    return {
        "community_id": community_id,
        "kind": "meeting_reminder",
        "subject": "meeting:1",
        "occurrence": f"o{n}",
        "target": "slack:channel:C1",
        "platform": "slack",
        "due_at": at,
        "state": state,
        "attempts": 1,
        "next_attempt_at": at,
        "payload": {},
        "created_at": at,
        "updated_at": at,
    }


async def _fill(db: Database, rows: list[tuple[str, float]]) -> None:
    async with db.session() as session:
        community = await ensure_community(session, "Retention", "UTC", NOW)
        await session.execute(
            insert(Delivery),
            [_row(community.id, n, state, age) for n, (state, age) in enumerate(rows)],
        )


async def _left(db: Database) -> list[tuple[str, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Delivery.occurrence, Delivery.state).order_by(Delivery.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_prunes_old_finished_rows_and_never_pending_or_claimed(any_db_url: str) -> None:
    db = Database(any_db_url)
    try:
        await upgrade(db)
        rows = [
            ("sent", 200),
            ("skipped", 91),
            ("failed", 365),
            ("pending", 400),  # a very old pending row is still work to do
            ("claimed", 400),
            ("sent", 89),  # young enough
            ("failed", 10),
        ]
        await _fill(db, rows)
        assert await prune_deliveries(db, NOW, 90) == 3
        assert await _left(db) == [
            ("o3", "pending"),
            ("o4", "claimed"),
            ("o5", "sent"),
            ("o6", "failed"),
        ]
        assert await prune_deliveries(db, NOW, 90) == 0
        assert await prune_deliveries(db, NOW, 30) == 1  # the 89-day-old sent row
    finally:
        await db.dispose()


async def test_prunes_in_bounded_batches_each_committed(any_db_url: str) -> None:
    db = Database(any_db_url)
    deletes: list[int] = []
    commits: list[int] = []

    def on_execute(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE FROM DELIVERIES"):
            deletes.append(1)

    def on_commit(conn):  # type: ignore[no-untyped-def]
        commits.append(1)

    try:
        await upgrade(db)
        await _fill(db, [("sent", 100 + n % 50) for n in range(2500)] + [("pending", 500)] * 3)
        event.listen(Engine, "before_cursor_execute", on_execute)
        event.listen(Engine, "commit", on_commit)
        try:
            assert await prune_deliveries(db, NOW, 90, batch=1000) == 2500
        finally:
            event.remove(Engine, "before_cursor_execute", on_execute)
            event.remove(Engine, "commit", on_commit)
        # 1,000 + 1,000 + 500: three statements, each in its own transaction.
        assert len(deletes) == 3 and len(commits) >= 3
        assert [state for _, state in await _left(db)] == ["pending"] * 3
    finally:
        await db.dispose()


def test_retention_config_is_validated() -> None:
    assert parse_file_config({}).retention.deliveries_days == 90
    assert parse_file_config({"retention": {"deliveries_days": 30}}).retention.deliveries_days == 30
    for bad in (0, -5, "soon", 100000):
        with pytest.raises(ConfigError, match="retention"):
            parse_file_config({"retention": {"deliveries_days": bad}})
    with pytest.raises(ConfigError, match="retention"):
        parse_file_config({"retention": {"deliveries_dayz": 30}})


async def test_bad_arguments_are_refused(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        with pytest.raises(ValueError, match="at least 1"):
            await prune_deliveries(db, NOW, 0)
    finally:
        await db.dispose()
