"""Replicas split the Discord gateway by DISCORD_SHARD_IDS / DISCORD_SHARD_COUNT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.app import App
from bot.core.commands import CommandSpec
from bot.core.invocation import Platform
from bot.core.message import Message
from bot.runtime.context import Context
from bot.runtime.feature import Feature, Setup
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeMember
from tests.scenarios.conftest import fake_resolver

# (id >> 22) % 2 puts these guilds on shards 0 and 1.
EVEN, ODD = 1000 << 22, 1001 << 22
HANDLED: list[tuple[int, str | None]] = []


async def _where(ctx: Context) -> Message:
    HANDLED.append((id(ctx.services), ctx.place.guild_id))
    return Message.text("here")


def _register(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    del kinds
    registry.group("shardprobe", "which replica answers")
    registry.add(CommandSpec("shardprobe", ("where",), "where", "/shardprobe where", _where))


@pytest.fixture
async def fake() -> AsyncIterator[DiscordFake]:
    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordFake() as server:
        yield server
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


async def test_each_replica_serves_its_own_shard(fake: DiscordFake, tmp_path: Path) -> None:
    HANDLED.clear()
    user = fake.add_user("mo")
    for guild_id in (EVEN, ODD):
        fake.add_guild(
            id=guild_id,
            members=[FakeMember(user=user)],
            channels=[FakeChannel(id=guild_id + 1, name="general")],
        )
    apps = []
    for shard in (0, 1):
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
            {},
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
            discord_shard_ids=[shard],
            discord_shard_count=2,
        )
        app = App(
            settings,
            http=False,
            timer=False,
            resolver=fake_resolver,
            extra_features=(Feature("shardprobe", _register),),
        )
        await app.start()
        apps.append(app)
    try:
        assert fake.connected_shards() == [(0, 2), (1, 2)]
        clients = [app.adapters[Platform.DISCORD].client for app in apps]  # type: ignore[attr-defined]
        assert [[g.id for g in c.guilds] for c in clients] == [[EVEN], [ODD]]
        await apps[0].adapters[Platform.DISCORD].tree.sync()  # type: ignore[attr-defined]
        for guild_id in (ODD, EVEN):
            iid = await fake.send_interaction(
                "shardprobe where", user_id=user.id, guild_id=guild_id
            )
            await fake.wait_for_reply(iid)
        expected = [(id(apps[1].services), str(ODD)), (id(apps[0].services), str(EVEN))]
        assert expected == HANDLED
    finally:
        for app in apps:
            await app.stop()
