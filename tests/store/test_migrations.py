"""Migrations from empty to head on SQLite and PostgreSQL; models and migrations agree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from bot.store.db import Database
from bot.store.migrate import SchemaTooNew, current_revision, head_revision, upgrade
from bot.store.schema import Base


async def test_empty_to_head_and_no_drift(any_db_url: str) -> None:
    db = Database(any_db_url)
    try:
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        await upgrade(db)  # idempotent, as every start runs it

        def drift(conn):  # type: ignore[no-untyped-def]
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)

        async with db.engine.connect() as conn:
            assert await conn.run_sync(drift) == []
    finally:
        await db.dispose()


async def test_a_newer_schema_is_refused(any_db_url: str) -> None:
    db = Database(any_db_url)
    try:
        await upgrade(db)
        async with db.session() as session:
            await session.execute(
                text("UPDATE alembic_version SET version_num = '9999_from_the_future'")
            )
        with pytest.raises(SchemaTooNew, match="newer"):
            await upgrade(db)
    finally:
        await db.dispose()


async def test_sqlite_pragmas(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            # SQLite's own busy handler would sleep on the event loop's thread; waiting for
            # another process's lock happens in bot.store.sqlite_inline instead.
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 0
    finally:
        await db.dispose()


def test_head_names_the_newest_migration() -> None:
    # bot.store.migrate answers "already at head" without Alembic by comparing with HEAD.
    from bot.store.migrate import HEAD

    assert head_revision() == HEAD


def test_a_start_at_head_does_not_load_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    script = (
        "import asyncio, sys\n"
        "from bot.store.db import Database\n"
        "from bot.store.migrate import upgrade\n"
        f"db = Database({url!r})\n"
        "asyncio.run(upgrade(db))\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    # The first start creates the schema with Alembic; the next finds it at head.
    assert [r.stdout.strip() for r in runs] == ["True", "False"]


async def test_rebuilding_a_table_deletes_nothing_that_refers_to_it(any_db_url: str) -> None:
    """SQLite rebuilds a table to change it (0011 rebuilds `members`, 0010's downgrade
    `communities`); with foreign keys on, dropping the old copy would cascade-delete every
    nomination, subscription and audit entry of its members. Down to 0008 and back up: every
    table keeps its rows, and every reference still holds."""
    from tests.runtime.test_communities import counts
    from tests.support.heroes_harness import hero_bot
    from tests.support.migrations import migrate_to

    now = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
    async with hero_bot(any_db_url, now) as bot:
        await bot.say("/communitybot timezone Asia/Tokyo", as_="olu")
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @ana --anonymous she is kind", as_="raj")
        await bot.say("/hero review @ana accept", as_="maya")
        before = await counts(bot.app)
    assert before["members"] >= 3 and before["hero_nominations"] == 2
    await migrate_to(any_db_url, "0008", down=True)
    await migrate_to(any_db_url, "head")
    async with hero_bot(any_db_url, now) as bot:
        after = await counts(bot.app)
    assert after == before
