"""Announcements on one bot with Slack AND Discord configured, against both fakes at once.

One /announce typed on either platform lands once in every announce channel on both; edits
and deletes reach every copy; 429s from either platform delay copies but lose or double
none; text that looks like a mention pings nobody; --ping pings the configured target only.
Time is explicit: the app's clock is a value the test sets, and deliveries run through
`app.run_due(now)`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.adapters.discord.sync import sync_tree
from bot.app import App
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeRole
from tests.fakes.slack_api import PostedMessage, SlackFake
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG, Said
from tests.scenarios.driver_discord import GENERAL_ID, GUILD_ID, MODAL, DiscordDriver
from tests.scenarios.driver_slack import BOT_TOKEN, COMMAND_CHANNEL, SlackDriver, user_id
from tests.support.clock import Clock

SLACK_CHANNEL = SCENARIO_CONFIG["slack"]["announce_channels"][0]
DISCORD_CHANNEL = SCENARIO_CONFIG["discord"]["announce_channels"][0]
MAINTAINER_ROLE = SCENARIO_CONFIG["discord"]["maintainer_roles"][0]
PING_ROLE = SCENARIO_CONFIG["discord"]["announce_ping"]
POST_ROUTE = "/channels/{channel_id}/messages"
MESSAGE_ROUTE = "/channels/{channel_id}/messages/{message_id}"

# Everything a person might type hoping to ping, in the forms each platform delivers it.
SLACK_TYPED_MENTIONS = (
    "<!channel> <!here> <!everyone> <@U0EVIL> <@W0EVIL|evil> <!subteam^S0EVIL|@devs> "
    "@everyone @here <@&123456789012345678>"
)
DISCORD_TYPED_MENTIONS = (
    "@everyone @here <!channel> <!here> <!everyone> <@U0EVIL> <!subteam^S0EVIL> "
    "<@&123456789012345678> <@&900000000000000002> <@700000000000000001> <@!700000000000000001>"
)
# A live Slack ping is one of these tokens in mrkdwn (or the notification text).
_SLACK_LIVE = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^[^>]+>|<@[UW]\w+")


@dataclass
class Both:
    app: App
    clock: Clock
    slack: SlackDriver
    discord: DiscordDriver
    slack_fake: SlackFake
    discord_fake: DiscordFake

    async def run_due(self, span: timedelta = timedelta(0)) -> int:
        sent = await self.app.run_due(self.clock.advance(span))
        await self.slack.adapter.drain()
        return sent

    async def _foreign_refs(self) -> set[str]:
        """Message ids other features' deliveries posted (a Hero call for nominations…)."""
        from sqlalchemy import select

        async with self.app.db.sessions() as session:
            refs = await session.scalars(
                select(Delivery.message_ref).where(
                    Delivery.kind.not_like("announcement%"), Delivery.message_ref.is_not(None)
                )
            )
            return {i for ref in refs for i in ref.rpartition("/")[2].split(",") if i}

    async def slack_posts(self) -> list[PostedMessage]:
        """What is in Slack's announce channel now, apart from other features' posts."""
        foreign = await self._foreign_refs()
        return [m for m in self.slack_fake.posted(SLACK_CHANNEL) if m.ts not in foreign]

    async def discord_posts(self) -> list[Any]:
        foreign = await self._foreign_refs()
        return [
            m
            for m in self.discord_fake.messages.values()
            if not m.deleted
            and m.payload["channel_id"] == str(DISCORD_CHANNEL)
            and m.payload["id"] not in foreign
        ]

    async def slack_raw(self, command: str, text: str, *, as_: str) -> Said:
        """A slash command with `text` exactly as Slack's servers would send it."""
        sent = await self.slack_fake.slash_command(
            self.slack.url,
            command,
            text,
            user_id=self.slack._person(as_),
            user_name=as_,
            channel_id=COMMAND_CHANNEL,
        )
        await self.slack.adapter.drain()
        bodies = self.slack._ack_body(sent.http) + [
            p.body for p in self.slack_fake.responses(sent.response_url)
        ]
        return self.slack._said(bodies, COMMAND_CHANNEL)

    async def rows(self, kind: str = "announcement") -> list[Delivery]:
        from sqlalchemy import select

        async with self.app.db.sessions() as session:
            found = await session.scalars(
                select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)
            )
            return list(found.all())


