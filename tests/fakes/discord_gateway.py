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

The gateway here: HELLO, heartbeat ACK, READY after IDENTIFY, GUILD_CREATE (members listed
only with the presences intent, as Discord does; also for a guild added later), GUILD_DELETE
for a guild the bot is removed from, shards routed by
`(guild_id >> 22) % shard_count`, RESUME replaying what a dropped socket missed, and
zlib-stream transport compression when asked. The REST half is in discord_rest.py.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    snowflake,
)
from tests.fakes.discord_rest import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    Call,
    DiscordRestApi,
    InteractionRecord,
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


class DiscordFake(DiscordRestApi):
    """Discord's gateway and REST API on 127.0.0.1, port 0."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "communitybot",
        heartbeat_interval_ms: int = 41250,
        callback_deadline: float = 3.0,
    ) -> None:
        super().__init__(token=token, bot_name=bot_name, callback_deadline=callback_deadline)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.gateway_events: list[dict[str, Any]] = []  # what clients sent, tokens elided
        self.connections: list[dict[str, Any]] = []  # path and query of each websocket
        self._sessions: list[_Session] = []
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

    async def remove_guild(self, guild: FakeGuild | int) -> None:
        """The bot is removed from a guild (kicked, or the guild deleted): GUILD_DELETE
        without `unavailable`, which is how Discord tells it from an outage."""
        guild = self._guild(guild)
        sessions = self._live_sessions(guild.id)
        del self.guilds[guild.id]
        for session in sessions:
            await self._emit(session, "GUILD_DELETE", {"id": str(guild.id)})

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

    async def request_reconnect(self, shard_id: int | None = None) -> None:
        """RECONNECT (op 7), as Discord sends before moving a session: clients RESUME."""
        for session in self._sessions:
            if session.socket is not None and shard_id in (None, session.shard[0]):
                await session.socket.send({"op": 7, "d": None})

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

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
