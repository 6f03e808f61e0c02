"""Read-only commands (help, next, list, hall…) answer from a read snapshot: they write
nothing and never wait for the write lock (issue 16: no write transaction for reads)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support.meetings_bot import community_meeting, meeting_bot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
READS = [
    ("/communitybot help", "olu"),
    ("/communitybot audit", "maya"),
    ("/meeting next", "olu"),
    ("/meeting list", "olu"),
    ("/meeting list 5", "olu"),
    ("/meeting agenda list community", "olu"),
    ("/hero hall", "olu"),
    ("/announce list", "maya"),
]


def test_the_read_only_commands_are_the_ones_marked() -> None:
    from bot.app import build_registries

    registry, _ = build_registries()
    marked = {s.name for s in registry.specs() if s.read_only}
    assert marked == {
        "communitybot help",
        "communitybot audit",
        "meeting next",
        "meeting list",
        "meeting agenda list",
        "hero hall",
        "announce list",
    }


@pytest.mark.parametrize(("line", "who"), READS)
async def test_a_read_only_command_writes_nothing(any_db_url: str, line: str, who: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say("/meeting next", as_="someone-else")  # the catch-up writes are done
        writes: list[str] = []

        def record(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                writes.append(statement)

        event.listen(Engine, "before_cursor_execute", record)
        try:
            said = await bot.say(line, as_=who)
        finally:
            event.remove(Engine, "before_cursor_execute", record)
        assert "went wrong" not in said
        assert writes == []


def test_help_is_the_one_command_that_reads_nothing() -> None:
    from bot.app import build_registries

    registry, _ = build_registries()
    assert {s.name for s in registry.specs() if s.reads_nothing} == {"communitybot help"}


async def test_help_does_not_touch_the_database(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say("/communitybot timezone Europe/Berlin", as_="olu")
        checkouts: list[object] = []
        pool = bot.app.db.engine.sync_engine.pool
        listener = lambda *args: checkouts.append(args)  # noqa: E731
        event.listen(pool, "checkout", listener)
        try:
            said = await bot.say("/communitybot help", as_="olu")
        finally:
            event.remove(pool, "checkout", listener)
        # The whole help, from the registry alone: not even a connection was taken.
        assert "/hero nominate" in said and "Example: /meeting next" in said
        assert checkouts == []


async def test_reads_answer_while_another_process_holds_the_write_lock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bot.db"
    async with meeting_bot(
        f"sqlite+aiosqlite:///{path}", meetings=[community_meeting()], now=NOW
    ) as bot:
        await bot.say("/meeting subscribe community", as_="olu")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            said = await bot.say("/meeting next", as_="olu")
            assert "Community Meeting" in said
            said = await bot.say("/communitybot help", as_="olu")
            assert "/meeting next" in said
        finally:
            other.execute("ROLLBACK")
            other.close()


async def test_on_postgresql_reads_open_no_transaction(postgres_url: str) -> None:
    async with meeting_bot(postgres_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say("/meeting next", as_="someone-else")  # the catch-up writes are done
        sent: list[str] = []

        def logged(record: Any) -> None:
            sent.append(record.query)

        # asyncpg reports BEGIN and COMMIT to its query loggers (statements go unreported).
        @event.listens_for(bot.app.db.engine.sync_engine.pool, "checkout")
        def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            record.driver_connection.add_query_logger(logged)

        async def transactions(line: str, who: str) -> list[str]:
            sent.clear()
            said = await bot.say(line, as_=who)
            assert "went wrong" not in said
            for _ in range(3):  # the loggers are called soon after, not during
                await asyncio.sleep(0)
            return [q for q in sent if q.split(" ", 1)[0].rstrip(";") in ("BEGIN", "COMMIT")]

        for line, who in READS:
            assert await transactions(line, who) == [], line
        # A write, to show that the loggers see transactions at all.
        began = await transactions("/meeting subscribe community", "olu")
        assert [q.split(" ", 1)[0].rstrip(";") for q in began] == ["BEGIN", "COMMIT"]
