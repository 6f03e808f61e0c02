"""Issue 15, items 10 and 14: /readyz names each platform, /metrics has communitybot_platform_up,
/healthz reports writes that fail, and a connection that never sends its headers is closed.

Real HTTP on port 0, real SQLite files; the faults are real SQLite conditions (a full database,
a write lock held by another connection), not mocks.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import event

from bot.adapters import web as server
from bot.adapters.web import add_health_routes, serve
from bot.app import App
from bot.core.invocation import Platform
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import BotState
from tests.adapters.web.test_http import fetch_metrics, get, sample
from tests.conftest import make_settings


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    bot = App(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}", {}, http_port=0),
        console_user="olu",
        timer=False,
    )
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def test_readyz_names_each_platform_and_the_gauge_follows(app: App) -> None:
    base = f"http://127.0.0.1:{app.http_port}"
    status, _, body = await get(f"{base}/readyz")
    assert status == 200
    assert json.loads(body) == {
        "status": "ready",
        "database": "ok",
        "platforms": {"console": "up"},
    }
    assert app.http_port is not None
    families = await fetch_metrics(app.http_port)
    assert families["communitybot_platform_up"].type == "gauge"
    assert sample(families, "communitybot_platform_up", platform="console") == 1.0

    await app.adapters[Platform.CONSOLE].stop()
    status, _, body = await get(f"{base}/readyz")
    assert status == 503
    assert json.loads(body)["platforms"] == {"console": "down"}
    families = await fetch_metrics(app.http_port)
    assert sample(families, "communitybot_platform_up", platform="console") == 0.0


async def test_readyz_is_ready_while_one_platform_of_two_can_serve(tmp_path: Path) -> None:
    """Discord down, Slack up: still ready, so Slack's HTTP commands keep reaching the pod."""
    from tests.fakes.slack_api import SlackFake

    async with SlackFake(signing_secret="s3cr3t", bot_token="xoxb-1-2-ok") as slack:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'two.db'}",
            {},
            http_port=0,
            slack_bot_token="xoxb-1-2-ok",
            slack_signing_secret="s3cr3t",
            slack_api_url=slack.api_url.rstrip("/"),
            discord_token="t",
            discord_api_url="http://127.0.0.1:1/api/v10",  # refuses at once: Discord is down
        )
        bot = App(settings, timer=False)
        await bot.start()
        try:
            status, _, body = await get(f"http://127.0.0.1:{bot.http_port}/readyz")
            assert json.loads(body)["platforms"] == {"slack": "up", "discord": "down"}
            assert status == 200
            assert bot.http_port is not None
            families = await fetch_metrics(bot.http_port)
            assert sample(families, "communitybot_platform_up", platform="slack") == 1.0
            assert sample(families, "communitybot_platform_up", platform="discord") == 0.0
        finally:
            await bot.stop()


async def test_healthz_reports_a_full_database_until_writes_work_again(app: App) -> None:
    """SQLite's max_page_count makes the database full, as a full disk does (SQLITE_FULL)."""
    url = f"http://127.0.0.1:{app.http_port}/healthz"
    assert (await get(url))[0] == 200
    path = app.db.sqlite_path()
    assert path is not None
    with sqlite3.connect(path) as conn:
        # Fill the free pages first, so that every new row needs the file to grow.
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        conn.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES ('filler', ?, '2026-01-01')",
            ("x" * 4096 * (free + 1),),
        )
        pages = conn.execute("PRAGMA page_count").fetchone()[0]

    def full(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    event.listen(app.db.engine.sync_engine, "connect", full)
    await app.db.engine.dispose()  # new connections get the limit
    with pytest.raises(Exception, match="full"):
        async with app.db.session() as session:
            session.add(BotState(key="big", value="y" * 100_000, updated_at=app.clock()))
    status, _, body = await get(url)
    assert status == 503, body
    assert json.loads(body) == {
        "status": "database writes failing",
        "reason": "database or disk is full",
    }
    assert (await get(url))[0] == 503, "the probe write fails as well while the disk is full"

    event.remove(app.db.engine.sync_engine, "connect", full)
    await app.db.engine.dispose()
    status, _, body = await get(url)
    assert (status, json.loads(body)) == (200, {"status": "ok"}), "a probe write worked again"


async def test_healthz_reports_a_database_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout=0.2)
    await upgrade(db)
    web_app = web.Application()
    add_health_routes(web_app, db.ping, _never_ready, db.writes_failing)
    runner, port = await serve(web_app, "127.0.0.1", 0)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(Exception, match="locked"):
            async with db.session() as session:
                await session.merge(BotState(key="k", value="v", updated_at=_now()))
        status, _, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and json.loads(body)["reason"] == "database is locked", body
        holder.execute("ROLLBACK")
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    finally:
        holder.close()
        await runner.cleanup()
        await db.dispose()


async def test_a_connection_that_never_sends_headers_is_closed(tmp_path: Path) -> None:
    web_app = web.Application()
    runner, port = await serve(web_app, "127.0.0.1", 0, idle_timeout=0.5)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        await writer.drain()
        # The server closes it: EOF well within the deadline (the default is an hour).
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""
        writer.close()
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(idle_reader.read(), timeout=10) == b""
        idle_writer.close()
    finally:
        await runner.cleanup()


def test_the_server_default_idle_timeout_is_bounded() -> None:
    # Long enough for load balancers' own 60 s idle timeout, far below aiohttp's hour.
    assert 60 < server.IDLE_TIMEOUT <= 120


async def _never_ready() -> tuple[bool, dict[str, object]]:
    return False, {}


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)
