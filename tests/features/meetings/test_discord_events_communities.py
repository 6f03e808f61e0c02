"""Discord scheduled events with several communities: each community's meetings become
events in its own guilds only, and only where that community turned them on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import yarl

from bot.app import App
from bot.features.meetings.platform_events import MeetingEvents
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel
from tests.scenarios.conftest import fake_resolver

GUILDS = {"alpha": 920000000000000001, "beta": 920000000000000002, "gamma": 920000000000000003}
EVENTS_ON = {"alpha": True, "beta": True, "gamma": False}


def _start() -> str:
    day = datetime.now(UTC).date() + timedelta(days=2)
    return f"{day.isoformat()}T17:00"


@asynccontextmanager
async def world() -> AsyncIterator[DiscordFake]:
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with DiscordFake() as fake:
            for key, guild in GUILDS.items():
                fake.add_guild(id=guild, name=key, channels=[FakeChannel(id=guild + 10, name="g")])
                fake.allow_events(guild)
            yield fake
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


async def test_each_community_keeps_events_in_its_own_guilds(tmp_path: Path) -> None:
    config = {
        "communities": [
            {
                "key": key,
                "timezone": "UTC",
                "discord": {"guild_ids": [guild], "scheduled_events": EVENTS_ON[key]},
                "meetings": [
                    {
                        "id": "sync",
                        "name": f"{key.title()} Sync",
                        "start": _start(),
                        "rrule": "FREQ=WEEKLY",
                    }
                ],
            }
            for key, guild in GUILDS.items()
        ]
    }
    async with world() as fake:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'events.db'}",
            config,
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
        )
        app = App(settings, http=False, timer=False, resolver=fake_resolver)
        try:
            await app.start()
            assert app.services.communities is not None
            now = datetime.now(UTC)
            for community in app.services.communities:
                view = app.services.for_community(community)
                if not EVENTS_ON[community.key]:
                    assert view.scheduled_events is None
                    continue
                assert view.scheduled_events is not None
                await MeetingEvents(view, view.scheduled_events).reconcile(now)
            for key, guild in GUILDS.items():
                names = [e.name for e in fake.events_in(guild, by_bot=True)]
                assert names == ([f"{key.title()} Sync"] if EVENTS_ON[key] else []), (key, names)
        finally:
            await app.stop()
