"""The REST half of the fake Discord: what discord.py calls over HTTP, recorded and answered.

Faithful where it matters to a bot: JSON with content type exactly `application/json`, the
interaction callback rules (3 s to acknowledge, once only; a follow-up to a deferred
response fills the "thinking" message and keeps its visibility), Discord's validation of
commands and messages, `enforce_nonce`, and 429s that discord.py honours (`Via` header,
JSON `retry_after`). The gateway half, and the class tests use, is in discord_gateway.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.discord_events import EVENT_ROUTES, ScheduledEventsApi
from tests.fakes.discord_payloads import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FakeGuild,
    FakeUser,
    InvalidFormBody,
    iso_now,
    pings,
    snowflake,
    validate_commands,
    validate_message,
)

T = TypeVar("T")

# Interaction types and callback types (Discord API numbering).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9


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
    answered_at: float | None = None  # when visible content first arrived (bench figure)
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


class DiscordRestApi(ScheduledEventsApi):
    """Discord's REST API state and handlers; `DiscordFake` serves it with the gateway."""

    API_PREFIX = "/api/v10"

    def __init__(self, *, token: str, bot_name: str, callback_deadline: float) -> None:
        self.token = token
        self.application_id = snowflake()
        self.bot = FakeUser(id=self.application_id, username=bot_name, bot=True)
        self.owner = FakeUser(id=snowflake(), username="app-owner")
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
        self._rules: list[_Rule] = []
        self._changed = asyncio.Event()
        # While set, channel posts are received but not answered (a send caught in flight).
        self._post_gate: asyncio.Event | None = None
        self.held_posts = 0
        self._init_events()

    def add_user(self, username: str, *, id: int | None = None) -> FakeUser:
        user = FakeUser(id=id or snowflake(), username=username, global_name=username)
        self.users[user.id] = user
        return user

    def close_dms(self, user_id: int) -> None:
        """The user does not accept direct messages: sending fails with 50007."""
        self.closed_dms.add(user_id)

    def deny_send(self, channel_id: int) -> None:
        """A channel overwrite takes Send Messages from the bot; posting there fails with 50013."""
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                deny = {"id": str(self.bot.id), "type": 1, "allow": "0", "deny": str(0x800)}
                guild.channels[channel_id].overwrites.append(deny)
        self.fail(
            "POST",
            f"/channels/{channel_id}/messages",
            status=403,
            code=50013,
            message="Missing Permissions",
        )

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

    # --- waiting and reading results -------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()

    def hold_posts(self) -> None:
        """Keep channel posts from here on waiting, unanswered, until `release_posts`."""
        self._post_gate = asyncio.Event()

    def release_posts(self) -> None:
        """Answer (and store) the held posts; later ones go through at once."""
        if self._post_gate is not None:
            self._post_gate.set()
        self._post_gate = None

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
        ("GET", "/channels/{channel_id}", "_get_channel"),
        ("POST", "/channels/{channel_id}/messages", "_post_message"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", "_edit_message"),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", "_delete_message"),
        ("POST", "/users/@me/channels", "_open_dm"),
        *EVENT_ROUTES,  # tests/fakes/discord_events.py
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
        gate = self._post_gate
        posting = call.method == "POST" and route == "/channels/{channel_id}/messages"
        if gate is not None and posting:
            self.held_posts += 1
            self._notify()
            await gate.wait()  # as if Discord took the message and the answer got lost
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
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            record.answered_at = loop_time
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
        if record.answered_at is None:
            record.answered_at = call.at
        original = self.messages.get(record.original_id or 0)
        if (
            original is not None
            and not original.deleted
            and original.payload["flags"] & FLAG_LOADING
        ):
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
        if isinstance(found, web.Response):
            return found
        record = self._interaction_by_token(token)
        if record is not None and record.answered_at is None:
            record.answered_at = call.at
        return self._edit(found, call.json or {})

    def _del_webhook_msg(
        self, call: Call, application_id: str, token: str, message_id: str
    ) -> web.Response:
        found = self._webhook_message(application_id, token, message_id)
        if isinstance(found, web.Response):
            return found
        found.deleted = True
        return web.Response(status=204)

    def _get_channel(self, call: Call, channel_id: str) -> web.Response:
        cid = int(channel_id)
        for guild in self.guilds.values():
            if cid in guild.channels:
                return _json(guild.channels[cid].payload(guild.id))
        if cid in self.dm_channels.values():
            user = next(u for u, c in self.dm_channels.items() if c == cid)
            return _json({"id": channel_id, "type": 1, "recipients": [self.users[user].payload()]})
        return _error(404, 10003, "Unknown Channel")

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

    def _dm_channel(self, user_id: int) -> int:
        return self.dm_channels.setdefault(user_id, snowflake())
