"""`communitybot run` as an operator starts it, with Slack pointed at the fake."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack_api import SlackFake

pytestmark = pytest.mark.process

EXE = str(Path(sys.executable).with_name("communitybot"))
BOT_TOKEN = "xoxb-process-test"
APP_TOKEN = "xapp-1-process-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(tmp_path: Path, fake: SlackFake, port: int) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text('[community]\nname = "Process Community"\ntimezone = "UTC"\n')
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        COMMUNITYBOT_CONFIG=str(config),
        COMMUNITYBOT_HTTP_PORT=str(port),
        COMMUNITYBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    return env


async def status_of(url: str) -> int | None:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            return resp.status
    except aiohttp.ClientError:
        return None


@asynccontextmanager
async def running(
    env: dict[str, str], fake: SlackFake, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    # Output goes to a file: a pipe nobody reads fills up and blocks the bot mid-test.
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            EXE, "run", env=env, stdout=sink, stderr=asyncio.subprocess.STDOUT
        )
    ready = f"http://127.0.0.1:{env['COMMUNITYBOT_HTTP_PORT']}/readyz"

    async def is_ready() -> bool:
        if proc.returncode is not None:
            output = await asyncio.to_thread(log.read_text)
            raise AssertionError(f"communitybot run exited: {output[-2000:]}")
        return await status_of(ready) == 200

    try:
        await fake.wait_for(is_ready, within=30, what="communitybot run to be ready")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_http_mode_answers_signed_commands_and_stops_cleanly(tmp_path: Path) -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        port = free_port()
        env = base_env(tmp_path, fake, port)
        env["SLACK_SIGNING_SECRET"] = fake.signing_secret
        async with running(env, fake, tmp_path / "bot.log") as proc:
            url = f"http://127.0.0.1:{port}/slack/events"
            sent = await fake.slash_command(url, "/communitybot", "timezone Europe/Berlin")
            assert sent.http is not None and sent.http.status == 200
            assert "Europe/Berlin" in sent.http.json()["text"]
            forged = await fake.slash_command(url, "/communitybot", "help", forge=True)
            assert forged.http is not None and forged.http.status == 401
            assert fake.calls("auth.test"), "the bot checked its token against SLACK_API_URL"
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_socket_mode_process(tmp_path: Path) -> None:
    async with SlackFake(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        port = free_port()
        env = base_env(tmp_path, fake, port)
        env["SLACK_APP_TOKEN"] = APP_TOKEN
        async with running(env, fake, tmp_path / "bot.log"):
            sent = await fake.slash_command(None, "/communitybot", "help")
            ack = await fake.ack_for(sent.envelope_id or "", within=15)
            assert ack.payload is not None and "/communitybot help" in ack.payload["text"]
            # The HTTP server runs (health, metrics), but Slack's endpoint is not served.
            assert await status_of(f"http://127.0.0.1:{port}/healthz") == 200
            http = await fake.slash_command(f"http://127.0.0.1:{port}/slack/events", "/x")
            assert http.http is not None and http.http.status == 404


async def test_oauth_installs_process(tmp_path: Path) -> None:
    async with SlackFake() as fake:
        port = free_port()
        env = base_env(tmp_path, fake, port)
        del env["SLACK_BOT_TOKEN"]
        env.update(
            SLACK_SIGNING_SECRET=fake.signing_secret,
            SLACK_CLIENT_ID=fake.oauth.client_id,
            SLACK_CLIENT_SECRET=fake.oauth.client_secret,
        )
        # Ready with no workspace installed yet: the credentials are all it takes.
        async with running(env, fake, tmp_path / "bot.log"):
            base = f"http://127.0.0.1:{port}"
            fake.oauth.redirect_url = f"{base}/slack/oauth_redirect"
            fake.oauth.approve_as("T0FAKE0001", "Process Workspace", "UINSTALLR")
            jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])
            async with (
                aiohttp.ClientSession(cookie_jar=jar) as browser,
                browser.get(f"{base}/slack/install") as page,
            ):
                assert page.status == 200, await page.text()
            [token] = fake.oauth.tokens_of("T0FAKE0001")
            sent = await fake.slash_command(
                f"{base}/slack/events", "/communitybot", "timezone <@UFRIEND01>"
            )
            assert sent.http is not None and sent.http.status == 200
            assert [c.token for c in fake.calls("users.info")] == [token]


async def test_contradictory_slack_credentials_refuse_to_start(tmp_path: Path) -> None:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        env = base_env(tmp_path, fake, free_port())
        env.update(
            SLACK_SIGNING_SECRET=fake.signing_secret,
            SLACK_CLIENT_ID="123.456",
            SLACK_CLIENT_SECRET="shh",
        )
        proc = await asyncio.create_subprocess_exec(
            EXE, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 2
        text = err.decode()
        assert "OAuth" in text and "both set" in text and "Traceback" not in text
        assert len(text.strip().splitlines()) == 1
        assert fake.calls() == []
