"""A real `communitybot run` on Discord, against the fake Discord: readiness, commands over the
gateway, kill -9 and restart without a doubled effect, a dropped socket resumed, SIGTERM.

Waits poll with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeMember, FakeRole
from tests.fakes.discord_payloads import snowflake
from tests.support.bot_process import BotProcess

pytestmark = pytest.mark.process

TOKEN = "MTA-fake-discord-token.DoNotLeak.42"
MAINTAINERS = FakeRole(id=900000000000000011, name="maintainers")
ANNOUNCE = 910000000000000011


@pytest.fixture
async def fake() -> AsyncIterator[DiscordFake]:
    async with DiscordFake(token=TOKEN) as server:
        yield server


async def start(tmp_path: Path, fake: DiscordFake) -> BotProcess:
    config = tmp_path / "communitybot.toml"
    config.write_text(
        '[community]\nname = "Process Test"\ntimezone = "UTC"\n\n'
        f"[discord]\nmaintainer_roles = [{MAINTAINERS.id}]\n"
        f"announce_channels = [{ANNOUNCE}]\nsync_on_start = true\n",
        encoding="utf-8",
    )
    env = {
        "COMMUNITYBOT_CONFIG": str(config),
        "COMMUNITYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    bot = await BotProcess.start(tmp_path, env)
    proc = bot.proc

    async def ready() -> bool:
        port = bot.port()
        if port is None or not fake.connected_shards():
            return False
        url = f"http://127.0.0.1:{port}/readyz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return response.status == 200

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not await ready():
        if proc.returncode is not None:
            raise AssertionError(f"the bot exited during start-up:\n{bot.stderr}")
        if loop.time() > deadline:
            raise TimeoutError(f"not ready within 60 s:\n{bot.stderr}")
        with contextlib.suppress(TimeoutError):
            await fake.wait_for(lambda: False, within=0.05)
    return bot


async def test_run_answers_survives_kill_9_and_stops_on_sigterm(
    fake: DiscordFake, tmp_path: Path
) -> None:
    mo = FakeMember(user=fake.add_user("mo"), roles=[MAINTAINERS.id])
    ana = FakeMember(user=fake.add_user("ana"))
    guild = fake.add_guild(
        roles=[MAINTAINERS],
        members=[mo, ana],
        channels=[FakeChannel(ANNOUNCE, "announcements"), FakeChannel(snowflake(), "general")],
    )
    bot = await start(tmp_path, fake)
    try:
        assert [c["name"] for c in fake.global_commands], "synced on start"
        nominate = await fake.send_interaction(
            "hero nominate",
            user_id=mo.id,
            guild_id=guild.id,
            options={"member": ana.id, "reason": "for the release notes"},
        )
        reply = await fake.wait_for_reply(nominate, within=15)
        assert f"<@{ana.id}>" in reply["content"]
        assert fake.messages[int(reply["id"])].pings["users"] == []  # shown, not pinged
    finally:
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL

    # Discord redelivers the same interaction to the restarted process: one effect only.
    bot = await start(tmp_path, fake)
    try:
        assert len(fake.calls("PUT", "/applications/{application_id}/commands")) == 1
        await fake.send_interaction(
            "hero nominate",
            user_id=mo.id,
            guild_id=guild.id,
            options={"member": ana.id, "reason": "for the release notes"},
            interaction_id=nominate,
        )
        await fake.drop_connection()  # and the gateway drops once: RESUME, nothing doubled
        listing = await fake.send_interaction("hero nominations", user_id=mo.id, guild_id=guild.id)
        text = (await fake.wait_for_reply(listing, within=15))["content"]
        assert text.count("for the release notes") == 1, text
        await fake.wait_for(lambda: len(fake.resumes()) == 1, within=15)
    finally:
        assert await bot.stop(within=15) == 0, bot.stderr
    assert TOKEN not in bot.stderr
