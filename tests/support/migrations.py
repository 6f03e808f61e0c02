"""Moving a test database to a given migration, up or down, the way the bot migrates."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from bot.store.db import Database
from bot.store.migrate import alembic_config, migrating


async def migrate_to(db_url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)

    db = Database(db_url)
    try:
        async with migrating(db) as conn:
            await conn.run_sync(run)
    finally:
        await db.dispose()
