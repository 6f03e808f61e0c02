"""A workspace that installed the bot gets a community of its own (`open_installs`); its
maintainers set it up with `/communitybot channel|maintainer|page`, through signed HTTP into
bolt; it shares nothing with the configured community beside it; and the config's own
communities (on Slack and at the console) refuse these commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App
from bot.core.invocation import Platform
from tests.conftest import make_settings
from tests.fakes.slack_api import SlackFake
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver_console import console_driver
from tests.scenarios.driver_slack import BOT_TOKEN, SlackDriver, user_id

CONFIG_TEAM, NEW_TEAM = "T0FAKE0001", "T0FAKE0009"
NEW_KEY = "slack-t0fake0009"

CONFIG: dict[str, Any] = {
    "deployment": {"open_installs": True},
    "communities": [
        {
            "key": "alpha",
            "name": "Alpha",
            "slack": {"team_ids": [CONFIG_TEAM], "maintainers": [user_id("maya")]},
        }
    ],
}


@asynccontextmanager
async def workspaces(
    tmp_path: Path, installer: str | None = "boss"
) -> AsyncIterator[tuple[App, SlackDriver, SlackDriver]]:
    async with SlackFake(bot_token=BOT_TOKEN) as fake:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
            CONFIG,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            http_port=0,
            public_url="https://bot.example.org",
        )
        app = App(settings, timer=False, resolver=fake_resolver)
        await app.start()
        try:
            communities = app.services.communities
            assert communities is not None
            # What the OAuth install does once Slack has answered oauth.v2.access (a start
            # without an install finds the community in the database).
            made = communities.by_key(NEW_KEY) if installer is None else None
            made = made or await communities.joined(
                Platform.SLACK,
                NEW_TEAM,
                name="Newcomers",
                maintainer=user_id(installer) if installer else None,
            )
            assert made is not None and made.key == NEW_KEY
            yield app, SlackDriver(app, fake, team_id=NEW_TEAM), SlackDriver(app, fake, CONFIG_TEAM)
        finally:
            await app.stop()


async def test_the_installer_sets_the_community_up(tmp_path: Path) -> None:
    async with workspaces(tmp_path) as (app, new, _alpha):
        communities = app.services.communities
        assert communities is not None

        def own() -> Any:
            found = communities.by_key(NEW_KEY)
            assert found is not None
            return found.own

        help_text = (await new.say("/communitybot help", as_="olu")).text
        for usage in ("channel add", "channel remove", "maintainer add", "page"):
            assert f"/communitybot {usage}" in help_text, help_text

        refused = await new.say("/communitybot channel add #news", as_="olu")
        assert refused.text.startswith("Only maintainers can use"), refused.text
        added = await new.say("/communitybot channel add #news", as_="boss")
        assert added.text.startswith("Added `CNEWS` to the announce channels (now 1)"), added.text
        again = await new.say("/communitybot channel add #news", as_="boss")
        assert again.text == "That channel is already an announce channel; nothing changed."
        bad = await new.say("/communitybot channel add news!", as_="boss")
        assert bad.text == "“news!” is not a channel; mention it, like #announcements."
        missing = await new.say("/communitybot channel remove #random", as_="boss")
        assert missing.text == "That channel is not an announce channel; nothing changed."
        assert own().announce_channels == ("CNEWS",)

        named = await new.say("/communitybot maintainer add @olu", as_="boss")
        assert named.text == "@olu is now a maintainer of Newcomers.", named.text
        assert (await new.say("/communitybot audit", as_="olu")).text.startswith("The last")
        gone = await new.say("/communitybot maintainer remove @boss", as_="olu")
        assert gone.text == "@boss is no longer a maintainer.", gone.text
        last = await new.say("/communitybot maintainer remove @olu", as_="olu")
        assert last.text.startswith("That is the last maintainer"), last.text
        assert own().maintainers == (user_id("olu"),)
        nobody = await new.say("/communitybot maintainer add someone", as_="olu")
        assert "I can't tell who" in nobody.text, nobody.text
        assert own().maintainers == (user_id("olu"),)

        assert communities.by_key(NEW_KEY).settings.file.section("web").public_page is False  # type: ignore[union-attr]
        on = await new.say("/communitybot page on", as_="olu")
        assert on.text == f"The public page is now on, at https://bot.example.org/c/{NEW_KEY}/."
        assert own().public_page is True
        off = await new.say("/communitybot page off", as_="olu")
        assert off.text.startswith("The public page is now off"), off.text
        wrong = await new.say("/communitybot page maybe", as_="olu")
        assert wrong.text == "<state> must be one of: on, off.", wrong.text

        audit = (await new.say("/communitybot audit", as_="olu")).text
        for action in ("channel add", "maintainer add", "maintainer remove", "page"):
            assert f"/communitybot {action}" in audit, audit
    # A restart serves what was set.
    async with workspaces(tmp_path, installer=None) as (app, new, _alpha):
        found = app.services.communities.by_key(NEW_KEY)  # type: ignore[union-attr]
        assert found is not None
        assert found.settings.slack.announce_channels == ["CNEWS"]
        assert found.settings.slack.maintainers == [user_id("olu")]
        assert (await new.say("/communitybot audit", as_="olu")).text.startswith("The last")


def _start(days: int) -> str:
    return f'"{(datetime.now(UTC) + timedelta(days=days)):%Y-%m-%d} 09:00 UTC"'


async def test_a_created_and_a_configured_community_share_nothing(tmp_path: Path) -> None:
    async with workspaces(tmp_path) as (_app, new, alpha):
        created = await asyncio.gather(
            new.say(f'/meeting create sync --name "New Sync" --start {_start(3)}', as_="boss"),
            alpha.say(f'/meeting create sync --name "Alpha Sync" --start {_start(3)}', as_="maya"),
        )
        assert [c.text.split(" (")[0] for c in created] == [
            "Created New Sync",
            "Created Alpha Sync",
        ]
        new_next = (await new.say("/meeting next", as_="olu")).text
        alpha_next = (await alpha.say("/meeting next", as_="olu")).text
        assert "New Sync" in new_next and "Alpha Sync" not in new_next
        assert "Alpha Sync" in alpha_next and "New Sync" not in alpha_next
        # Each one's maintainer is a member like any other in the other.
        assert "Only maintainers" in (await alpha.say("/meeting cancel sync", as_="boss")).text
        assert "Only maintainers" in (await new.say("/meeting cancel sync", as_="maya")).text
        # The config owns the configured community's set-up.
        owned = await alpha.say("/communitybot channel add #news", as_="maya")
        assert owned.text == (
            "The config file owns this community's announce channels; change them there and "
            "restart the bot."
        )
        assert "config file owns" in (await alpha.say("/communitybot page on", as_="maya")).text


async def test_the_console_community_is_the_configs(tmp_path: Path) -> None:
    config = {"community": {"name": "Solo"}}
    async with console_driver(tmp_path, config, resolver=fake_resolver) as console:
        said = await console.say("/communitybot maintainer add @olu", as_="maya")
        assert said.text == (
            "The config file owns this community's maintainers; change them there and "
            "restart the bot."
        )
        said = await console.say("/communitybot channel add C0NEWS", as_="maya")
        assert "config file owns this community's announce channels" in said.text
        refused = await console.say("/communitybot page on", as_="olu")
        assert refused.text.startswith("Only maintainers can use"), refused.text
