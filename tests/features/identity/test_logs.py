"""A data link (/me/<token>) never reaches the logs: not bolt's DEBUG answer, not the GET
that serves it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import aiohttp

from bot.logs import REDACTED
from tests.adapters.slack.test_log_redaction import BOT_TOKEN, debug_log, slack_bot
from tests.fakes.slack_api import SlackFake

__all__ = ["debug_log"]  # the fixture, used by name
ME = re.compile(r"/me/([A-Za-z0-9_-]{20,})")


async def test_a_data_link_never_reaches_the_log(tmp_path: Path, debug_log: io.StringIO) -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake, slack_bot(tmp_path, fake) as app:
        url = f"http://127.0.0.1:{app.http_port}"
        sent = await fake.slash_command(
            f"{url}/slack/events", "/communitybot", "mydata", user_id="UOLU"
        )
        assert sent.http is not None and sent.http.status == 200
        [token] = set(ME.findall(sent.http.text))
        async with aiohttp.ClientSession() as http, http.get(f"{url}/me/{token}") as response:
            assert response.status == 200
            assert (await response.json())["accounts"][0]["user_id"] == "UOLU"
    out = debug_log.getvalue()
    assert f"/me/{REDACTED}" in out  # the link was logged, redacted
    # The GET itself wrote no line: the web server keeps no access log (bot/adapters/web.py).
    assert "GET /me/" not in out
    assert token not in out
