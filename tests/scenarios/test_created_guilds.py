"""A guild the bot joins gets a community of its own (`[deployment] open_installs`), end to
end through the real discord.py client on the fake gateway: the guild joins, a member with
Manage Server sets it up, a member without is refused, a configured community stays apart,
and when the bot is removed its pending posts fail with the reason and nothing is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import yarl
from sqlalchemy import select

from bot.adapters.discord.sync import sync_tree
from bot.app import App
from bot.runtime.communities import Community
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeRole
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver_discord import DiscordDriver, snowflake_for

CONFIG_GUILD, NEW_GUILD = 920000000000000001, 920000000000000077
GENERAL = {CONFIG_GUILD: 930000000000000001, NEW_GUILD: 930000000000000077}
NEWS = 940000000000000077
KEEPERS_ROLE = 900000000000000001  # the configured community's maintainer role
MANAGERS_ROLE = 900000000000000077  # a role with Manage Server in the new guild
MANAGE_GUILD = 1 << 5
NEW_KEY = f"discord-{NEW_GUILD}"

CONFIG: dict[str, Any] = {
    "deployment": {"open_installs": True},
    "communities": [
        {
            "key": "alpha",
            "name": "Alpha",
            "discord": {"guild_ids": [CONFIG_GUILD], "maintainer_roles": [KEEPERS_ROLE]},
        }
    ],
}


class GuildDriver(DiscordDriver):
    """The scenario driver in one guild; `boss` holds the role with Manage Server there."""

    def person(self, name: str) -> int:
        user_id = snowflake_for(name)
        if user_id not in self.names:
            roles = [MANAGERS_ROLE] if name == "boss" and self.guild_id == NEW_GUILD else []
            self.fake.add_member(self.guild_id, name, roles=roles, id=user_id)
            self.names[user_id] = name
        return user_id


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[App, DiscordFake]]:
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordFake() as fake:
        fake.add_guild(
            id=CONFIG_GUILD,
            name="Alpha",
            roles=[FakeRole(id=KEEPERS_ROLE, name="keepers")],
            channels=[FakeChannel(id=GENERAL[CONFIG_GUILD], name="general")],
        )
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
            CONFIG,
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
        )
        app = App(settings, http=False, timer=False, resolver=fake_resolver)
        try:
            await app.start()
            yield app, fake
        finally:
            await app.stop()
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


async def _community(app: App, fake: DiscordFake, key: str) -> Community:
    communities = app.services.communities
    assert communities is not None
    return await fake.wait_for(lambda: communities.by_key(key))


async def test_a_joined_guild_is_set_up_by_its_managers_and_stops_when_left(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (app, fake):
        fake.add_guild(
            id=NEW_GUILD,
            name="Newcomers",
            roles=[FakeRole(id=MANAGERS_ROLE, name="managers", permissions=MANAGE_GUILD)],
            channels=[
                FakeChannel(id=GENERAL[NEW_GUILD], name="general"),
                FakeChannel(id=NEWS, name="news"),
            ],
        )
        made = await _community(app, fake, NEW_KEY)
        assert made.created and made.settings.community.name == "Newcomers"
        new = GuildDriver(app, fake, None, NEW_GUILD, GENERAL[NEW_GUILD])
        alpha = GuildDriver(app, fake, None, CONFIG_GUILD, GENERAL[CONFIG_GUILD])
        await sync_tree(new.adapter.tree, [])

        refused = await new.say(f"/communitybot channel add <#{NEWS}>", as_="olu")
        assert "Only maintainers can use" in refused.text, refused.text
        bad = await new.say("/communitybot channel add news-please", as_="boss")
        assert "is not a channel" in bad.text, bad.text
        added = await new.say(f"/communitybot channel add <#{NEWS}>", as_="boss")
        assert added.text.startswith(f"Added `{NEWS}` to the announce channels"), added.text
        assert (await _community(app, fake, NEW_KEY)).settings.discord.announce_channels == [NEWS]
        # Named by a manager, olu is a maintainer too.
        named = await new.say("/communitybot maintainer add @olu", as_="boss")
        assert named.text == "@olu is now a maintainer of Newcomers.", named.text
        audit = await new.say("/communitybot audit", as_="olu")
        assert "/communitybot channel add" in audit.text, audit.text
        assert "/communitybot maintainer add" in audit.text, audit.text

        # The configured community is the config's: boss manages nothing there.
        owned = await alpha.say(f"/communitybot channel add <#{NEWS}>", as_="boss")
        assert "Only maintainers can use" in owned.text, owned.text

        # A post for tomorrow waits; then the bot is removed from the guild.
        tomorrow = f"{datetime.now(UTC) + timedelta(days=1):%Y-%m-%d} 09:00"
        queued = await new.say(f'/announce --at "{tomorrow}" --yes Hello all', as_="boss")
        assert "to 1 announce channel (1 on Discord)" in queued.text, queued.text
        await fake.remove_guild(NEW_GUILD)
        communities = app.services.communities
        assert communities is not None
        await fake.wait_for(lambda: communities.by_key(NEW_KEY) is None)
        async with app.db.sessions() as session:
            rows = (
                await session.scalars(select(Delivery).where(Delivery.community_id == made.id))
            ).all()
        assert rows and all(r.state == DeliveryState.FAILED for r in rows)
        assert {r.last_error for r in rows} == {"not sent: the bot was removed from this server"}
        assert await app.run_due(datetime.now(UTC) + timedelta(days=2)) == 0


async def test_a_configured_guild_refuses_set_up_commands(tmp_path: Path) -> None:
    async with running(tmp_path) as (app, fake):
        alpha = GuildDriver(app, fake, None, CONFIG_GUILD, GENERAL[CONFIG_GUILD])
        fake.add_member(CONFIG_GUILD, "keeper", roles=[KEEPERS_ROLE], id=snowflake_for("keeper"))
        alpha.names[snowflake_for("keeper")] = "keeper"
        await sync_tree(alpha.adapter.tree, [])
        said = await alpha.say(f"/communitybot channel add <#{NEWS}>", as_="keeper")
        assert said.text == (
            "The config file owns this community's announce channels; change them there "
            "and restart the bot."
        ), said.text
        said = await alpha.say("/communitybot maintainer add @olu", as_="keeper")
        assert "config file owns this community's maintainers" in said.text, said.text