@asynccontextmanager
async def both_platforms(
    tmp_path: Path, config: Mapping[str, Any], clock: Clock | None = None
) -> AsyncIterator[Both]:
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    section = config["discord"]
    async with SlackFake(bot_token=BOT_TOKEN) as slack_fake, DiscordFake() as discord_fake:
        slack_fake.add_channel(SLACK_CHANNEL, "announcements")
        discord_fake.add_guild(
            id=GUILD_ID,
            name="Both Guild",
            roles=[
                FakeRole(id=MAINTAINER_ROLE, name="maintainers"),
                FakeRole(id=PING_ROLE, name="ping"),
            ],
            channels=[
                FakeChannel(id=c, name=f"c{c}")
                for c in sorted(
                    {*section["announce_channels"], section["maintainer_channel"], GENERAL_ID}
                )
            ],
        )
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'both.db'}",
            config,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=slack_fake.signing_secret,
            slack_api_url=slack_fake.api_url,
            discord_token=discord_fake.token,
            discord_api_url=discord_fake.api_url,
            discord_gateway_url=discord_fake.gateway_url,
            http_port=0,
        )
        clock = clock or Clock()
        app = App(settings, timer=False, resolver=fake_resolver, clock=clock)
        try:
            await app.start()
            slack = SlackDriver(app, slack_fake)
            disc = DiscordDriver(app, discord_fake, MAINTAINER_ROLE)
            await sync_tree(disc.adapter.tree, [])
            # Other features post at start (a Hero call for nominations): out of the way first.
            await app.run_due(clock.now)
            await slack.adapter.drain()
            yield Both(app, clock, slack, disc, slack_fake, discord_fake)
        finally:
            await app.stop()
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


@pytest.fixture
async def both(tmp_path: Path, clock: Clock) -> AsyncIterator[Both]:
    async with both_platforms(tmp_path, SCENARIO_CONFIG, clock) as pair:
        yield pair


def _slack_text(post: PostedMessage) -> str:
    return "\n".join(
        [post.text] + [b["text"]["text"] for b in post.blocks or [] if b.get("type") == "section"]
    )


def _slack_live_pings(post: PostedMessage) -> list[str]:
    """The ping tokens Slack would act on: in mrkdwn block text and the notification text."""
    found = _SLACK_LIVE.findall(post.text)
    for block in post.blocks or []:
        text = block.get("text") or {}
        if text.get("type") == "mrkdwn":
            found += _SLACK_LIVE.findall(text.get("text", ""))
    return found


def _discord_content(message: Any) -> str:
    return str(message.payload["content"])


def _ids(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"#(\d+)", text)]


# -- one command, every platform --


async def test_announce_from_slack_lands_once_on_slack_and_discord(both: Both) -> None:
    preview = await both.slack.say("/announce Try the latest edge, please", as_="maya")
    assert "2 announce channels (1 on Slack, 1 on Discord)" in preview.text
    await both.run_due()
    assert await both.slack_posts() == [] and await both.discord_posts() == []

    await both.slack.press(preview, "confirm", as_="maya")
    await both.run_due()
    [slack_post] = await both.slack_posts()
    [discord_post] = await both.discord_posts()
    assert "Try the latest edge, please" in _slack_text(slack_post)
    assert "Try the latest edge, please" in _discord_content(discord_post)
    rows = await both.rows()
    assert sorted(r.target for r in rows) == [
        f"discord:channel:{DISCORD_CHANNEL}",
        f"slack:channel:{SLACK_CHANNEL}",
    ]
    assert all(r.state == DeliveryState.SENT and r.message_ref for r in rows)
    # Running again sends nothing more.
    assert await both.run_due(timedelta(minutes=10)) == 0
    assert len(await both.slack_posts()) == 1 and len(await both.discord_posts()) == 1


async def test_announce_from_discord_lands_once_on_discord_and_slack(both: Both) -> None:
    preview = await both.discord.say("/announce post Community call moved to 17:00", as_="mo")
    assert "2 announce channels" in preview.text
    done = await both.discord.press(preview, "confirm", as_="mo")
    assert "on its way" in done.text
    await both.run_due()
    [slack_post] = await both.slack_posts()
    [discord_post] = await both.discord_posts()
    assert "Community call moved to 17:00" in _slack_text(slack_post)
    assert "Community call moved to 17:00" in _discord_content(discord_post)


async def test_discord_form_for_multi_line_text(both: Both) -> None:
    iid = await both.discord_fake.send_interaction(
        "announce post",
        user_id=both.discord.person("maya"),
        guild_id=GUILD_ID,
        channel_id=GENERAL_ID,
        options={"yes": True},
    )
    await both.discord._settle(iid)
    assert both.discord_fake.interactions[iid].callback_type == MODAL
    submitted = await both.discord_fake.submit_modal(iid, {"text": "Line one\nLine two"})
    await both.discord._settle(submitted)
    await both.run_due()
    [discord_post] = await both.discord_posts()
    assert "Line one\nLine two" in _discord_content(discord_post)
    assert "Line one\nLine two" in _slack_text((await both.slack_posts())[0])


# -- rate limits --


