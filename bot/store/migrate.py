"""Schema upgrades through Alembic, the only way the schema changes."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations
from bot.store.db import Database

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


class SchemaTooNew(Exception):
    """The database was migrated by a newer communitybot than this one."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(db: Database) -> None:
    """Bring the schema to head; refuse a database that is ahead of this code."""
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

    async with db.migration_lock(), db.engine.begin() as conn:
        await conn.run_sync(_upgrade)
