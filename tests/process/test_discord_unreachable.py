"""Issue 15, item 8: a real `communitybot run` whose Discord is unreachable stays up and retries.

Before, it exited 2 with "cannot reach the database: Cannot connect to host". Now it serves
HTTP, says Discord is down in /readyz and /metrics, retries with backoff, and stops on SIGTERM.
Recovery after an outage (a fresh login and gateway connection) is tested in process by
tests/test_discord_adapter.py::test_an_unrecoverable_close_takes_readiness_down_and_is_retried.
"""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.support.bot_process import BotProcess

pytestmark = pytest.mark.process


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_run_stays_up_and_retries_while_discord_is_unreachable(tmp_path: Path) -> None:
    port = closed_port()
    bot = await BotProcess.start(
        tmp_path,
        {
            "COMMUNITYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "DISCORD_TOKEN": "MTA-unreachable.DoNotLeak.42",
            "DISCORD_API_URL": f"http://127.0.0.1:{port}/api/v10",
            "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/gateway/",
        },
    )
    try:
        await bot.wait_for(lambda: "communitybot is running" in bot.stderr, 60, "a running bot")
        # The first attempt and at least one retry (1 s later), each named in one line.
        await bot.wait_for(
            lambda: bot.stderr.count("cannot connect to Discord: ") >= 2, 30, "a retry"
        )
        failures = [line for line in bot.lines if "cannot connect to Discord" in line]
        assert "Cannot connect to host 127.0.0.1" in failures[0]
        assert "retrying in 1 s" in failures[0] and "retrying in 2 s" in failures[1]
        assert "database" not in bot.stderr
        assert "DoNotLeak" not in bot.stderr

        http_port = bot.port()
        assert http_port is not None
        base = f"http://127.0.0.1:{http_port}"
        assert (await get(f"{base}/healthz"))[0] == 200
        status, body = await get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["platforms"] == {"discord": "down"}
        _, metrics = await get(f"{base}/metrics")
        assert 'communitybot_platform_up{platform="discord"} 0.0' in metrics
    finally:
        code = await bot.stop(signal.SIGTERM, within=15)
    assert code == 0, bot.log
    assert "Traceback" not in bot.stderr, bot.log
