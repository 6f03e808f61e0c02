"""Fixtures shared by every test: settings on a temporary SQLite file, PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import parse_file_config
from bot.config import Settings
from bot.store.db import Database
from bot.store.migrate import upgrade
from tests.support.clock import Clock
from tests.support.postgres import scratch_database

# CI runs every property test on a fixed series of examples, so a run is repeatable;
# elsewhere each run draws new ones and keeps exploring.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PG_ENV = "COMMUNITYBOT_TEST_POSTGRES_URL"

# Bolt silently switches to OAuth when these are set; nothing of the caller's may leak in.
for _key in list(os.environ):
    if _key.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_")) and _key != PG_ENV:
        del os.environ[_key]


def make_settings(db_url: str, file: Mapping[str, Any] | None = None, **env: Any) -> Settings:
    """Settings as load_settings would build them, without reading the environment."""
    return Settings(file=parse_file_config(file or {}), database_url=db_url, **env)


@pytest.fixture
def clock() -> Clock:
    """The App's clock, at the wall-clock time the test started; set or advance it."""
    return Clock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def settings_for(sqlite_url: str) -> Callable[..., Settings]:
    def build(file: Mapping[str, Any] | None = None, **env: Any) -> Settings:
        return make_settings(sqlite_url, file, **env)

    return build


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skips the test when none is configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    async with scratch_database(base, "cbtest") as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """Runs a test on SQLite and on PostgreSQL (skipped with a reason when PostgreSQL is absent)."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    async with pg_database() as url:
        yield url


@pytest.fixture
async def db(any_db_url: str) -> AsyncIterator[Database]:
    """A database at the newest migration, on SQLite and on PostgreSQL (its tables come from
    the migrations, as in production, never from create_all)."""
    database = Database(any_db_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()
