"""The Discord driver: the whole bot on a real discord.py client, talking to the fake Discord.

A scenario's command line is parsed with the core's own grammar only to learn which options
a person would fill in Discord's UI; it then travels as a real INTERACTION_CREATE with typed
options (`@name` becomes a USER option with a stable snowflake per name). What the asker
"saw" is read back from what the bot sent the fake — interaction callbacks, follow-ups and
channel posts — turned into plain text.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import yarl

from bot.adapters.console import split_command
from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.sync import sync_tree
from bot.app import App
from bot.core import grammar
from bot.core.commands import ArgType
from bot.core.errors import UserError
from bot.core.invocation import Platform
from bot.core.times import format_fallback
from bot.core.urls import Resolver
from bot.runtime.feature import Feature
from bot.store.members import zone_of
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeRole
from tests.fakes.discord_payloads import FLAG_EPHEMERAL
from tests.scenarios.driver import MAINTAINERS, PEOPLE, Said

GUILD_ID = 920000000000000001
GENERAL_ID = 930000000000000001
DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 6, 7, 9


def snowflake_for(name: str) -> int:
    """A stable Discord id per scenario name."""
    return 700000000000000000 + zlib.crc32(name.encode())


@dataclass
class DiscordSaid(Said):
    message_id: int = 0  # the message carrying the buttons


_TIME = re.compile(r"<t:(-?\d+):F> \(<t:-?\d+:R>\)")
_LINK = re.compile(r"\[((?:[^\]\\]|\\.)*)\]\(<([^>]*)>\)")
_BARE_LINK = re.compile(r"<(https?://[^>]+)>")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_ESCAPED = re.compile(r"\\(.)")


class DiscordDriver:
    platform = Platform.DISCORD
    structured = True

    def __init__(
        self,
        app: App,
        fake: DiscordFake,
        maintainer_role: int | None,
        guild_id: int = GUILD_ID,
        channel_id: int = GENERAL_ID,
    ) -> None:
        self.app = app
        self.fake = fake
        self.maintainer_role = maintainer_role
        # The guild and channel people type in (two drivers on one app are two guilds).
        self.guild_id, self.channel_id = guild_id, channel_id
        adapter = app.adapters[Platform.DISCORD]
        assert isinstance(adapter, DiscordAdapter)
        self.adapter = adapter
        self.names: dict[int, str] = {}
        for name in PEOPLE:
            self.person(name)

    def person(self, name: str) -> int:
        """The Discord id of `name`, adding them to the guild on first mention."""
        user_id = snowflake_for(name)
        if user_id not in self.names:
            roles = [self.maintainer_role] if name in MAINTAINERS and self.maintainer_role else []
            self.fake.add_member(self.guild_id, name, roles=roles, id=user_id)
            self.names[user_id] = name
        return user_id

    # -- plain text, as a reader would see Discord's rendering --

    async def plain(self, content: str, reader: str | None) -> str:
        zone = None
        if reader is not None:
            # The reader's Discord client shows <t:…> in their zone: the one they set here.
            async with self.app.db.sessions() as session:
                zone = await zone_of(
                    session,
                    self.app.services.community_id,
                    str(Platform.DISCORD),
                    str(self.person(reader)),
                )
        zone = zone or self.app.settings.community.timezone

        def when(m: re.Match[str]) -> str:
            return format_fallback(datetime.fromtimestamp(int(m.group(1)), UTC), zone)

        text = _TIME.sub(when, content)
        text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
        text = _BARE_LINK.sub(lambda m: m.group(1), text)
        text = _USER.sub(lambda m: "@" + self.names.get(int(m.group(1)), m.group(1)), text)
        text = _ROLE.sub(lambda m: f"@role{m.group(1)}", text)
        text = text.replace("**", "").replace("\u200b", "")
        text = re.sub(r"^### ", "", text, flags=re.MULTILINE)
        text = re.sub(r"^- ", "  • ", text, flags=re.MULTILINE)
        return _ESCAPED.sub(lambda m: m.group(1), text)

    async def _said(self, messages: list[dict[str, Any]], reader: str) -> DiscordSaid:
        texts = [await self.plain(_shown(m), reader) for m in messages]
        buttons: list[tuple[str, str]] = []
        carrier = 0
        for m in messages:
            for row in m.get("components") or []:
                for c in row.get("components", []):
                    buttons.append((c.get("label", ""), c["custom_id"]))
                    carrier = int(m["id"])
        public = bool(messages) and not messages[0]["flags"] & FLAG_EPHEMERAL
        return DiscordSaid("\n".join(texts), buttons, public, carrier)

    async def _settle(self, interaction_id: int) -> None:
        """Until the interaction is acknowledged and the bot has finished answering it."""
        record = self.fake.interactions[interaction_id]
        await self.fake.wait_for(lambda: record.callback and not self.adapter.busy, within=10)

    # -- the Driver interface --

    def _options(self, spec: Any, raw: dict[str, object]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for arg in (*spec.args, *spec.all_options):
            value = raw.get(arg.name)
            if value is None:
                continue
            if arg.type is ArgType.MEMBER:
                options[arg.name] = self.person(str(value).lstrip("@"))
            elif arg.type is ArgType.FLAG:
                options[arg.name] = True
            elif arg.type is ArgType.INT:
                options[arg.name] = int(str(value))  # Discord's client accepts only numbers
            else:
                options[arg.name] = str(value)
        return options

    async def say(self, text: str, *, as_: str = "olu") -> Said:
        parts = split_command(text)
        assert parts is not None, f"not a command: {text!r}"
        command, rest = parts
        group = self.app.services.registry.groups[command]
        try:
            parsed = grammar.parse(group, rest)
        except UserError as exc:
            # What the person typed has no Discord spelling; other platforms answer this.
            return DiscordSaid(exc.sentence)
        spec = parsed.spec
        path = spec.path or group.default or ()
        iid = await self.fake.send_interaction(
            " ".join((spec.command, *path)),
            user_id=self.person(as_),
            guild_id=self.guild_id,
            channel_id=self.channel_id,
            options=self._options(spec, parsed.raw),
        )
        await self._settle(iid)
        if self.fake.interactions[iid].callback_type == MODAL:
            # The free text was left out: the form opens, and is sent back as it was typed.
            iid = await self.fake.submit_modal(iid, {})
            await self._settle(iid)
        return await self._said(self.fake.replies(iid), as_)

    async def press(self, said: Said, button: str, *, as_: str = "olu") -> Said:
        assert isinstance(said, DiscordSaid) and said.message_id, "no message with buttons"
        pressed = self.fake.messages[said.message_id]
        edits_before = pressed.edits
        iid = await self.fake.send_component(
            said.button(button), message_id=said.message_id, user_id=self.person(as_)
        )
        await self._settle(iid)
        record = self.fake.interactions[iid]
        if record.callback_type in (UPDATE_MESSAGE, DEFERRED_UPDATE):
            # The pressed message was replaced (or not), plus whatever followed up.
            followups = [self.fake.messages[m].payload for m in record.followup_ids]
            replaced = [pressed.payload] if pressed.edits > edits_before else []
            return await self._said(replaced + followups, as_)
        return await self._said(self.fake.replies(iid), as_)

    async def channel_posts(self) -> list[str]:
        posts = [
            m.payload
            for m in self.fake.messages.values()
            if not m.deleted and "interaction_metadata" not in m.payload
        ]
        return [await self.plain(p["content"], None) for p in posts]

    async def run_due(self) -> int:
        return await self.app.run_due()


@asynccontextmanager
async def discord_driver(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    resolver: Resolver,
    extra_features: Sequence[Feature] = (),
    database: str | None = None,
) -> AsyncIterator[DiscordDriver]:
    section = config.get("discord", {})
    roles = section.get("maintainer_roles") or []
    channels = {*section.get("announce_channels", []), GENERAL_ID}
    if section.get("maintainer_channel"):
        channels.add(section["maintainer_channel"])
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordFake() as fake:
        role_list = [FakeRole(id=r, name=f"role{r}") for r in roles]
        if section.get("announce_ping"):
            role_list.append(FakeRole(id=section["announce_ping"], name="ping"))
        fake.add_guild(
            id=GUILD_ID,
            name="Scenario Guild",
            roles=role_list,
            channels=[FakeChannel(id=c, name=f"c{c}") for c in sorted(channels)],
        )
        settings = make_settings(
            database or f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
            config,
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
        )
        app = App(
            settings, http=False, timer=False, resolver=resolver, extra_features=extra_features
        )
        try:
            await app.start()
            driver = DiscordDriver(app, fake, roles[0] if roles else None)
            await sync_tree(driver.adapter.tree, [])
            yield driver
        finally:
            await app.stop()
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


DRIVER = discord_driver


def _shown(message: dict[str, Any]) -> str:
    """A message's text as Discord shows it: its content, then each embed's title and text
    (a long answer comes as embeds, one a section, the section's heading its title)."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n\n".join(p for p in parts if p)
