"""Alembic environment: runs on the connection communitybot hands it, or on its own from the URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.config import DEFAULT_DATABASE_URL, database_url_from
from bot.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    from bot.store.db import Database
    from bot.store.migrate import migrating

    db = Database(url)
    try:
        async with migrating(db) as conn:
            await conn.run_sync(_run)
    finally:
        await db.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    raise SystemExit("communitybot migrations run online only: use `communitybot db upgrade`")
else:
    asyncio.run(
        _run_from_url(
            database_url_from(os.environ.get("COMMUNITYBOT_DATABASE_URL") or DEFAULT_DATABASE_URL)
        )
    )
