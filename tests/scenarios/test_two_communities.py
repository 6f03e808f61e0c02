"""One command set in two communities at once, in one process: two Slack workspaces (two team
ids) and two Discord guilds, each a community of its own (`[[communities]]`).

The same people (the same user ids) type the same commands with the same meeting id in both;
each community sees only its own meetings, its own maintainers and its own channel posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.adapters.discord.sync import sync_tree
from bot.app import App
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeRole
from tests.fakes.slack_api import SlackFake
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import Said
from tests.scenarios.driver_discord import DiscordDriver, snowflake_for
from tests.scenarios.driver_slack import BOT_TOKEN, SlackDriver

TEAMS = {"alpha": "T0FAKE0001", "beta": "T0FAKE0002"}
SLACK_MAINTAINER = {"alpha": "UMAYA", "beta": "UMO"}
SLACK_ANNOUNCE = {"alpha": "CANNOUNCEA", "beta": "CANNOUNCEB"}
GUILDS = {"alpha": 920000000000000001, "beta": 920000000000000002}
GENERAL = {"alpha": 930000000000000001, "beta": 930000000000000002}
# A guild the bot is in that no community lists.
GUILDS_SEEN = {**GUILDS, "nobody": 920000000000000003}
GENERAL["nobody"] = 930000000000000003
ROLES = {"alpha": 900000000000000001, "beta": 900000000000000011}
DISCORD_ANNOUNCE = {"alpha": 910000000000000001, "beta": 910000000000000011}
# Each community's `--ping` target: Slack's special mentions, Discord roles.
SLACK_PING = {"alpha": "here", "beta": "channel"}
DISCORD_PING = {"alpha": 900000000000000002, "beta": 900000000000000012}
# maya keeps alpha, mo keeps beta: each is a maintainer in one community only.
KEEPER = {"alpha": "maya", "beta": "mo"}
OTHER = {"alpha": "beta", "beta": "alpha"}


def config() -> dict[str, Any]:
    return {
        "communities": [
            {
                "key": key,
                "name": f"{key.title()} Community",
                "timezone": "UTC",
                "slack": {
                    "team_ids": [TEAMS[key]],
                    "maintainers": [SLACK_MAINTAINER[key]],
                    "announce_channels": [SLACK_ANNOUNCE[key]],
                    "announce_ping": SLACK_PING[key],
                },
                "discord": {
                    "guild_ids": [GUILDS[key]],
                    "maintainer_roles": [ROLES[key]],
                    "announce_channels": [DISCORD_ANNOUNCE[key]],
                    "announce_ping": DISCORD_PING[key],
                },
            }
            for key in ("alpha", "beta")
        ]
    }


Drivers = dict[str, Any]


@asynccontextmanager
async def slack_pair(tmp_path: Path) -> AsyncIterator[tuple[Drivers, Callable[[str], list[str]]]]:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
            config(),
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            http_port=0,
        )
        app = App(settings, timer=False, resolver=fake_resolver)
        await app.start()
        try:
            drivers = {key: SlackDriver(app, fake, team_id=team) for key, team in TEAMS.items()}
            drivers["nobody"] = SlackDriver(app, fake, team_id="T0FAKE0003")

            def posts(key: str) -> list[str]:
                return [m.text for m in fake.posted(SLACK_ANNOUNCE[key])]

            yield drivers, posts
        finally:
            await app.stop()


@asynccontextmanager
async def discord_pair(
    tmp_path: Path,
) -> AsyncIterator[tuple[Drivers, Callable[[str], list[str]]]]:
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordFake() as fake:
        for key, guild in GUILDS_SEEN.items():
            channels = [FakeChannel(id=GENERAL[key], name="general")]
            if key in DISCORD_ANNOUNCE:
                channels.append(FakeChannel(id=DISCORD_ANNOUNCE[key], name="announce"))
            roles = (
                [
                    FakeRole(id=ROLES[key], name="maintainers"),
                    FakeRole(id=DISCORD_PING[key], name="ping"),
                ]
                if key in ROLES
                else []
            )
            fake.add_guild(id=guild, name=key, roles=roles, channels=channels)
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
            config(),
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
        )
        app = App(settings, http=False, timer=False, resolver=fake_resolver)
        try:
            await app.start()
            drivers: Drivers = {
                key: GuildDriver(app, fake, key) for key in ("alpha", "beta", "nobody")
            }
            await sync_tree(drivers["alpha"].adapter.tree, [])

            def posts(key: str) -> list[str]:
                return [
                    m.payload.get("content") or ""
                    for m in fake.messages.values()
                    if not m.deleted and int(m.payload["channel_id"]) == DISCORD_ANNOUNCE[key]
                ]

            yield drivers, posts
        finally:
            await app.stop()
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


class GuildDriver(DiscordDriver):
    """The scenario driver in one guild, where only that community's keeper holds its role."""

    def __init__(self, app: App, fake: DiscordFake, key: str) -> None:
        self.key = key
        super().__init__(app, fake, ROLES.get(key), GUILDS_SEEN[key], GENERAL[key])

    def person(self, name: str) -> int:
        user_id = snowflake_for(name)
        if user_id not in self.names:
            roles = [ROLES[self.key]] if KEEPER.get(self.key) == name else []
            self.fake.add_member(self.guild_id, name, roles=roles, id=user_id)
            self.names[user_id] = name
        return user_id


