"""A loopback fake of Discord's gateway and REST API that the real discord.py client talks to.

Only Discord's *servers* are replaced: point `discord.http.Route.BASE` at `fake.api_url` and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` at `fake.gateway_url` (the product does
that from DISCORD_API_URL / DISCORD_GATEWAY_URL) and run discord.py unmodified.

    async with DiscordFake() as fake:
        guild = fake.add_guild(members=[...], roles=[...], channels=[...])
        ...  # start a discord.py client against fake.api_url / fake.gateway_url
        iid = await fake.send_interaction("hero nominate", user_id=..., guild_id=guild.id,
                                          options={"member": olu_id, "reason": "docs"})
        reply = await fake.wait_for_reply(iid)

Faithful where it matters to a bot: HELLO/heartbeat/IDENTIFY/READY/GUILD_CREATE, shards
routed by `(guild_id >> 22) % shard_count`, RESUME replaying missed events, zlib-stream
transport compression, the interaction callback rules (3 s to acknowledge, once only, a
follow-up to a deferred response fills the "thinking" message), Discord's validation of
commands and messages, 429s that discord.py honours (`Via` header, JSON `retry_after`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import re
import secrets
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    InvalidFormBody,
    iso_now,
    pings,
    snowflake,
    validate_commands,
    validate_message,
)

__all__ = [
    "Call",
    "DiscordFake",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "InteractionRecord",
]

T = TypeVar("T")

# Interaction types and callback types (Discord API numbering).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9

OPTION_TYPES = {"string": 3, "integer": 4, "boolean": 5, "user": 6, "channel": 7, "role": 8}


@dataclass(slots=True)
class Call:
    """One REST request the fake received."""

    method: str
    path: str  # below the API base, e.g. "/channels/1/messages"
    route: str  # the matched template, e.g. "/channels/{channel_id}/messages"
    query: dict[str, str]
    json: Any  # the JSON body, or the multipart `payload_json`
    files: list[str]
    headers: dict[str, str]
    at: float  # event-loop time of arrival
    status: int = 0


@dataclass(slots=True)
class InteractionRecord:
    """An interaction the fake delivered, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    sent_at: float
    callback: dict[str, Any] | None = None
    callback_at: float | None = None
    original_id: int | None = None  # the message the callback created or updated
    followup_ids: list[int] = field(default_factory=list)

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else self.callback["type"]


@dataclass(slots=True)
class StoredMessage:
    payload: dict[str, Any]
    allowed_mentions: Mapping[str, Any] | None
    edits: int = 0
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def pings(self) -> dict[str, Any]:
        return pings(self.payload.get("content") or "", self.allowed_mentions)


@dataclass(slots=True)
class _Rule:
    method: str
    pattern: re.Pattern[str]
    remaining: int | None  # None: forever
    respond: Callable[[], web.Response]


class _Session:
    """A gateway session: survives its socket so a RESUME can replay what was missed."""

    def __init__(self, shard: tuple[int, int], intents: int) -> None:
        self.id = secrets.token_hex(16)
        self.shard = shard
        self.intents = intents
        self.seq = 0
        self.log: list[dict[str, Any]] = []
        self.socket: _Socket | None = None
        self.invalid = False

    def owns(self, guild_id: int | None) -> bool:
        shard_id, count = self.shard
        return ((guild_id or 0) >> 22) % count == shard_id


