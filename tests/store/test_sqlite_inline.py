"""SQLite run on the event loop's thread (bot.store.sqlite_inline): waiting for another
process's write lock must neither block the loop nor fail early, and must end at the budget."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store import sqlite_inline
from bot.store.db import Database


def _path(sqlite_url: str) -> Path:
    database = make_url(sqlite_url).database
    assert database
    return Path(database)


async def _table(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS t (v INTEGER)"))


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        await _table(db)
        # Another process (a second connection, as `communitybot export` would be) writes.
        other = sqlite3.connect(_path(sqlite_url), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")

        async def write() -> None:
            async with db.session() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))

        task = asyncio.create_task(write())
        for _ in range(5):
            await asyncio.sleep(0)  # the loop keeps turning while the writer waits
        assert not task.done()
        async with db.engine.connect() as conn:
            # Readers are not held up either: WAL lets them read the last commit.
            conn = await conn.execution_options(read_only=True)
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(task, timeout=10)
        async with db.session() as session:
            rows = (await session.execute(text("SELECT v FROM t ORDER BY v"))).scalars().all()
        assert rows == [1, 2]
    finally:
        await db.dispose()


async def test_waiting_ends_with_database_is_locked_at_the_budget(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await _table(db)
    finally:
        await db.dispose()
    other = sqlite3.connect(_path(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        connect = sqlite_inline.connector([str(_path(sqlite_url))], {}, busy_timeout=0.0)
        conn = await connect()
        cursor = conn.cursor()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await cursor.execute("BEGIN IMMEDIATE")
        # Reading is still possible (WAL), and nothing of ours was written.
        await cursor.execute("SELECT count(*) FROM t")
        assert await cursor.fetchall() == [(0,)]
        await conn.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_other_errors_are_not_retried(sqlite_url: str) -> None:
    connect = sqlite_inline.connector([str(_path(sqlite_url))], {}, busy_timeout=30.0)
    conn = await connect()
    cursor = conn.cursor()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await cursor.execute("SELECT * FROM missing")
    await cursor.execute("CREATE TABLE u (v INTEGER PRIMARY KEY)")
    await cursor.executemany("INSERT INTO u VALUES (?)", ((i,) for i in range(3)))
    with pytest.raises(sqlite3.IntegrityError):
        await cursor.execute("INSERT INTO u VALUES (1)")
    await cursor.execute("SELECT v FROM u ORDER BY v")
    assert [row async for row in cursor] == [(0,), (1,), (2,)]
    await conn.close()
