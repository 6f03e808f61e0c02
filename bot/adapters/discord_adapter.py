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

import aiohttp
import discord
import yarl
from discord import app_commands

from bot import metrics
from bot.adapters.base import DeliveryError
from bot.adapters.discord_answer import RESPOND_WITHIN, answer_command, answer_press
from bot.adapters.discord_complete import Completions
from bot.adapters.discord_render import render
from bot.adapters.discord_tree import install, opens_form, schema, schema_hash
from bot.config import Settings
from bot.core.commands import Arg, CommandSpec
from bot.core.dispatch import Dispatcher
from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform, Press
from bot.core.message import Message
from bot.core.services import Services
from bot.scheduling.targets import Target, TargetKind

log = logging.getLogger(__name__)

PLATFORM = "discord"
SCHEMA_KEY = "discord.commands.sha256"
# A 429 asking to wait longer than this is handed back to the delivery loop (which retries
# later) instead of holding a delivery claim while discord.py sleeps.
MAX_RATELIMIT_WAIT = 30.0
CONNECT_TIMEOUT = 60.0
MODAL_TITLE_MAX = 45
MODAL_TEXT_MAX = 4000


def apply_endpoints(settings: Settings) -> None:
    """DISCORD_API_URL / DISCORD_GATEWAY_URL: discord.py's documented endpoints, re-pointed."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _request_metrics() -> aiohttp.TraceConfig:
    """Count Discord API requests by status, and the ones discord.py will retry."""
    trace = aiohttp.TraceConfig()

    async def on_end(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 101:  # the gateway's websocket upgrade
            return
        status = params.response.status
        metrics.PLATFORM_REQUESTS.labels(PLATFORM, str(status)).inc()
        if status == 429:
            metrics.PLATFORM_RETRIES.labels(PLATFORM, "ratelimited").inc()
        elif status in (500, 502, 504, 524):
            metrics.PLATFORM_RETRIES.labels(PLATFORM, "server_error").inc()

    async def on_error(_: Any, __: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        metrics.PLATFORM_REQUESTS.labels(PLATFORM, "error").inc()

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace


def make_client(settings: Settings, **options: Any) -> discord.Client:
    """A client on the configured endpoints: sharded when DISCORD_SHARD_IDS/COUNT are set."""
    apply_endpoints(settings)
    options.setdefault("intents", discord.Intents.none() | discord.Intents(guilds=True))
    options.setdefault("http_trace", _request_metrics())
    options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_WAIT)
    if settings.discord_shard_ids is not None and settings.discord_shard_count is not None:
        return discord.AutoShardedClient(
            shard_ids=list(settings.discord_shard_ids),
            shard_count=settings.discord_shard_count,
            **options,
        )
    return discord.Client(**options)


def actor_of(user: discord.User | discord.Member) -> Actor:
    roles = getattr(user, "roles", [])
    return Actor(
        Platform.DISCORD,
        str(user.id),
        user.display_name,
        frozenset(str(r.id) for r in roles if not r.is_default()),
        user.bot,
    )


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
        self.client = make_client(self.settings, **(client_options or {}))
        self.tree = app_commands.CommandTree(self.client)
        self.completions = Completions(services)
        install(self.tree, services.registry, self._on_command, self.completions.complete)
        self._up: set[int] = set()
        self._in_flight = 0  # interactions being answered right now
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._guild_arrived = asyncio.Event()
        self._listen()

    # -- lifecycle --

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

        client.event(on_guild_available)

        async def on_interaction(interaction: discord.Interaction) -> None:
            if interaction.type is discord.InteractionType.component:
                await self._on_press(interaction)

        client.event(on_interaction)

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
        token = self.settings.discord_token
        assert token is not None
        await self.client.login(token.get_secret_value())
        if self.settings.discord.sync_on_start:
            await self.sync_if_changed()
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="discord")
        waiter = asyncio.ensure_future(self._connected.wait())
        await asyncio.wait(
            {waiter, self._task}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task.done():
            waiter.cancel()
            self._task.result()  # raises why the connection ended
            raise RuntimeError("the Discord gateway closed during start-up")
        if not waiter.done():
            waiter.cancel()
            raise TimeoutError("Discord did not answer within 60 s")

    async def stop(self) -> None:
        # Answers already being sent finish first (the app bounds the whole stop).
        await self._idle.wait()
        await self.client.close()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.debug("Discord connection ended with an error on stop", exc_info=True)
        self._up.clear()

    async def sync_if_changed(self) -> bool:
        """Register the commands when their schema differs from the last one synced."""
        from bot.adapters.discord_sync import store_hash, stored_hash, sync_tree

        digest = schema_hash(schema(self.tree))
        key = f"{SCHEMA_KEY}:{','.join(map(str, self.settings.discord.guild_ids)) or 'global'}"
        if await stored_hash(self.services, key) == digest:
            return False
        await sync_tree(self.tree, self.settings.discord.guild_ids)
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

    @property
    def ping_role(self) -> int | None:
        return self.settings.discord.announce_ping

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
            actor=actor_of(interaction.user),
            place=place_of(interaction),
            path=spec.path,
            options=options,
            dedup_key=str(interaction.id),
            received_at=interaction.created_at,
        )
        try:
            with self._answering():
                await answer_command(
                    interaction,
                    self.dispatcher.handle(inv),
                    public=self.dispatcher.is_public(inv),
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
            actor_of(interaction.user),
            place_of(interaction),
            dedup_key=str(interaction.id),
        )
        try:
            with self._answering():
                await answer_press(
                    interaction,
                    self.dispatcher.press(press),
                    respond_within=self.respond_within,
                )
        except discord.HTTPException as exc:
            log.warning("answering a press on %s failed: %s", custom_id[:40], exc)

    # -- deliveries --

    async def _channel(self, target: Target) -> discord.abc.Messageable:
        if target.kind is TargetKind.DM:
            return await self.client.create_dm(discord.Object(int(target.id)))
        return self.client.get_partial_messageable(int(target.id))

    async def send(self, target: Target, message: Message, *, nonce: str | None = None) -> str:
        ids: list[str] = []
        with _delivery_errors():
            channel = await self._channel(target)
            for index, chunk in enumerate(render(message, ping_role=self.ping_role)):
                view = chunk.view()
                sent = await channel.send(
                    chunk.content,
                    allowed_mentions=chunk.allowed_mentions,
                    nonce=_part_nonce(nonce, index),
                    **({"view": view} if view is not None else {}),
                )
                ids.append(str(sent.id))
        return ",".join(ids)

    async def edit(self, target: Target, ref: str, message: Message) -> None:
        with _delivery_errors():
            channel = await self._channel(target)
            old = [int(i) for i in ref.split(",") if i]
            chunks = render(message, ping_role=self.ping_role)
            for mid, chunk in zip(old, chunks, strict=False):
                view = chunk.view()
                await channel.get_partial_message(mid).edit(  # type: ignore[attr-defined]
                    content=chunk.content, allowed_mentions=chunk.allowed_mentions, view=view
                )
            for mid in old[len(chunks) :]:
                await channel.get_partial_message(mid).delete()  # type: ignore[attr-defined]
            for chunk in chunks[len(old) :]:
                await channel.send(chunk.content, allowed_mentions=chunk.allowed_mentions)

    async def delete(self, target: Target, ref: str) -> None:
        with _delivery_errors():
            channel = await self._channel(target)
            for mid in (int(i) for i in ref.split(",") if i):
                # Already gone is what we wanted.
                with contextlib.suppress(discord.NotFound):
                    await channel.get_partial_message(mid).delete()  # type: ignore[attr-defined]


def _part_nonce(nonce: str | None, index: int) -> str | None:
    """Discord nonces are at most 25 characters; each part of a split message needs its own."""
    if nonce is None:
        return None
    return nonce[:25] if index == 0 else f"{nonce[:21]}p{index}"


class _delivery_errors:
    """Discord failures as DeliveryError: transient ones retried later, permanent ones not."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, discord.RateLimited):
            wait = exc.retry_after
            raise DeliveryError(
                f"rate limited for {wait:.0f} s", permanent=False, retry_after=wait
            ) from exc
        if isinstance(exc, discord.DiscordServerError):
            raise DeliveryError(f"Discord server error {exc.status}", permanent=False) from exc
        if isinstance(exc, discord.HTTPException):
            transient = exc.status == 429 or exc.status >= 500
            reason = f"Discord {exc.status} (code {exc.code}): {exc.text[:200]}"
            raise DeliveryError(reason, permanent=not transient) from exc
        if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
            raise DeliveryError(f"could not reach Discord: {exc!r}"[:300], permanent=False) from exc
        return False