class _Socket:
    """One websocket connection, with optional zlib-stream compression as Discord does."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self._zlib = zlib.compressobj() if compress else None
        self._lock = asyncio.Lock()

    async def send(self, payload: Mapping[str, Any]) -> None:
        text = json.dumps(payload)
        async with self._lock:
            if self.ws.closed:
                return
            try:
                if self._zlib is None:
                    await self.ws.send_str(text)
                else:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
            except ConnectionError:
                pass


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py only parses that literal content type.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status)


@functools.lru_cache(maxsize=256)
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


class DiscordFake:
    """Discord's gateway and REST API on 127.0.0.1, port 0."""

    API_PREFIX = "/api/v10"

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "communitybot",
        heartbeat_interval_ms: int = 41250,
        callback_deadline: float = 3.0,
    ) -> None:
        self.token = token
        self.application_id = snowflake()
        self.bot = FakeUser(id=self.application_id, username=bot_name, bot=True)
        self.owner = FakeUser(id=snowflake(), username="app-owner")
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.callback_deadline = callback_deadline

        self.guilds: dict[int, FakeGuild] = {}
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.closed_dms: set[int] = set()
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.nonces: dict[tuple[int, str], int] = {}
        self.requests: list[Call] = []
        self.gateway_events: list[dict[str, Any]] = []  # what clients sent, tokens elided
        self.connections: list[dict[str, Any]] = []  # path and query of each websocket
        self._sessions: list[_Session] = []
        self._rules: list[_Rule] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> DiscordFake:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway/", self._websocket)
        app.router.add_get("/resume/", self._websocket)
        app.router.add_route("*", "/api/{version}/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for session in self._sessions:
            if session.socket is not None:
                await session.socket.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return self.url + self.API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/resume/"

    # --- world building -------------------------------------------------------------------

    def add_user(self, username: str, *, id: int | None = None) -> FakeUser:
        user = FakeUser(id=id or snowflake(), username=username, global_name=username)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        *,
        id: int | None = None,
        name: str = "Test Guild",
        roles: Iterable[FakeRole] = (),
        members: Iterable[FakeMember] = (),
        channels: Iterable[FakeChannel] = (),
    ) -> FakeGuild:
        """A guild the bot is in; sent as GUILD_CREATE now if its shard is connected."""
        guild_id = id or snowflake()
        guild = FakeGuild(id=guild_id, name=name, owner_id=self.owner.id)
        guild.roles[guild_id] = FakeRole(id=guild_id, name="@everyone", position=0)
        guild.roles[guild_id].permissions = 0x0000_0000_0004_0000 | 0x800 | 0x400  # view/send
        for role in roles:
            guild.roles[role.id] = role
        for member in [FakeMember(user=self.bot), *members]:
            guild.members[member.id] = member
            self.users[member.id] = member.user
        for channel in channels:
            guild.channels[channel.id] = channel
        self.guilds[guild_id] = guild
        for session in self._live_sessions(guild_id):
            self._spawn(self._emit(session, "GUILD_CREATE", self._guild_create(guild, session)))
        return guild

    def add_member(
        self,
        guild: FakeGuild | int,
        username: str,
        *,
        roles: Iterable[int] = (),
        id: int | None = None,
    ) -> FakeMember:
        guild = self._guild(guild)
        user = self.add_user(username, id=id)
        member = FakeMember(user=user, roles=list(roles))
        guild.members[user.id] = member
        return member

    def close_dms(self, user_id: int) -> None:
        """The user does not accept direct messages: sending fails with 50007."""
        self.closed_dms.add(user_id)

    # --- failure injection ----------------------------------------------------------------

    def rate_limit(
        self,
        method: str,
        route: str,
        *,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> None:
        """Answer the next `count` calls to `route` with 429, as Discord's edge does."""

        def respond() -> web.Response:
            headers = {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": "fakebucket" + secrets.token_hex(4),
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",  # without it discord.py assumes a Cloudflare ban
            }
            if is_global:
                headers["X-RateLimit-Global"] = "true"
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
            }
            return _json(body, 429, headers)

        self._add_rule(method, route, count, respond)

    def server_error(self, method: str, route: str, *, count: int = 1, status: int = 500) -> None:
        self._add_rule(
            method, route, count, lambda: _error(status, 0, "500: Internal Server Error")
        )

    def fail(
        self,
        method: str,
        route: str,
        *,
        status: int,
        code: int,
        message: str,
        count: int | None = None,
    ) -> None:
        """A permanent (count=None) or passing error, e.g. 404/10003 Unknown Channel."""
        self._add_rule(method, route, count, lambda: _error(status, code, message))

    def unknown_channel(self, route: str = "/channels/{channel_id}/messages") -> None:
        self.fail("POST", route, status=404, code=10003, message="Unknown Channel")

    def missing_access(self, route: str = "/channels/{channel_id}/messages") -> None:
        self.fail("POST", route, status=403, code=50001, message="Missing Access")

    def _add_rule(
        self, method: str, route: str, count: int | None, respond: Callable[[], web.Response]
    ) -> None:
        self._rules.append(_Rule(method.upper(), _template_regex(route), count, respond))

    # --- the gateway ----------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress") == "zlib-stream"
        socket = _Socket(ws, compress)
        self.connections.append({"path": request.path, "query": dict(request.query)})
        session: _Session | None = None
        await socket.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            self._record_gateway(op, data)
            if op == 1:
                await socket.send({"op": 11})
            elif op == 2:
                session = await self._identify(socket, data)
            elif op == 6:
                session = await self._resume(socket, data)
            elif op == 8 and session is not None:
                await self._members_chunk(session, data)
            self._notify()
        if session is not None and session.socket is socket:
            session.socket = None
        self._notify()
        return ws

    def _record_gateway(self, op: int, data: Any) -> None:
        if isinstance(data, dict) and "token" in data:
            data = {k: v for k, v in data.items() if k != "token"}
        self.gateway_events.append({"op": op, "d": data})

    async def _identify(self, socket: _Socket, data: dict[str, Any]) -> _Session | None:
        if data.get("token") != self.token:
            await socket.ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard_id, count = data.get("shard") or [0, 1]
        if not 0 <= shard_id < count:
            await socket.ws.close(code=4010, message=b"Invalid shard.")
            return None
        session = _Session((shard_id, count), data.get("intents", 0))
        for old in self._sessions:
            if old.shard == session.shard:
                old.invalid = True  # Discord keeps one session per shard for a bot
        self._sessions.append(session)
        session.socket = socket
        mine = [g for g in self.guilds.values() if session.owns(g.id)]
        ready = {
            "v": 10,
            "user": self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in mine],
            "session_id": session.id,
            "resume_gateway_url": self.resume_gateway_url,
            "shard": [shard_id, count],
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "session_type": "normal",
            "geo_ordered_rtc_regions": [],
        }
        await self._emit(session, "READY", ready)
        for guild in mine:
            await self._emit(session, "GUILD_CREATE", self._guild_create(guild, session))
        return session

    async def _resume(self, socket: _Socket, data: dict[str, Any]) -> _Session | None:
        session = next((s for s in self._sessions if s.id == data.get("session_id")), None)
        if session is None or session.invalid or data.get("token") != self.token:
            await socket.send({"op": 9, "d": False})
            return None
        if session.socket is not None and session.socket is not socket:
            await session.socket.ws.close(code=4000)
        session.socket = socket
        since = data.get("seq") or 0
        for event in session.log:
            if event["s"] > since:
                await socket.send(event)
        await self._emit(session, "RESUMED", {})
        return session

    async def _members_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data["guild_id"]))
        if guild is None or not session.intents & INTENT_GUILD_MEMBERS:
            return
        members = [m.payload() for m in guild.members.values()]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _guild_create(self, guild: FakeGuild, session: _Session) -> dict[str, Any]:
        # Like Discord: without the presences intent a guild lists only the bot itself.
        if session.intents & INTENT_GUILD_PRESENCES:
            members: Iterable[FakeMember] = guild.members.values()
        else:
            members = [guild.members[self.bot.id]]
        return guild.payload(members=members)

    async def _emit(self, session: _Session, event: str, data: Mapping[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        if session.socket is not None:
            await session.socket.send(frame)
        self._notify()

    def _live_sessions(self, guild_id: int | None) -> list[_Session]:
        return [s for s in self._sessions if not s.invalid and s.owns(guild_id)]

    async def dispatch(self, event: str, data: Mapping[str, Any], *, guild_id: int | None) -> None:
        """Send a DISPATCH to the session owning `guild_id` (buffered while it is away)."""
        sessions = self._live_sessions(guild_id)
        if not sessions:
            raise LookupError(f"no gateway session serves guild {guild_id}")
        for session in sessions:
            await self._emit(session, event, data)

    async def drop_connection(self, shard_id: int | None = None, *, code: int = 4000) -> int:
        """Close live sockets (all, or one shard's) with a resumable code; returns how many."""
        dropped = 0
        for session in self._sessions:
            if session.socket is not None and shard_id in (None, session.shard[0]):
                socket, session.socket = session.socket, None
                await socket.ws.close(code=code)
                dropped += 1
        return dropped

    async def invalidate_sessions(self) -> None:
        """INVALID_SESSION (not resumable): clients must IDENTIFY again."""
        for session in self._sessions:
            session.invalid = True
            if session.socket is not None:
                await session.socket.send({"op": 9, "d": False})

    def identifies(self) -> list[dict[str, Any]]:
        return [e["d"] for e in self.gateway_events if e["op"] == 2]

    def resumes(self) -> list[dict[str, Any]]:
        return [e["d"] for e in self.gateway_events if e["op"] == 6]

    def connected_shards(self) -> list[tuple[int, int]]:
        return sorted(s.shard for s in self._sessions if s.socket is not None and not s.invalid)

    # --- interactions ---------------------------------------------------------------------

    def _guild(self, guild: FakeGuild | int) -> FakeGuild:
        return guild if isinstance(guild, FakeGuild) else self.guilds[guild]

    def find_command(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        """The registered command called `name` (a guild's own first, as Discord shows)."""
        for command in [*self.guild_commands.get(guild_id or 0, []), *self.global_commands]:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        raise LookupError(f"/{name} is not registered for guild {guild_id}; sync commands first")

    async def send_interaction(
        self,
        command: str,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        options: Mapping[str, Any] | None = None,
        focused: str | None = None,
        interaction_id: int | None = None,
        token: str | None = None,
    ) -> int:
        """Deliver `/command sub …` as INTERACTION_CREATE (autocomplete when `focused`)."""
        words = command.strip().lstrip("/").split()
        registered = self.find_command(words[0], guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        leaf_options = self._build_options(
            registered, words[1:], dict(options or {}), focused, guild_id, resolved
        )
        data: dict[str, Any] = {
            "id": registered["id"],
            "name": registered["name"],
            "type": 1,
            "options": leaf_options,
        }
        if resolved:
            data["resolved"] = resolved
        if registered.get("guild_id"):
            data["guild_id"] = registered["guild_id"]
        kind = AUTOCOMPLETE if focused else APPLICATION_COMMAND
        return await self._deliver(
            kind, data, user_id, guild_id, channel_id, None, interaction_id, token
        )

    async def send_component(
        self,
        custom_id: str,
        *,
        message_id: int,
        user_id: int,
        component_type: int = 2,
        values: list[str] | None = None,
        interaction_id: int | None = None,
    ) -> int:
        """A press on a button (or select) of a message the bot sent."""
        stored = self.messages[message_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        message = stored.payload
        guild_id = int(message["guild_id"]) if message.get("guild_id") else None
        return await self._deliver(
            MESSAGE_COMPONENT,
            data,
            user_id,
            guild_id,
            int(message["channel_id"]),
            message,
            interaction_id,
            None,
        )

    async def submit_modal(
        self, opened_by: int, values: Mapping[str, str], *, user_id: int | None = None
    ) -> int:
        """Submit the modal the bot opened in answer to interaction `opened_by`."""
        origin = self.interactions[opened_by]
        if origin.callback_type != MODAL:
            raise LookupError(f"interaction {opened_by} was not answered with a modal")
        modal = origin.callback["data"]  # type: ignore[index]

        def mirror(component: Mapping[str, Any]) -> dict[str, Any]:
            kind = component["type"]
            if kind == 1:
                return {"type": 1, "components": [mirror(c) for c in component["components"]]}
            if kind == 18:
                return {"type": 18, "component": mirror(component["component"])}
            custom_id = component.get("custom_id")
            return {"type": kind, "custom_id": custom_id, "value": values.get(custom_id, "")}

        data = {
            "custom_id": modal["custom_id"],
            "components": [mirror(c) for c in modal["components"]],
        }
        payload = origin.payload
        author = payload.get("member", {}).get("user") or payload["user"]
        guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        return await self._deliver(
            MODAL_SUBMIT,
            data,
            user_id or int(author["id"]),
            guild_id,
            int(payload["channel_id"]),
            payload.get("message"),
            None,
            None,
        )

    def _build_options(
        self,
        node: Mapping[str, Any],
        path: list[str],
        given: dict[str, Any],
        focused: str | None,
        guild_id: int | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        schema = list(node.get("options") or [])
        if path:
            sub = next((o for o in schema if o["name"] == path[0] and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{node['name']} has no subcommand {path[0]!r}")
            inner = self._build_options(sub, path[1:], given, focused, guild_id, resolved)
            return [{"name": sub["name"], "type": sub["type"], "options": inner}]
        if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
            raise LookupError(f"/{node['name']} needs a subcommand; Discord cannot invoke a group")
        by_name = {o["name"]: o for o in schema}
        unknown = set(given) - set(by_name)
        if unknown:
            raise LookupError(f"/{node['name']} has no option(s) {sorted(unknown)}")
        out: list[dict[str, Any]] = []
        for option in schema:
            name = option["name"]
            if name not in given:
                if option.get("required") and name != focused and focused is None:
                    raise LookupError(f"option {name!r} is required")
                continue
            value = self._option_value(option, given[name], guild_id, resolved, name == focused)
            entry = {"name": name, "type": option["type"], "value": value}
            if name == focused:
                entry["focused"] = True
            out.append(entry)
        return out

    def _option_value(
        self,
        option: Mapping[str, Any],
        value: Any,
        guild_id: int | None,
        resolved: dict[str, dict[str, Any]],
        focused: bool,
    ) -> Any:
        kind = option["type"]
        if focused or kind == 3:
            text = str(value)
            # The Discord client enforces these before anything is sent.
            if not focused and len(text) > option.get("max_length", 6000):
                raise ValueError(f"{option['name']} longer than max_length")
            if not focused and len(text) < option.get("min_length", 0):
                raise ValueError(f"{option['name']} shorter than min_length")
            return text
        if kind == 4:
            return int(value)
        if kind == 5:
            return bool(value)
        if kind == 10:
            return float(value)
        if kind == 6:
            user_id = int(getattr(value, "id", value))
            user = self.users.get(user_id)
            if user is None:
                raise LookupError(f"no user {user_id} in the fake")
            resolved.setdefault("users", {})[str(user_id)] = user.payload()
            guild = self.guilds.get(guild_id or 0)
            if guild is not None and user_id in guild.members:
                member = guild.members[user_id]
                perms = guild.permissions_of(member)
                payload = member.payload(with_user=False, permissions=perms)
                resolved.setdefault("members", {})[str(user_id)] = payload
            return str(user_id)
        if kind == 8:
            role = self.guilds[guild_id or 0].roles[int(getattr(value, "id", value))]
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        if kind == 7:
            channel = self.guilds[guild_id or 0].channels[int(getattr(value, "id", value))]
            entry = channel.payload(guild_id) | {"permissions": str((1 << 53) - 1)}
            resolved.setdefault("channels", {})[str(channel.id)] = entry
            return str(channel.id)
        return value

    async def _deliver(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        message: Mapping[str, Any] | None,
        interaction_id: int | None,
        token: str | None,
    ) -> int:
        iid = interaction_id or snowflake()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token or f"itok-{iid}-{secrets.token_hex(8)}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": str((1 << 53) - 1),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            guild = self.guilds[guild_id]
            member = guild.members.get(user_id)
            if member is None:
                raise LookupError(f"user {user_id} is not a member of guild {guild_id}")
            channel = (
                guild.channels[channel_id] if channel_id else next(iter(guild.channels.values()))
            )
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                channel_id=str(channel.id),
                channel=channel.payload(guild_id),
                member=member.payload(permissions=guild.permissions_of(member)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            user = self.users[user_id]
            dm_id = channel_id or self._dm_channel(user_id)
            payload.update(
                channel_id=str(dm_id),
                channel={"id": str(dm_id), "type": 1, "recipients": [user.payload()]},
                user=user.payload(),
                authorizing_integration_owners={"1": str(user_id)},
                context=1,
            )
        if message is not None:
            payload["message"] = dict(message)
        if iid in self.interactions:
            # A redelivery: Discord resends the very same interaction.
            payload = self.interactions[iid].payload
        else:
            self.interactions[iid] = InteractionRecord(
                iid, payload["token"], kind, payload, asyncio.get_running_loop().time()
            )
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        return iid

    def _dm_channel(self, user_id: int) -> int:
        return self.dm_channels.setdefault(user_id, snowflake())

    # --- waiting and reading results -------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], T | None], within: float = 5.0) -> T:
        """Wait until `predicate()` is truthy (re-checked whenever the fake sees traffic)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            self._changed.clear()
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {within} s")
            # Also wake on a short tick, for predicates that watch something else.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    def calls(self, method: str | None = None, route: str | None = None) -> list[Call]:
        """Recorded REST calls, filtered by method and route template or literal path."""
        pattern = _template_regex(route) if route else None
        return [
            c
            for c in self.requests
            if (method is None or c.method == method.upper())
            and (pattern is None or pattern.match(c.path) or c.route == route)
        ]

    def replies(self, interaction_id: int) -> list[dict[str, Any]]:
        """Messages the bot produced for an interaction: the response, then follow-ups."""
        record = self.interactions[interaction_id]
        ids = ([record.original_id] if record.original_id else []) + record.followup_ids
        out = []
        for mid in ids:
            message = self.messages[mid].payload
            if not message["flags"] & FLAG_LOADING and not self.messages[mid].deleted:
                out.append(message)
        return out

    async def wait_for_reply(self, interaction_id: int, within: float = 5.0) -> dict[str, Any]:
        """The first visible answer (callback message, filled defer, or follow-up)."""
        replies = await self.wait_for(lambda: self.replies(interaction_id), within)
        return replies[0]

    async def wait_for_callback(self, interaction_id: int, within: float = 5.0) -> dict[str, Any]:
        return await self.wait_for(lambda: self.interactions[interaction_id].callback, within)

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return [
            m.payload
            for m in self.messages.values()
            if int(m.payload["channel_id"]) == channel_id and not m.deleted
        ]

    # --- REST -----------------------------------------------------------------------------

    _ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", "/users/@me", "_get_me"),
        ("GET", "/applications/@me", "_get_application"),
        ("GET", "/oauth2/applications/@me", "_get_application"),
        ("GET", "/gateway", "_get_gateway"),
        ("GET", "/gateway/bot", "_get_gateway_bot"),
        ("PUT", "/applications/{application_id}/commands", "_put_commands"),
        ("GET", "/applications/{application_id}/commands", "_get_commands"),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", "_put_commands"),
        ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", "_get_commands"),
        ("POST", "/interactions/{interaction_id}/{token}/callback", "_callback"),
        ("POST", "/webhooks/{application_id}/{token}", "_followup"),
        ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", "_get_webhook_msg"),
        ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", "_edit_webhook_msg"),
        ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", "_del_webhook_msg"),
        ("POST", "/channels/{channel_id}/messages", "_post_message"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", "_edit_message"),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", "_delete_message"),
        ("POST", "/users/@me/channels", "_open_dm"),
    )

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        match = self._match(request.method, path)
        route = match[0] if match else path
        call = Call(
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            json=body,
            files=files,
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            at=asyncio.get_running_loop().time(),
        )
        self.requests.append(call)
        response = self._respond(request, call, match)
        call.status = response.status
        self._notify()
        return response

    def _respond(
        self, request: web.Request, call: Call, match: tuple[str, str, dict[str, str]] | None
    ) -> web.Response:
        is_callback = call.route.endswith("/callback") or call.route.startswith("/webhooks/")
        if not is_callback and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        for rule in self._rules:
            if rule.method == call.method and rule.pattern.match(call.path):
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                return rule.respond()
        if match is None:
            return _error(404, 0, "404: Not Found")
        _, handler, params = match
        try:
            return getattr(self, handler)(call, **params)
        except InvalidFormBody as exc:
            return _json(
                {"message": "Invalid Form Body", "code": 50035, "errors": exc.errors()}, 400
            )

    def _match(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        for verb, template, handler in self._ROUTES:
            if verb != method:
                continue
            m = _template_regex(template).match(path)
            if m is not None:
                return template, handler, m.groupdict()
        return None

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[str]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            files: list[str] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    files.append(part.filename or part.name or "")  # type: ignore[union-attr]
                    await part.read()  # type: ignore[union-attr]
            return body, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    # REST handlers: each gets the Call and the route's parameters.

    def _get_me(self, call: Call) -> web.Response:
        return _json(self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0})

    def _get_application(self, call: Call) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot.username,
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.payload(),
                "verify_key": "00" * 32,
                "flags": 0,
                "team": None,
                "summary": "",
                "interactions_endpoint_url": None,
                "redirect_uris": [],
            }
        )

    def _get_gateway(self, call: Call) -> web.Response:
        return _json({"url": self.gateway_url.rstrip("/")})

    def _get_gateway_bot(self, call: Call) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _commands_for(self, application_id: str, guild_id: str | None) -> list[dict[str, Any]]:
        if int(application_id) != self.application_id:
            raise PermissionError
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(int(guild_id), [])

    def _put_commands(
        self, call: Call, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        if int(application_id) != self.application_id:
            return _error(403, 50001, "Missing Access")
        if guild_id is not None and int(guild_id) not in self.guilds:
            return _error(403, 50001, "Missing Access")
        validate_commands(call.json)
        previous = {c["name"]: c for c in self._commands_for(application_id, guild_id)}
        stored = []
        for command in call.json:
            old = previous.get(command["name"])
            entry = {
                "type": 1,
                "default_member_permissions": None,
                "nsfw": False,
                "integration_types": [0],
                "contexts": None,
                **command,
                "id": old["id"] if old else str(snowflake()),
                "application_id": str(self.application_id),
                "version": str(snowflake()),
            }
            if guild_id is not None:
                entry["guild_id"] = guild_id
            stored.append(entry)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[int(guild_id)] = stored
        return _json(stored)

    def _get_commands(
        self, call: Call, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        if int(application_id) != self.application_id:
            return _error(403, 50001, "Missing Access")
        return _json(self._commands_for(application_id, guild_id))

    def _new_message(
        self,
        body: Mapping[str, Any],
        channel_id: int,
        *,
        flags: int = 0,
        interaction: InteractionRecord | None = None,
    ) -> StoredMessage:
        guild_id = next((g.id for g in self.guilds.values() if channel_id in g.channels), None)
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "type": 0,
            "channel_id": str(channel_id),
            "author": self.bot.payload(),
            "content": body.get("content") or "",
            "embeds": list(body.get("embeds") or []),
            "components": list(body.get("components") or []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts")),
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": flags | (body.get("flags") or 0),
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if interaction is not None:
            payload["webhook_id"] = str(self.application_id)
            payload["application_id"] = str(self.application_id)
            payload["type"] = 20 if interaction.type == APPLICATION_COMMAND else 0
            user = interaction.payload.get("member", {}).get("user") or interaction.payload["user"]
            payload["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload[
                    "authorizing_integration_owners"
                ],
            }
        stored = StoredMessage(payload, body.get("allowed_mentions"))
        self._apply_mentions(stored)
        self.messages[stored.id] = stored
        return stored

    def _apply_mentions(self, stored: StoredMessage) -> None:
        who = stored.pings
        stored.payload["mentions"] = [
            self.users[u].payload() for u in who["users"] if u in self.users
        ]
        stored.payload["mention_roles"] = [str(r) for r in who["roles"]]
        stored.payload["mention_everyone"] = who["everyone"]

    def _edit(self, stored: StoredMessage, body: Mapping[str, Any]) -> web.Response:
        validate_message(body, partial=True)
        for key in ("content", "embeds", "components"):
            if key in body:
                stored.payload[key] = (
                    body[key] if body[key] is not None else ("" if key == "content" else [])
                )
        if "allowed_mentions" in body:
            stored.allowed_mentions = body["allowed_mentions"]
        stored.payload["flags"] &= ~FLAG_LOADING
        stored.payload["edited_timestamp"] = iso_now()
        stored.edits += 1
        self._apply_mentions(stored)
        return _json(stored.payload)

    def _interaction_by_token(self, token: str) -> InteractionRecord | None:
        return next((r for r in self.interactions.values() if r.token == token), None)

    def _callback(self, call: Call, interaction_id: str, token: str) -> web.Response:
        record = self.interactions.get(int(interaction_id))
        loop_time = asyncio.get_running_loop().time()
        if record is None or record.token != token:
            return _error(404, 10062, "Unknown interaction")
        if record.callback is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if loop_time - record.sent_at > self.callback_deadline:
            return _error(404, 10062, "Unknown interaction")
        body = call.json or {}
        kind, data = body.get("type"), body.get("data") or {}
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            validate_message(data, partial=kind == UPDATE_MESSAGE)
        record.callback, record.callback_at = body, loop_time
        channel_id = int(record.payload["channel_id"])
        message: StoredMessage | None = None
        if kind == CHANNEL_MESSAGE:
            message = self._new_message(data, channel_id, interaction=record)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = FLAG_LOADING | (data.get("flags", 0) & FLAG_EPHEMERAL)
            message = self._new_message({}, channel_id, flags=flags, interaction=record)
        elif kind in (UPDATE_MESSAGE, DEFERRED_UPDATE) and "message" in record.payload:
            message = self.messages[int(record.payload["message"]["id"])]
            if kind == UPDATE_MESSAGE:
                self._edit(message, data)
        result: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(
                    message and message.payload["flags"] & FLAG_EPHEMERAL
                ),
            }
        }
        if message is not None:
            record.original_id = message.id
            result["interaction"]["response_message_id"] = str(message.id)
            if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE):
                result["resource"] = {"type": kind, "message": message.payload}
        return _json(result)

    def _webhook_target(self, application_id: str, token: str) -> InteractionRecord | None:
        if int(application_id) != self.application_id:
            return None
        return self._interaction_by_token(token)

    def _followup(self, call: Call, application_id: str, token: str) -> web.Response:
        record = self._webhook_target(application_id, token)
        if record is None or record.callback is None:
            return _error(404, 10015, "Unknown Webhook")
        body = call.json or {}
        validate_message(body)
        original = self.messages.get(record.original_id or 0)
        if original is not None and original.payload["flags"] & FLAG_LOADING:
            # Discord: the first follow-up to a deferred response replaces the "thinking"
            # message and keeps the defer's visibility, whatever flags it asks for.
            return self._edit(original, body)
        channel_id = int(record.payload["channel_id"])
        flags = body.get("flags", 0) & FLAG_EPHEMERAL
        stored = self._new_message(body | {"flags": flags}, channel_id, interaction=record)
        record.followup_ids.append(stored.id)
        return _json(stored.payload)

    def _webhook_message(
        self, application_id: str, token: str, message_id: str
    ) -> StoredMessage | web.Response:
        record = self._webhook_target(application_id, token)
        if record is None:
            return _error(404, 10015, "Unknown Webhook")
        mid = record.original_id if message_id == "@original" else int(message_id)
        if mid is None:
            return _error(404, 10008, "Unknown Message")
        stored = self.messages.get(mid)
        if stored is None or stored.deleted:
            return _error(404, 10008, "Unknown Message")
        return stored

    def _get_webhook_msg(
        self, call: Call, application_id: str, token: str, message_id: str
    ) -> web.Response:
        found = self._webhook_message(application_id, token, message_id)
        return found if isinstance(found, web.Response) else _json(found.payload)

    def _edit_webhook_msg(
        self, call: Call, application_id: str, token: str, message_id: str
    ) -> web.Response:
        found = self._webhook_message(application_id, token, message_id)
        return found if isinstance(found, web.Response) else self._edit(found, call.json or {})

    def _del_webhook_msg(
        self, call: Call, application_id: str, token: str, message_id: str
    ) -> web.Response:
        found = self._webhook_message(application_id, token, message_id)
        if isinstance(found, web.Response):
            return found
        found.deleted = True
        return web.Response(status=204)

    def _channel_exists(self, channel_id: int) -> bool:
        in_guild = any(channel_id in g.channels for g in self.guilds.values())
        return in_guild or channel_id in self.dm_channels.values()

    def _post_message(self, call: Call, channel_id: str) -> web.Response:
        cid = int(channel_id)
        if not self._channel_exists(cid):
            return _error(404, 10003, "Unknown Channel")
        recipient = next((u for u, c in self.dm_channels.items() if c == cid), None)
        if recipient is not None and recipient in self.closed_dms:
            return _error(403, 50007, "Cannot send messages to this user")
        body = call.json or {}
        validate_message(body)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self.nonces.get((cid, str(nonce)))
            if earlier is not None:
                return _json(self.messages[earlier].payload)
        stored = self._new_message(body, cid)
        if nonce is not None:
            self.nonces[(cid, str(nonce))] = stored.id
        return _json(stored.payload)

    def _channel_message(self, channel_id: str, message_id: str) -> StoredMessage | None:
        stored = self.messages.get(int(message_id))
        if stored is None or stored.deleted or stored.payload["channel_id"] != channel_id:
            return None
        return stored

    def _edit_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        stored = self._channel_message(channel_id, message_id)
        if stored is None:
            return _error(404, 10008, "Unknown Message")
        return self._edit(stored, call.json or {})

    def _delete_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        stored = self._channel_message(channel_id, message_id)
        if stored is None:
            return _error(404, 10008, "Unknown Message")
        stored.deleted = True
        return web.Response(status=204)

    def _open_dm(self, call: Call) -> web.Response:
        user_id = int((call.json or {})["recipient_id"])
        user = self.users.get(user_id)
        if user is None:
            return _error(400, 50033, "Invalid Recipient(s)")
        channel_id = self._dm_channel(user_id)
        return _json(
            {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [user.payload()],
            }
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
