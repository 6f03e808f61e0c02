"""Migrations from empty to head on SQLite and PostgreSQL; models and migrations agree."""

from __future__ import annotations

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
