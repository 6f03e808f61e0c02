"""Database.session(): one unit of work, committed whole or not at all, its connection always
returned (it commits and closes in one step; these pin what that step must keep)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import BotState, Community

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def _community(key: str) -> Community:
    return Community(key=key, name=key, timezone="UTC", created_at=NOW)


async def _keys(db: Database) -> list[str]:
    async with db.reads() as session:
        return list(await session.scalars(select(Community.key).order_by(Community.key)))


def _checked_out(db: Database) -> int:
    return db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]


async def test_what_a_session_writes_is_committed_when_it_ends(db: Database) -> None:
    async with db.session() as session:
        session.add(_community("orm"))  # flushed by the commit
        await session.execute(
            insert(Community).values(key="core", name="core", timezone="UTC", created_at=NOW)
        )
    assert await _keys(db) == ["core", "orm"]
    assert _checked_out(db) == 0


async def test_an_error_in_the_block_rolls_back_everything_and_is_raised(db: Database) -> None:
    with pytest.raises(RuntimeError, match="half way"):
        async with db.session() as session:
            session.add(_community("flushed"))
            await session.flush()
            await session.execute(
                insert(Community).values(key="core", name="core", timezone="UTC", created_at=NOW)
            )
            raise RuntimeError("half way")
    assert await _keys(db) == []
    assert _checked_out(db) == 0


async def test_a_commit_that_fails_writes_nothing_and_returns_the_connection(
    db: Database,
) -> None:
    # The second row breaks the unique key when the commit flushes it: the first goes too.
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(_community("twice"))
            await session.flush()
            session.add(_community("twice"))
    assert await _keys(db) == []
    assert _checked_out(db) == 0
    # And the next unit of work runs as usual (on SQLite: the process's write lock was let go).
    async with db.session() as session:
        session.add(_community("after"))
    assert await _keys(db) == ["after"]


async def test_a_cancelled_block_rolls_back_and_lets_the_next_writer_in(db: Database) -> None:
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.session() as session:
            session.add(_community("cancelled"))
            await session.flush()
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(writer())
    await asyncio.wait_for(inside.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The rollback and the connection's return run shielded from the cancellation.
    async with asyncio.timeout(10):
        async with db.session() as session:
            session.add(BotState(key="next", value="1", updated_at=NOW))
    assert await _keys(db) == []
    async with db.reads() as session:
        assert await session.scalar(select(BotState.value).where(BotState.key == "next")) == "1"
    assert _checked_out(db) == 0
