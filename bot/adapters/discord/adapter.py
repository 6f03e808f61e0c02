"""Discord: a real discord.py client whose application commands come from the core registry.

Inbound, every slash command, form and button press becomes an Invocation or Press for the
dispatcher (which checks maintainer roles, dedups by interaction id and persists before
answering); outbound, deliveries are posted over REST with `allowed_mentions` that ping
nobody but what a message explicitly allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.answer import (
    RESPOND_WITHIN,
    OnePerTurn,
    answer_command,
    answer_press,
)
from bot.adapters.discord.client import make_client
from bot.adapters.discord.complete import Completions
from bot.adapters.discord.posts import DiscordPosts
from bot.adapters.discord.tree import install, opens_form, schema, schema_hash
from bot.core.commands import Arg, CommandSpec
from bot.core.errors import UserError
from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform, Press
from bot.core.message import Message
from bot.core.targets import Target
from bot.runtime.dispatch import Dispatcher, Prepared
from bot.runtime.permissions import MANAGE_SERVER
from bot.runtime.services import Services

log = logging.getLogger(__name__)

SCHEMA_KEY = "discord.commands.sha256"
CONNECT_TIMEOUT = 60.0
# Reconnecting after discord.py gave up (or could not log in at all): 1 s, doubling to 60 s.
RETRY_FIRST, RETRY_LONGEST = 1.0, 60.0
ANSWER_GRACE = 5.0
MODAL_TITLE_MAX = 45
MODAL_TEXT_MAX = 4000


def describe_failure(exc: BaseException) -> str:
    """One line naming why a connection attempt failed (never the token)."""
    if isinstance(exc, discord.LoginFailure):
        return "Discord refused the token (DISCORD_TOKEN)"
    if isinstance(exc, discord.HTTPException):
        return f"Discord's API answered {exc.status}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the gateway closed the connection with code {exc.code}"
    if isinstance(exc, TimeoutError):
        return "Discord did not answer in time"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def actor_of(interaction: discord.Interaction) -> Actor:
    """Who typed: their role ids, and whether they may manage the server there (the
    interaction carries their permissions in that channel)."""
    user = interaction.user
    roles = {str(r.id) for r in getattr(user, "roles", []) if not r.is_default()}
    if interaction.guild_id is not None and interaction.permissions.manage_guild:
        roles.add(MANAGE_SERVER)
    return Actor(Platform.DISCORD, str(user.id), user.display_name, frozenset(roles), user.bot)


def place_of(interaction: discord.Interaction) -> Place:
    guild_id = interaction.guild_id
    return Place(
        Platform.DISCORD,
        channel_id=str(interaction.channel_id) if interaction.channel_id else None,
        guild_id=str(guild_id) if guild_id else None,
        is_dm=guild_id is None,
    )


def _option(value: Any) -> Any:
    if isinstance(value, discord.User | discord.Member):
        return MemberRef(Platform.DISCORD, str(value.id), value.display_name, value.bot)
    return value


class TextForm(discord.ui.Modal):
    """The multi-line field for a command's free text, left out of the slash command."""

    def __init__(self, adapter: DiscordAdapter, spec: CommandSpec, arg: Arg, options: dict) -> None:
        super().__init__(title=f"/{spec.name}"[:MODAL_TITLE_MAX], timeout=15 * 60)
        self.adapter, self.spec, self.arg, self.options = adapter, spec, arg, options
        self.field: discord.ui.TextInput[TextForm] = discord.ui.TextInput(
            label=(arg.help or arg.name)[:45],
            custom_id=arg.name,
            style=discord.TextStyle.paragraph,
            max_length=min(arg.max_length, MODAL_TEXT_MAX),
            # Optional, so that submitting it empty gets the core's one-sentence answer.
            required=False,
        )
        self.add_item(self.field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        options = self.options | {self.arg.name: self.field.value}
        await self.adapter.run_command(interaction, self.spec, options)


class DiscordAdapter:
    platform = Platform.DISCORD

    def __init__(
        self,
        services: Services,
        dispatcher: Dispatcher,
        web: Any = None,
        *,
        respond_within: float = RESPOND_WITHIN,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        del web  # Discord reaches us through the gateway; no HTTP routes needed
        self.services = services
        self.dispatcher = dispatcher
        self.settings = services.settings
        self.respond_within = respond_within
        self._client_options = client_options or {}
        self.completions = Completions(services)
        self._build_client()
        self._up: set[int] = set()
        self._in_flight = 0  # interactions being answered right now
        self._starts = OnePerTurn()  # see OnePerTurn: answers in a burst leave as they are ready
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        self._guild_arrived = asyncio.Event()
        self._attempt_failed = asyncio.Event()
        self._synced = False

    # -- lifecycle --

    def _build_client(self) -> None:
        """A fresh discord.py client (a closed one cannot log in again), tree and posts."""
        self.client = make_client(self.settings, **self._client_options)
        self.tree = app_commands.CommandTree(self.client)
        # A `--ping` post pings its community's role, known by the channel it is in.
        pings = {
            str(c): s.discord.announce_ping
            for _key, s in self.settings.per_community()
            for c in s.discord.announce_channels
        }
        self.posts = DiscordPosts(self.client, self.settings.discord.announce_ping, pings)
        install(self.tree, self.services.registry, self._on_command, self.completions.complete)
        self._listen()

    def _listen(self) -> None:
        client = self.client
        sharded = isinstance(client, discord.AutoShardedClient)
        wanted = set(self.settings.discord_shard_ids or [0])

        def up(shard_id: int | None) -> None:
            self._up.add(shard_id or 0)
            if self._up >= wanted:
                self._connected.set()

        def down(shard_id: int | None) -> None:
            self._up.discard(shard_id or 0)

        if sharded:

            async def on_shard_connect(shard_id: int) -> None:
                up(shard_id)

            async def on_shard_resumed(shard_id: int) -> None:
                up(shard_id)

            async def on_shard_disconnect(shard_id: int) -> None:
                down(shard_id)

            for handler in (on_shard_connect, on_shard_resumed, on_shard_disconnect):
                client.event(handler)
        else:

            async def on_connect() -> None:
                up(None)

            async def on_resumed() -> None:
                up(None)

            async def on_disconnect() -> None:
                down(None)

            for handler in (on_connect, on_resumed, on_disconnect):
                client.event(handler)

        async def on_guild_available(guild: discord.Guild) -> None:
            self._guild_arrived.set()
            # A guild the bot joined while it was not running is met here first.
            await self._joined(guild)

        async def on_guild_join(guild: discord.Guild) -> None:
            await self._joined(guild)

        async def on_guild_remove(guild: discord.Guild) -> None:
            # Sent for a removal only: an outage's GUILD_DELETE is `guild_unavailable`.
            await self._left(guild)

        for handler in (on_guild_available, on_guild_join, on_guild_remove):
            client.event(handler)

        async def on_interaction(interaction: discord.Interaction) -> None:
            if interaction.type is discord.InteractionType.component:
                await self._on_press(interaction)

        client.event(on_interaction)

    async def _joined(self, guild: discord.Guild) -> None:
        """The community of a guild the bot is in: its config one, or (open_installs) one of
        its own, whose maintainers are the members with Manage Server."""
        communities = self.services.communities
        if communities is None:
            return
        try:
            community = await communities.joined(
                Platform.DISCORD, str(guild.id), name=guild.name or "", maintainer=None
            )
        except Exception:
            log.exception("could not set up the community of guild %s", guild.id)
            return
        if community is None:
            log.info("guild %s is not part of any community (open_installs is off)", guild.id)

    async def _left(self, guild: discord.Guild) -> None:
        communities = self.services.communities
        if communities is None:
            return
        try:
            community = await communities.left(Platform.DISCORD, str(guild.id))
        except Exception:
            log.exception("could not record leaving guild %s", guild.id)
            return
        if community is not None:
            log.info("left guild %s: %s sends nothing there now", guild.id, community.key)

    @property
    def busy(self) -> bool:
        """True while an interaction is still being answered (stop() waits for these)."""
        return self._in_flight > 0

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    @property
    def connected(self) -> bool:
        wanted = set(self.settings.discord_shard_ids or [0])
        return not self.client.is_closed() and self._up >= wanted

    async def start(self) -> None:
        """Connect; returns once connected, or once the first attempt failed.

        Discord being unreachable (its REST API or its gateway) never stops the process: the
        other platforms keep serving, /readyz names Discord "down", and the connection is
        retried with backoff, as Slack's token check is.
        """
        self._task = asyncio.create_task(self._keep_connected(), name="discord")
        waiters = {
            asyncio.ensure_future(self._connected.wait()),
            asyncio.ensure_future(self._attempt_failed.wait()),
        }
        await asyncio.wait(
            {*waiters, self._task}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters:
            waiter.cancel()
        if not self.connected:
            log.warning("Discord is not connected yet; the bot serves without it and keeps trying")

    async def _keep_connected(self) -> None:
        delay = RETRY_FIRST
        while not self._stopping:
            self._connected.clear()
            try:
                await self._connect_once()
                reason = "the gateway connection ended"
            except Exception as exc:
                reason = describe_failure(exc)
            if self._stopping:
                return
            if self._connected.is_set():
                delay = RETRY_FIRST  # it was up: a new outage starts the backoff again
            self._up.clear()
            self._attempt_failed.set()
            log.error("cannot connect to Discord: %s; retrying in %.0f s", reason, delay)
            with contextlib.suppress(Exception):
                await self.client.close()
            self._build_client()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_LONGEST)

    async def _connect_once(self) -> None:
        """Log in over REST, sync the commands once, then hold the gateway connection.

        discord.py reconnects the gateway by itself; this returns or raises only when it gives
        up (or on stop).
        """
        token = self.settings.discord_token
        assert token is not None
        await self.client.login(token.get_secret_value())
        if self.settings.discord_anywhere("sync_on_start") and not self._synced:
            await self.sync_if_changed()
            self._synced = True
        await self.client.connect(reconnect=True)

    async def stop(self) -> None:
        # Answers already being sent finish first, for a bounded time: the connection must
        # still be closed within the app's grace period.
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), ANSWER_GRACE)
        await self.client.close()
        if self._task is not None:
            self._task.cancel()  # it may be waiting to retry
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.debug("Discord connection ended with an error on stop", exc_info=True)
        self._up.clear()

    async def sync_if_changed(self) -> bool:
        """Register the commands when their schema differs from the last one synced."""
        from bot.adapters.discord.sync import store_hash, stored_hash, sync_tree

        digest = schema_hash(schema(self.tree))
        guilds = self.settings.discord_guild_ids
        key = f"{SCHEMA_KEY}:{','.join(map(str, guilds)) or 'global'}"
        if await stored_hash(self.services, key) == digest:
            return False
        await sync_tree(self.tree, guilds)
        await store_hash(self.services, key, digest)
        return True

    async def _guilds_loaded(self, within: float = 10.0) -> None:
        """Until every guild READY announced has arrived (GUILD_CREATE), or `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while any(g.unavailable for g in self.client.guilds) and loop.time() < deadline:
            self._guild_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._guild_arrived.wait(), deadline - loop.time())

    async def check_channels(self, channel_ids: Sequence[str]) -> dict[str, str]:
        """For each configured channel the bot cannot post in: why, and what to do about it."""
        await self._guilds_loaded()
        problems: dict[str, str] = {}
        for ident in channel_ids:
            try:
                channel = self.client.get_channel(int(ident)) or await self.client.fetch_channel(
                    int(ident)
                )
            except ValueError:
                problems[ident] = "that is not a Discord channel id (a long number)"
                continue
            except discord.NotFound:
                problems[ident] = "no such channel (deleted, or a wrong id in the config)"
                continue
            except discord.Forbidden:
                problems[ident] = (
                    "the bot cannot see it; give the bot's role View Channel and "
                    "Send Messages there"
                )
                continue
            if not isinstance(channel, discord.abc.Messageable):
                problems[ident] = "it is not a text channel"
                continue
            me = getattr(getattr(channel, "guild", None), "me", None)
            if me is not None and isinstance(channel, discord.abc.GuildChannel):
                perms = channel.permissions_for(me)
                if not (perms.view_channel and perms.send_messages):
                    problems[ident] = (
                        "the bot may not send messages there; allow View Channel and "
                        "Send Messages for the bot's role"
                    )
        return problems

    # -- inbound --

    async def _on_command(
        self, interaction: discord.Interaction, spec: CommandSpec, values: dict[str, Any]
    ) -> None:
        options = {k: _option(v) for k, v in values.items() if v is not None}
        missing = next((a for a in spec.args if opens_form(a) and a.name not in options), None)
        if missing is not None:
            with self._answering():
                await interaction.response.send_modal(TextForm(self, spec, missing, options))
            return
        await self.run_command(interaction, spec, options)

    async def run_command(
        self, interaction: discord.Interaction, spec: CommandSpec, options: dict[str, Any]
    ) -> None:
        inv = Invocation(
            command=spec.command,
            actor=actor_of(interaction),
            place=place_of(interaction),
            path=spec.path,
            options=options,
            dedup_key=str(interaction.id),
            received_at=interaction.created_at,
        )
        try:
            with self._answering():
                await self._starts.turn()
                # Discord must know up front whether the answer is ephemeral: the command is
                # matched once here and handed on, not parsed again.
                try:
                    await self.dispatcher.locate(inv.place)
                    prepared: Prepared | None = self.dispatcher.prepare(inv)
                except UserError:
                    prepared = None  # answered privately by handle(), with the reason
                await answer_command(
                    interaction,
                    self.dispatcher.handle(inv, prepared),
                    public=prepared is not None and prepared.public,
                    respond_within=self.respond_within,
                )
        except discord.HTTPException as exc:
            # e.g. a redelivered interaction that was already answered (40060).
            log.warning("answering /%s failed: %s", spec.name, exc)

    async def _on_press(self, interaction: discord.Interaction) -> None:
        data = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if not custom_id:
            return
        press = Press(
            custom_id,
            actor_of(interaction),
            place_of(interaction),
            dedup_key=str(interaction.id),
        )
        try:
            with self._answering():
                await self._starts.turn()
                await answer_press(
                    interaction,
                    self.dispatcher.press(press),
                    respond_within=self.respond_within,
                )
        except discord.HTTPException as exc:
            log.warning("answering a press on %s failed: %s", custom_id[:40], exc)

    # -- deliveries --

    # Discord shows times in each reader's own zone (<t:…>), so `zone` is not needed here.
    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        del zone
        return await self.posts.send(target, message, nonce=nonce)

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        del zone
        await self.posts.edit(target, ref, message)

    async def delete(self, target: Target, ref: str) -> None:
        await self.posts.delete(target, ref)
