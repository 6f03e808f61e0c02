"""A data link (/me/<token>) never reaches the logs: not bolt's DEBUG answer, not the GET
that serves it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import aiohttp

from bot.app import App
from bot.logs import REDACTED
from tests.adapters.slack.test_log_redaction import BOT_TOKEN, CONFIG, debug_log
from tests.conftest import make_settings
from tests.fakes.slack_api import SlackFake
from tests.scenarios.conftest import fake_resolver

__all__ = ["debug_log"]  # the fixture, used by name
ME = re.compile(r"/me/([A-Za-z0-9_-]{20,})")


async def test_a_data_link_never_reaches_the_log(tmp_path: Path, debug_log: io.StringIO) -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
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
            url = f"http://127.0.0.1:{app.http_port}"
            sent = await fake.slash_command(
                f"{url}/slack/events", "/communitybot", "mydata", user_id="UOLU"
            )
            assert sent.http is not None and sent.http.status == 200
            [token] = set(ME.findall(sent.http.text))
            async with aiohttp.ClientSession() as http, http.get(f"{url}/me/{token}") as response:
                assert response.status == 200
                assert (await response.json())["accounts"][0]["user_id"] == "UOLU"
        finally:
            await app.stop()
    out = debug_log.getvalue()
    assert f"/me/{REDACTED}" in out  # the link was logged, redacted
    # The GET itself wrote no line: the web server keeps no access log (bot/adapters/web.py).
    assert "GET /me/" not in out
    assert token not in out
