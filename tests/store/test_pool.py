"""PostgreSQL connections the server closed (a restart, an administrator's kill) are never
handed to a command: the pool notices on checkout, without a ping's round trips."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bot.store.db import Database
from bot.store.members import ensure_community
from bot.store.migrate import upgrade
from bot.store.models import Community

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _terminate_all(url: str) -> None:
    """What a restart does to the bot's connections: the server ends every one of them."""
    parsed = make_url(url)
    admin = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            parsed.database,
        )
    finally:
        await admin.close()


async def test_commands_after_the_server_closed_the_pooled_connections(
    postgres_url: str,
) -> None:
    db = Database(postgres_url)
    try:
        await upgrade(db)
        async with db.engine.connect() as conn:
            pooled = (await conn.get_raw_connection()).driver_connection
            await conn.execute(text("SELECT 1"))
        await _terminate_all(postgres_url)
        deadline = asyncio.get_running_loop().time() + 10
        while not pooled.is_closed():
            assert asyncio.get_running_loop().time() < deadline, "the server kept the connection"
            await asyncio.sleep(0.01)

        # A write and a read right after: both get a new connection.
        async with db.session() as session:
            await ensure_community(session, "Example", "UTC", NOW)
        async with db.reads() as session:
            assert await session.scalar(select(Community.name)) == "Example"
    finally:
        await db.dispose()