PAIRS = {"slack": slack_pair, "discord": discord_pair}


def _start(days: int) -> str:
    return f'"{(datetime.now(UTC) + timedelta(days=days)):%Y-%m-%d} 09:00 UTC"'


@pytest.mark.parametrize("platform", sorted(PAIRS))
async def test_one_command_set_in_two_communities_at_once(platform: str, tmp_path: Path) -> None:
    async with PAIRS[platform](tmp_path) as (bots, posts):
        # The same meeting id, created at the same moment in both, by each one's maintainer.
        created = await asyncio.gather(
            *(
                bots[key].say(
                    f'/meeting create sync --name "{key.title()} Sync" --start {_start(3)}',
                    as_=KEEPER[key],
                )
                for key in ("alpha", "beta")
            )
        )
        for key, said in zip(("alpha", "beta"), created, strict=True):
            assert said.text.startswith(f"Created {key.title()} Sync (sync"), said.text

        nexts: list[Said] = await asyncio.gather(
            *(bots[key].say("/meeting next", as_="olu") for key in ("alpha", "beta"))
        )
        for key, said in zip(("alpha", "beta"), nexts, strict=True):
            assert f"{key.title()} Sync" in said.text, said.text
            assert f"{OTHER[key].title()} Sync" not in said.text, said.text

        # A maintainer of one community is a member like any other in the other.
        refused = await bots["beta"].say("/meeting cancel sync", as_="maya")
        assert "Only maintainers can use" in refused.text, refused.text
        still = await bots["beta"].say("/meeting next", as_="olu")
        assert "Beta Sync" in still.text

        # Cancelling alpha's `sync` leaves beta's `sync` as it was.
        cancel = await bots["alpha"].say("/meeting cancel sync", as_="maya")
        if cancel.buttons:
            cancel = await bots["alpha"].press(cancel, "confirm", as_="maya")
        gone = await bots["alpha"].say("/meeting next", as_="olu")
        assert "Alpha Sync" not in gone.text
        assert "Beta Sync" in (await bots["beta"].say("/meeting next", as_="olu")).text

        # Each announcement goes to its own community's channel only.
        previews = await asyncio.gather(
            *(
                bots[key].say(f"/announce News for {key} only --ping", as_=KEEPER[key])
                for key in ("alpha", "beta")
            )
        )
        for key, preview in zip(("alpha", "beta"), previews, strict=True):
            await bots[key].press(preview, "confirm", as_=KEEPER[key])
        await bots["alpha"].run_due()
        for key in ("alpha", "beta"):
            assert [p for p in posts(key) if "News for" in p] == [
                p for p in posts(key) if f"News for {key} only" in p
            ]
            (post,) = [p for p in posts(key) if f"News for {key} only" in p]
            # The post pings its own community's target, never the other's.
            mine, theirs = (
                (f"<!{SLACK_PING[key]}>", f"<!{SLACK_PING[OTHER[key]]}>")
                if platform == "slack"
                else (f"<@&{DISCORD_PING[key]}>", f"<@&{DISCORD_PING[OTHER[key]]}>")
            )
            assert mine in post and theirs not in post, post

        # A workspace or guild of no community is told so, and nothing is created for it.
        lost = await bots["nobody"].say("/meeting next", as_="olu")
        assert "is not part of any community this bot serves" in lost.text, lost.text
