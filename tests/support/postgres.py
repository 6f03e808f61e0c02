"""A scratch PostgreSQL database, created for a test run or a bench and dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import database_url_from


@asynccontextmanager
async def scratch_database(base_url: str, prefix: str) -> AsyncIterator[str]:
    """A new database on the server of `base_url`, as a SQLAlchemy URL; dropped at the end."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url_from(base_url))
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