async def test_429s_on_both_platforms_delay_but_lose_and_double_nothing(both: Both) -> None:
    # Long waits are handed back to the delivery loop (no claim is held while sleeping) ...
    both.slack_fake.inject_rate_limit("chat.postMessage", retry_after=30, times=2)
    both.discord_fake.rate_limit("POST", POST_ROUTE, count=1, retry_after=45)
    said = await both.slack.say("/announce --yes Release candidate 3 is out", as_="maya")
    assert "on its way" in said.text

    await both.run_due()
    assert await both.slack_posts() == [] and await both.discord_posts() == []
    waiting = await both.rows()
    assert {r.state for r in waiting} == {DeliveryState.PENDING}
    assert all("rate" in (r.last_error or "") for r in waiting)

    # ... and honoured: nothing is retried before Retry-After has passed.
    await both.run_due(timedelta(seconds=20))
    assert await both.slack_posts() == [] and await both.discord_posts() == []
    await both.run_due(timedelta(seconds=30))  # 50 s: Discord's 45 s are over; Slack's 2nd 429
    assert len(await both.discord_posts()) == 1 and await both.slack_posts() == []
    await both.run_due(timedelta(seconds=31))
    await both.run_due(timedelta(minutes=5))
    assert len(await both.slack_posts()) == 1 and len(await both.discord_posts()) == 1
    assert [r.state for r in await both.rows()] == [DeliveryState.SENT] * 2
    tries = [
        c
        for c in both.slack_fake.calls("chat.postMessage")
        if "Release candidate 3" in str(c.args.get("text"))
    ]
    assert len(tries) == 3  # two 429s, one post


async def test_short_429s_are_retried_in_line_once_each(both: Both) -> None:
    both.discord_fake.rate_limit("POST", POST_ROUTE, count=2, retry_after=0.05)
    await both.discord.say("/announce post --yes Quick news", as_="maya")
    await both.run_due()
    assert len(await both.discord_posts()) == 1 and len(await both.slack_posts()) == 1


async def test_edits_and_deletes_survive_429s_and_reach_every_copy(both: Both) -> None:
    said = await both.slack.say("/announce --yes Meetup on Friday", as_="maya")
    [ident] = _ids(said.text)
    await both.run_due()
    [slack_post], [discord_post] = await both.slack_posts(), await both.discord_posts()

    both.slack_fake.inject_rate_limit("chat.update", retry_after=30)
    both.discord_fake.rate_limit("PATCH", MESSAGE_ROUTE, count=1, retry_after=40)
    edited = await both.discord.say(f"/announce edit {ident} Meetup on Saturday", as_="mo")
    assert "2 posted copies are being edited" in edited.text
    await both.run_due()
    assert "Friday" in _slack_text(slack_post) and "Friday" in _discord_content(discord_post)
    await both.run_due(timedelta(seconds=41))
    await both.run_due(timedelta(minutes=5))
    assert "Meetup on Saturday" in _slack_text(slack_post) and slack_post.edits == 1
    assert "Meetup on Saturday" in _discord_content(discord_post) and discord_post.edits == 1
    assert await both.slack_posts() == [slack_post] and await both.discord_posts() == [discord_post]

    both.slack_fake.inject_rate_limit("chat.delete", retry_after=30)
    both.discord_fake.rate_limit("DELETE", MESSAGE_ROUTE, count=1, retry_after=40)
    deleted = await both.slack.say(f"/announce delete {ident}", as_="maya")
    assert "being removed from 2 channels" in deleted.text
    await both.run_due()
    assert await both.slack_posts() and await both.discord_posts()
    await both.run_due(timedelta(seconds=41))
    await both.run_due(timedelta(minutes=5))
    assert await both.slack_posts() == [] and await both.discord_posts() == []
    states = {r.kind: r.state for r in await both.rows("announcement_delete")}
    assert states == {"announcement_delete": DeliveryState.SENT}


async def test_a_failed_copy_is_recorded_and_the_rest_still_go_out(both: Both) -> None:
    both.slack_fake.inject_channel_error(SLACK_CHANNEL, "channel_not_found")
    said = await both.discord.say("/announce post --yes Survey closes soon", as_="maya")
    [ident] = _ids(said.text)
    await both.run_due()
    assert len(await both.discord_posts()) == 1
    listed = await both.discord.say("/announce list", as_="maya")
    assert f"#{ident}" in listed.text
    assert "posted to 1 of 2" in listed.text and "1 failed (channel_not_found" in listed.text


# -- mentions --


