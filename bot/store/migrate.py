"""Schema upgrades through Alembic, the only way the schema changes.

Every start upgrades the schema, and almost every start finds it already at the newest
migration. That case is answered with one query of `alembic_version`, without importing
Alembic (and the template and DDL machinery it brings, a quarter of a second of a restart):
`HEAD` names the newest migration, and tests/store/test_migrations.py checks that it is
Alembic's head, so a new migration cannot be forgotten here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations
from bot.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)
HEAD = "0012"


class SchemaTooNew(Exception):
    """The database was migrated by a newer communitybot than this one."""


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def _at_head(db: Database) -> bool:
    """Whether the schema is already at HEAD (one read; False for a new database)."""
    try:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(read_only=True)
            stored = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return [row[0] for row in stored] == [HEAD]


class BrokenReferences(Exception):
    """A migration left rows that refer to rows that are gone (SQLite's foreign_key_check)."""


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    # Straight to the driver: through SQLAlchemy the statement would begin a transaction, and
    # SQLite ignores `PRAGMA foreign_keys` inside one.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


@asynccontextmanager
async def migrating(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection to migrate on: under the migration lock, in one transaction.

    On SQLite its foreign keys are off. Alembic's batch mode changes a table there by copying
    it and dropping the old one, and with foreign keys on, dropping `members` (or
    `communities`) deletes every row that refers to it, through ON DELETE CASCADE. The check
    at the end makes sure the rebuilt tables still satisfy every foreign key, so the
    migration commits nothing that foreign keys would have refused.
    """
    async with db.migration_lock(), db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            await conn.run_sync(_sqlite_pragma, "foreign_keys=OFF")
        try:
            async with conn.begin():
                yield conn
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise BrokenReferences(
                            f"the migration left {len(broken)} row(s) referring to missing "
                            f"rows (first: table {broken[0][0]}); nothing was changed"
                        )
        finally:
            if sqlite:
                await conn.run_sync(_sqlite_pragma, "foreign_keys=ON")


async def upgrade(db: Database) -> None:
    """Bring the schema to head; refuse a database that is ahead of this code."""
    if await _at_head(db):
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())

    def _upgrade(conn: Connection) -> None:
        current = _current(conn)
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise SchemaTooNew(
                f"the database schema ({current}) is newer than this communitybot knows; "
                "run the newer version or restore a backup"
            )
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    async with migrating(db) as conn:
        await conn.run_sync(_upgrade)
