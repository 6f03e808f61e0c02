"""A real `communitybot run` against the Slack fake: SIGTERM, readiness, logs without secrets.

The process is started as an operator would, with every Slack URL pointed at the loopback
fake. Waits poll with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.scheduling.notices import NOTICE_KIND
from bot.scheduling.queue import Planned, enqueue
from bot.store.db import Database
from bot.store.members import ensure_community
from bot.store.migrate import upgrade
from bot.store.models import Delivery, DeliveryState
from tests.fakes.slack_api import SlackFake
from tests.support.bot_process import BotProcess

pytestmark = pytest.mark.process

BOT_TOKEN = "xoxb-4242424242-4242424242-OpsTestTokenDoNotLeak42"
SIGNING_SECRET = "0ps7e57516n1n65ecre7d0n07leak42"
ANNOUNCE, ARCHIVED = "CANNOUNCE1", "CARCHIVED1"
NOTICES = "COPSNOTICE"  # where the test's own delivery goes (features post to ANNOUNCE)
STOP_WITHIN = 15.0  # the bound a SIGTERM must be honoured in (the app's grace is 20 s max)


@pytest.fixture
async def slack() -> AsyncIterator[SlackFake]:
    async with SlackFake(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN) as fake:
        fake.add_channel(ANNOUNCE, "announcements")
        fake.add_channel(ARCHIVED, "old-announcements", is_archived=True)
        fake.add_channel(NOTICES, "ops-notices")
        yield fake


async def plan_notice(db_url: str, text: str) -> None:
    """A due delivery, in the database before the bot starts (as if left by a previous run)."""
    db = Database(db_url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        async with db.session() as session:
            community = await ensure_community(session, "Ops Test", "UTC", now)
            target = Target.channel(Platform.SLACK, NOTICES)
            await enqueue(
                session,
                community.id,
                [Planned(NOTICE_KIND, "ops", "1", target, now, {"text": text})],
                now,
            )
    finally:
        await db.dispose()


async def delivery_state(db_url: str) -> tuple[str, str | None]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            row = await session.scalar(select(Delivery).where(Delivery.subject == "ops"))
            assert row is not None
            return row.state, row.claimed_by
    finally:
        await db.dispose()


async def start_bot(tmp_path: Path, slack: SlackFake, db_url: str, **extra: str) -> BotProcess:
    config = tmp_path / "communitybot.toml"
    config.write_text(
        '[community]\nname = "Ops Test"\ntimezone = "UTC"\n\n'
        f'[slack]\nannounce_channels = ["{ANNOUNCE}", "{ARCHIVED}"]\n',
        encoding="utf-8",
    )
    env = {
        "COMMUNITYBOT_CONFIG": str(config),
        "COMMUNITYBOT_DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        **extra,
    }
    return await BotProcess.start(tmp_path, env)


async def status(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status


async def metrics(url: str) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    """Sample values by sample name and label set, from the bot's /metrics."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        body = await response.text()
    values: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            values.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return values


def assert_no_secrets(stderr: str, *secrets: str) -> None:
    for secret in (BOT_TOKEN, SIGNING_SECRET, *secrets):
        assert secret not in stderr, f"{secret[:6]}… appears in the logs"