async def test_mention_syntax_from_slack_pings_nobody_anywhere(both: Both) -> None:
    said = await both.slack_raw("/announce", f"--yes Hi {SLACK_TYPED_MENTIONS} bye", as_="maya")
    assert "on its way" in said.text, said.text
    await both.run_due()
    [slack_post] = await both.slack_posts()
    [discord_post] = await both.discord_posts()
    assert _slack_live_pings(slack_post) == []
    assert not slack_post.raw.get("link_names") and slack_post.raw.get("parse") != "full"
    assert discord_post.pings == {"users": [], "roles": [], "everyone": False}
    assert discord_post.allowed_mentions["parse"] == []
    # The words are still there to read.
    assert "everyone" in _discord_content(discord_post) and "subteam" in _slack_text(slack_post)


async def test_mention_syntax_from_discord_pings_nobody_anywhere(both: Both) -> None:
    await both.discord.say(f"/announce post --yes Hi {DISCORD_TYPED_MENTIONS} bye", as_="maya")
    await both.run_due()
    [slack_post] = await both.slack_posts()
    [discord_post] = await both.discord_posts()
    assert _slack_live_pings(slack_post) == []
    assert discord_post.pings == {"users": [], "roles": [], "everyone": False}
    assert discord_post.payload["mention_everyone"] is False
    assert discord_post.payload["mention_roles"] == []


async def test_an_edit_cannot_smuggle_in_a_ping(both: Both) -> None:
    said = await both.slack.say("/announce --yes harmless", as_="maya")
    [ident] = _ids(said.text)
    await both.run_due()
    await both.slack_raw("/announce", f"edit {ident} now {SLACK_TYPED_MENTIONS}", as_="maya")
    await both.run_due()
    [slack_post], [discord_post] = await both.slack_posts(), await both.discord_posts()
    assert slack_post.edits == 1 and discord_post.edits == 1
    assert _slack_live_pings(slack_post) == []
    assert discord_post.pings == {"users": [], "roles": [], "everyone": False}


async def test_ping_flag_pings_the_configured_targets_only(both: Both) -> None:
    await both.slack_raw("/announce", "--yes --ping Release day! <!channel> <@U0EVIL>", as_="mo")
    await both.run_due()
    [slack_post] = await both.slack_posts()
    [discord_post] = await both.discord_posts()
    assert _slack_live_pings(slack_post) and set(_slack_live_pings(slack_post)) == {"<!here>"}
    assert discord_post.pings == {"users": [], "roles": [PING_ROLE], "everyone": False}


# -- permission --


async def test_members_are_refused_on_both_platforms_and_nothing_is_posted(both: Both) -> None:
    for say in (both.slack.say, both.discord.say):
        said = await say("/announce post --yes member news", as_="olu")
        assert said.text.startswith("Only maintainers can use"), said.text
    for driver in (both.slack, both.discord):
        preview = await driver.say("/announce post maintainer news", as_="maya")
        pressed = await driver.press(preview, "confirm", as_="olu")
        assert "Only the person who asked" in pressed.text
    await both.run_due(timedelta(minutes=1))
    assert await both.slack_posts() == [] and await both.discord_posts() == []
    assert await both.rows() == []


async def test_a_maintainer_who_lost_the_role_cannot_confirm(tmp_path: Path) -> None:
    config = {**SCENARIO_CONFIG, "slack": {**SCENARIO_CONFIG["slack"]}}
    async with both_platforms(tmp_path, config) as pair:
        preview = await pair.slack.say("/announce post stale preview", as_="maya")
        pair.app.settings.file.slack.maintainers.remove(user_id("maya"))
        pressed = await pair.slack.press(preview, "confirm", as_="maya")
        assert pressed.text.startswith("Only maintainers can use"), pressed.text
        await pair.run_due()
        assert await pair.slack_posts() == [] and await pair.discord_posts() == []


async def test_every_announce_channel_on_every_platform_gets_one_copy(tmp_path: Path) -> None:
    config = {
        **SCENARIO_CONFIG,
        "slack": {**SCENARIO_CONFIG["slack"], "announce_channels": [SLACK_CHANNEL, "CNEWS"]},
        "discord": {
            **SCENARIO_CONFIG["discord"],
            "announce_channels": [DISCORD_CHANNEL, 910000000000000009],
        },
    }
    async with both_platforms(tmp_path, config) as pair:
        pair.slack_fake.add_channel("CNEWS", "news")
        said = await pair.discord.say("/announce post --yes Four places at once", as_="maya")
        assert "4 announce channels (2 on Slack, 2 on Discord)" in said.text
        await pair.run_due()
        await pair.run_due(timedelta(minutes=5))
        slack = [m.channel for m in pair.slack_fake.posted() if "Four places" in m.text]
        discord_ = [
            m.payload["channel_id"]
            for m in pair.discord_fake.messages.values()
            if "Four places" in m.payload["content"]
        ]
        assert sorted(slack) == sorted([SLACK_CHANNEL, "CNEWS"])
        assert sorted(discord_) == sorted([str(DISCORD_CHANNEL), "910000000000000009"])
