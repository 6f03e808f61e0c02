"""Members' personal links stay out of the logs at every level (issue 15, item 11, Slack).

Bolt logs each answer at DEBUG ("Responding with status: 200 body: ..."), and `/survey list`
answers with the asker's own tracked link `/s/<token>`: whoever holds it opens the survey
as that member. The redaction filter of bot.logs covers every logger, bolt's included.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import App
from bot.core.invocation import Platform
from bot.logs import REDACTED, RedactSecrets, setup_logging
from tests.adapters.slack.test_oauth import TWO, install, oauth_bot
from tests.conftest import make_settings
from tests.fakes.slack_api import SlackFake
from tests.scenarios.conftest import fake_resolver

BOT_TOKEN = "xoxb-log-test"
CONFIG = {
    "community": {"name": "Log Community", "timezone": "UTC"},
    "slack": {"maintainers": ["UMAYA"], "announce_channels": ["CANNOUNCE"]},
}
TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The bot's real log setup at DEBUG, its one handler writing to a buffer."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    setup_logging("DEBUG", "text", [BOT_TOKEN])
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


@asynccontextmanager
async def slack_bot(tmp_path: Path, fake: SlackFake) -> AsyncIterator[App]:
    """A started bot on Slack over HTTP against `fake`, stopped afterwards."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        CONFIG,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        http_port=0,
    )
    app = App(settings, timer=False, resolver=fake_resolver)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_a_members_survey_link_never_reaches_the_debug_log(
    tmp_path: Path, debug_log: io.StringIO
) -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake, slack_bot(tmp_path, fake) as app:
        url = f"http://127.0.0.1:{app.http_port}/slack/events"
        added = await fake.slash_command(
            url, "/survey", 'add "Community Survey" https://example.org/survey', user_id="UMAYA"
        )
        assert added.http is not None and added.http.status == 200, added.http
        await app.run_due()
        await app.adapters[Platform.SLACK].drain()  # type: ignore[attr-defined]
        sent = await fake.slash_command(url, "/survey", "list", user_id="UOLU")
    assert sent.http is not None and sent.http.status == 200
    [token] = set(TOKEN.findall(sent.http.text))
    out = debug_log.getvalue()
    assert "Responding with status: 200" in out, "bolt's DEBUG answer lines were logged"
    assert f"/s/{REDACTED}" in out  # the link was there, and redacted
    assert token not in out


def test_capability_urls_are_redacted() -> None:
    scrub = RedactSecrets([]).scrub
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    for url, kept in (
        (f"https://bot.example.org/s/{token}", "https://bot.example.org/s/"),
        (f"<https://bot.example.org/s/{token}|Open the survey>", "|Open the survey>"),
        (f"https://bot.example.org/me/{token}", "https://bot.example.org/me/"),
        (
            f"https://hooks.slack.com/commands/T0001/1234567890/{token}",
            "https://hooks.slack.com/commands/",
        ),
        (f"https://hooks.slack.com/actions/T0001/123/{token}", "https://hooks.slack.com/actions/"),
    ):
        text = scrub(f"answer {url} done")
        assert token not in text and REDACTED in text and kept in text, text
    # Ordinary paths and short words are left alone.
    assert scrub("GET /s/ and /calendar.ics and /users/alice") == (
        "GET /s/ and /calendar.ics and /users/alice"
    )


async def test_installed_workspaces_tokens_never_reach_the_debug_log(
    tmp_path: Path, debug_log: io.StringIO
) -> None:
    async with SlackFake() as fake:
        fake.oauth.token_lifetime = 30 * 60  # rotating: refresh tokens too, and a refresh
        async with oauth_bot(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", fake, TWO) as bot:
            assert (await install(bot, fake, "TALPHA001"))[0] == 200
            sent = await fake.slash_command(
                bot.events, "/communitybot", "timezone <@UFRIEND01>", team_id="TALPHA001"
            )
            assert sent.http is not None and sent.http.status == 200
        log = debug_log.getvalue()
        assert "oauth.v2.access" in log  # the exchanges were logged, their secrets were not
        issued = list(fake.oauth.tokens)
        assert len(issued) == 2  # installed, then refreshed before the command
        for token in issued:
            assert token not in log
        assert "xoxe-" not in log and fake.oauth.client_secret not in log