async def test_sigterm_finishes_the_send_in_flight_refuses_commands_and_exits_0(
    tmp_path: Path, slack: SlackFake
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await plan_notice(db_url, "a notice that is being sent when SIGTERM arrives")
    delay = slack.inject_delay("chat.postMessage", 3.0)
    delay.channel = NOTICES
    slack.inject_rate_limit("conversations.info", retry_after=1)  # a retry to count
    bot = await start_bot(tmp_path, slack, db_url, COMMUNITYBOT_LOG_FORMAT="json")
    try:
        port = await bot.wait_for(bot.port, 20, "the HTTP port in the logs")
        base = f"http://127.0.0.1:{port}"
        await slack.wait_for(lambda: delay.remaining == 0, 20, "the delayed chat.postMessage")
        assert await status(f"{base}/readyz") == 200
        answered = await slack.slash_command(f"{base}/slack/events", "/communitybot", "help")
        assert answered.http is not None and answered.http.status == 200
        families = await metrics(f"{base}/metrics")
        ok = {"command": "communitybot help", "platform": "slack", "outcome": "ok"}
        assert families["communitybot_commands_total"].get(frozenset(ok.items())) == 1
        requests = families["communitybot_platform_requests_total"]
        assert requests.get(frozenset({"platform": "slack", "status": "200"}.items()), 0) >= 2
        retries = families["communitybot_platform_retries_total"]
        assert retries.get(frozenset({"platform": "slack", "reason": "ratelimited"}.items())) == 1
        state, claimed_by = await delivery_state(db_url)
        assert state == DeliveryState.CLAIMED and claimed_by is not None

        loop = asyncio.get_running_loop()
        signalled = loop.time()
        bot.proc.send_signal(signal.SIGTERM)
        await bot.wait_for(lambda: "stopping" in bot.stderr, 5, "the stop to begin")
        # While the send finishes: not ready, and a new command gets a clear answer.
        assert await status(f"{base}/readyz") == 503
        exchange = await slack.slash_command(f"{base}/slack/events", "/communitybot", "help")
        assert exchange.http is not None and exchange.http.status == 200
        assert "restarting" in exchange.http.text

        code = await bot.stop(within=STOP_WITHIN)
        took = loop.time() - signalled
    finally:
        await bot.stop(within=STOP_WITHIN)
    assert code == 0, bot.stderr
    assert took < STOP_WITHIN
    posted = slack.posted(NOTICES)
    assert [m.text for m in posted] == ["a notice that is being sent when SIGTERM arrives"]
    state, claimed_by = await delivery_state(db_url)
    assert state == DeliveryState.SENT and claimed_by is not None
    # JSON lines only, the start-up channel warning among them, and no secret anywhere.
    records = [json.loads(line) for line in bot.lines]
    messages = [r["message"] for r in records]
    assert any(ARCHIVED in m and "cannot post" in m for m in messages), messages
    assert not any(ANNOUNCE in m and "cannot post" in m for m in messages)
    assert messages[-1] == "stopped"
    assert_no_secrets(bot.stderr)


async def test_sigterm_during_start_still_exits_0(tmp_path: Path, slack: SlackFake) -> None:
    # Slack answers auth.test only after a long while: the process is still starting.
    slow = slack.inject_delay("auth.test", 5.0)
    bot = await start_bot(tmp_path, slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    loop = asyncio.get_running_loop()
    try:
        await slack.wait_for(lambda: slow.remaining == 0, 20, "auth.test to be asked")
        signalled = loop.time()
    finally:
        code = await bot.stop(within=10)
    assert code == 0, bot.stderr
    assert loop.time() - signalled < 3, "the stop did not wait for start to finish"
    assert "communitybot is running" not in bot.stderr
    assert_no_secrets(bot.stderr)


DB_PASSWORD = "Pg-0ps-Pa55word-42"


@pytest.mark.postgres
async def test_the_database_password_stays_out_of_a_real_process_log(
    tmp_path: Path, slack: SlackFake, postgres_url: str
) -> None:
    # The test server trusts every connection, so any password works; the bot still learns
    # it from the URL, and anything echoing it back must be redacted.
    from sqlalchemy.engine import make_url

    db_url = make_url(postgres_url).set(password=DB_PASSWORD).render_as_string(False)
    await secrets_test(tmp_path, slack, db_url, DB_PASSWORD)


async def test_secrets_stay_out_of_a_real_process_log_even_in_tracebacks(
    tmp_path: Path, slack: SlackFake
) -> None:
    await secrets_test(tmp_path, slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")


async def secrets_test(tmp_path: Path, slack: SlackFake, db_url: str, *more: str) -> None:
    # Slack refuses the post with an error that echoes the secrets back, so the failure the
    # bot logs (with its traceback at DEBUG) carries them.
    await plan_notice(db_url, "this one fails")
    echoed = ":".join(("invalid_auth", BOT_TOKEN, SIGNING_SECRET, *more))
    slack.inject_error(echoed, method="chat.postMessage", channel=NOTICES)
    bot = await start_bot(tmp_path, slack, db_url, COMMUNITYBOT_LOG_LEVEL="DEBUG")
    try:
        await bot.wait_for(
            lambda: "failed" in bot.stderr and "invalid_auth" in bot.stderr, 20, "the failure"
        )
    finally:
        code = await bot.stop(within=STOP_WITHIN)
    assert code == 0, bot.stderr
    assert ":".join(["invalid_auth"] + ["[redacted]"] * (2 + len(more))) in bot.stderr
    assert_no_secrets(bot.stderr, *more)
    # Human-readable by default: "2026-… INFO    bot.app: HTTP on 127.0.0.1:PORT".
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ", bot.stderr, re.M)
