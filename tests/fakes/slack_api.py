"""A loopback fake of Slack's servers, spoken to by the real slack_sdk and slack_bolt.

One aiohttp server on 127.0.0.1 (port 0) plays three of Slack's roles:

- the Web API at ``/api/<method>`` (point ``AsyncWebClient(base_url=fake.api_url)`` at it),
  recording every call and answering with Slack's shapes, its errors and its limits;
- the ``response_url`` endpoint at ``/respond/<token>``, recording what ``respond`` posts;
- Socket Mode: ``apps.connections.open`` hands out a ``ws://`` URL on this server, which
  says hello, carries envelopes to the app and records its acknowledgements.

With client credentials it also plays Slack's OAuth v2 installs (tests/fakes/slack_oauth.py):
the authorize page at ``/oauth/v2/authorize`` and ``oauth.v2.access``, each workspace with
tokens of its own; every recorded call names the token it used.

It also plays Slack the *client*: it signs slash commands, button presses and events and
POSTs them to the app under test. Faults (429 + Retry-After, 5xx, dropped connections,
permanent Slack errors) are injected per method or channel. Tests wait with
:meth:`SlackFake.wait_for`, which returns as soon as the condition holds, before a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.fakes import slack_signing as signing
from tests.fakes.slack_blocks import BlockError, validate_blocks, validate_view
from tests.fakes.slack_oauth import FakeOAuth, OAuthRefusal

Json = dict[str, Any]
# Fields that arrive JSON-encoded inside form bodies and as structures inside JSON bodies.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
# Slack's documented ceiling for a message's text; longer text is refused.
MAX_TEXT = 40_000
# A response_url accepts five posts within 30 minutes.
RESPONSE_URL_USES = 5


class SlackError(Exception):
    """A Web API answer of ``{"ok": false, "error": ...}`` (HTTP 200, like Slack)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One Web API request as the fake received it, and how it answered."""

    method: str
    http_method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: Mapping[str, Any]
    args: Mapping[str, Any]  # query and body merged, JSON-encoded fields decoded
    token: str | None
    status: int
    response: Mapping[str, Any]
    at: float  # time.monotonic()

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error", f"http_{self.status}"))


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour: applies to matching calls while ``remaining`` is not 0."""

    kind: str  # "ratelimit" | "status" | "error" | "disconnect" | "delay" | "raw"
    method: str | None
    channel: str | None = None
    remaining: int | None = 1  # None: permanent
    retry_after: int = 1
    status: int = 500
    error: str = ""
    delay: float = 0.0
    body: str = ""  # "raw": the answer's body and content type, not Slack's JSON
    content_type: str = "text/html"

    def matches(self, method: str, args: Mapping[str, Any]) -> bool:
        if self.remaining == 0 or (self.method is not None and self.method != method):
            return False
        return self.channel is None or self.channel in (args.get("channel"), args.get("channel_id"))


@dataclass(frozen=True, slots=True)
class ResponsePost:
    """A body the app posted to a response_url."""

    token: str
    body: Mapping[str, Any]
    at: float

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))


@dataclass(frozen=True, slots=True)
class SocketAck:
    """The app's acknowledgement of one Socket Mode envelope."""

    envelope_id: str
    payload: Mapping[str, Any] | None
    at: float


@dataclass(frozen=True, slots=True)
class Exchange:
    """One delivery to the app: what was sent and its HTTP answer or Socket Mode envelope id."""

    payload: Mapping[str, Any]
    response_url: str | None
    http: signing.AppResponse | None = None
    envelope_id: str | None = None

    @property
    def response_token(self) -> str | None:
        return self.response_url.rsplit("/", 1)[-1] if self.response_url else None


@dataclass(slots=True)
class PostedMessage:
    """A message the bot posted, kept up to date by chat.update and chat.delete."""

    channel: str
    ts: str
    text: str
    blocks: list[Json] | None
    thread_ts: str | None = None
    deleted: bool = False
    edits: int = 0
    raw: Json = field(default_factory=dict)

    def as_slack(self) -> Json:
        message: Json = {
            "type": "message",
            "user": signing.BOT_USER_ID,
            "bot_id": signing.BOT_ID,
            "app_id": signing.APP_ID,
            "text": self.text,
            "ts": self.ts,
            "team": signing.TEAM_ID,
        }
        if self.blocks is not None:
            message["blocks"] = self.blocks
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """An ephemeral message: seen by one user in one channel, never stored by Slack."""

    channel: str
    user: str
    text: str
    blocks: list[Json] | None
    message_ts: str


class SlackFake:
    """Slack's servers on 127.0.0.1; use as ``async with SlackFake() as fake:``."""

    def __init__(
        self,
        *,
        signing_secret: str = "fake-signing-secret",
        bot_token: str | None = None,
        app_token: str | None = None,
        client_id: str = "1111.2222",
        client_secret: str = "fake-client-secret",
    ) -> None:
        self.signing_secret = signing_secret
        # When set, other bot tokens get invalid_auth (but for those installs issued).
        self.bot_token = bot_token
        self.app_token = app_token
        self.oauth = FakeOAuth(client_id, client_secret, signing.APP_ID)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._calls: list[RecordedCall] = []
        self._faults: list[Fault] = []
        self._changed = asyncio.Event()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.messages: list[PostedMessage] = []
        self.ephemerals: list[Ephemeral] = []
        self.home_views: dict[str, Json] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        # Channels of one workspace: another workspace's bot token cannot see them.
        self.channel_teams: dict[str, str] = {}
        self._calling_team: str | None = None
        self._dm_channels: dict[str, str] = {}
        self._response_urls: dict[str, int] = {}
        self.response_posts: list[ResponsePost] = []
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_connections = 0
        self.acks: list[SocketAck] = []

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_get("/link/", self._socket)
        app.router.add_get("/oauth/v2/authorize", self.oauth.authorize)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """The Web API base, with the trailing slash slack_sdk needs."""
        return f"{self.base_url}/api/"

    # ----------------------------------------------------------------- waiting

    def _touch(self) -> None:
        self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        within: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Return the predicate's first truthy value; raise TimeoutError after ``within`` seconds.

        Wakes on every change the fake sees, and at least every 20 ms so predicates over
        outside state (a database) are checked too.
        """
        deadline = time.monotonic() + within
        while True:
            self._changed.clear()
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"SlackFake: timed out after {within}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.02))

    # ----------------------------------------------------------------- records

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Recorded Web API calls, oldest first, optionally of one method."""
        return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls, posts and acks (state such as users stays)."""
        self._calls.clear()
        self.response_posts.clear()
        self.acks.clear()
        self.ephemerals.clear()
        self.messages.clear()

    def posted(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages the bot posted (and has not deleted), optionally in one channel."""
        return [
            m for m in self.messages if not m.deleted and (channel is None or m.channel == channel)
        ]

    def ephemeral_to(self, user: str) -> list[Ephemeral]:
        return [e for e in self.ephemerals if e.user == user]

    def responses(self, response_url: str | None = None) -> list[ResponsePost]:
        """Bodies posted to response URLs, optionally to one of them."""
        token = response_url.rsplit("/", 1)[-1] if response_url else None
        return [p for p in self.response_posts if token is None or p.token == token]

    # ----------------------------------------------------------------- state set-up

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        tz: str = "America/Los_Angeles",
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> Json:
        user = {
            "id": user_id,
            "team_id": signing.TEAM_ID,
            "name": name,
            "deleted": deleted,
            "real_name": real_name or name.title(),
            "tz": tz,
            "is_bot": is_bot,
            "is_admin": False,
            "profile": {"display_name": name, "real_name": real_name or name.title()},
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_archived: bool = False,
        is_member: bool = True,
        team_id: str | None = None,
    ) -> Json:
        channel = {
            "id": channel_id,
            "name": name,
            "is_channel": channel_id.startswith("C"),
            "is_private": channel_id.startswith("G"),
            "is_im": False,
            "is_archived": is_archived,
            "is_member": is_member,
            "created": 1_600_000_000,
        }
        self.channels[channel_id] = channel
        if team_id is not None:
            self.channel_teams[channel_id] = team_id
        return channel

    def _visible(self, channel: str) -> None:
        """Refuse a channel of another workspace than the calling token's."""
        owner = self.channel_teams.get(channel)
        if owner is not None and self._calling_team is not None and owner != self._calling_team:
            raise SlackError("channel_not_found")

    def set_usergroup(self, usergroup_id: str, users: list[str]) -> None:
        self.usergroups[usergroup_id] = list(users)

    def dm_channel(self, user_id: str) -> str:
        """The direct-message channel between the bot and this user (opened on first use)."""
        if user_id not in self._dm_channels:
            self._dm_channels[user_id] = f"D{next(self._ids):09d}"
        return self._dm_channels[user_id]

    def mint_response_url(self) -> str:
        token = secrets.token_hex(12)
        self._response_urls[token] = 0
        return f"{self.base_url}/respond/{token}"

    # ----------------------------------------------------------------- fault injection

    def inject_rate_limit(
        self, method: str | None, *, retry_after: int = 1, times: int = 1
    ) -> Fault:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        return self._add(Fault("ratelimit", method, remaining=times, retry_after=retry_after))

    def inject_server_error(
        self, method: str | None, *, times: int = 1, status: int = 500
    ) -> Fault:
        """Answer the next ``times`` calls of ``method`` with an HTTP 5xx."""
        return self._add(Fault("status", method, remaining=times, status=status))

    def inject_error(
        self,
        error: str,
        *,
        method: str | None = None,
        channel: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer ``{"ok": false, "error": error}``; permanent unless ``times`` is given."""
        return self._add(Fault("error", method, channel=channel, remaining=times, error=error))

    def inject_channel_error(self, channel: str, error: str = "channel_not_found") -> Fault:
        """Every call about ``channel`` fails with ``error`` from now on."""
        return self.inject_error(error, channel=channel)

    def inject_disconnect(self, method: str | None, *, times: int = 1) -> Fault:
        """Drop the connection without an answer (the client sees ServerDisconnectedError)."""
        return self._add(Fault("disconnect", method, remaining=times))

    def inject_delay(self, method: str | None, seconds: float, *, times: int | None = 1) -> Fault:
        """Answer ``method`` only after ``seconds`` (for timeouts and slow-Slack cases)."""
        return self._add(Fault("delay", method, remaining=times, delay=seconds))

    def inject_non_json(
        self,
        method: str | None,
        *,
        status: int = 405,
        body: str = "<html><body><h1>405 Not Allowed</h1></body></html>",
        content_type: str = "text/html",
        times: int | None = 1,
    ) -> Fault:
        """Answer ``method`` with a page that is not Slack's JSON (a proxy in the way)."""
        return self._add(
            Fault(
                "raw", method, remaining=times, status=status, body=body, content_type=content_type
            )
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def _add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, args: Mapping[str, Any]) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, args):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    # ----------------------------------------------------------------- Web API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        query = dict(request.query)
        body, is_json = await _read_body(request)
        try:
            args, bad_field = _decode_fields({**query, **body}), None
        except SlackError as e:
            args, bad_field = {**query, **body}, e
        token = _bearer(request.headers.get("Authorization")) or args.get("token")

        status, headers, answer = 200, {}, None
        fault = self._take_fault(method, args)
        while fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            fault = self._take_fault(method, args)
        if fault is not None and fault.kind == "disconnect":
            self._record(request, method, query, body, args, token, 0, {"error": "disconnected"})
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault is not None and fault.kind == "raw":
            self._record(request, method, query, body, args, token, fault.status, {})
            return web.Response(
                status=fault.status, text=fault.body, content_type=fault.content_type
            )
        if fault is not None and fault.kind == "ratelimit":
            status, answer = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(fault.retry_after)
        elif fault is not None and fault.kind == "status":
            status, answer = fault.status, {"ok": False, "error": "internal_error"}
        elif fault is not None and fault.kind == "error":
            answer = {"ok": False, "error": fault.error}
        else:
            try:
                if method == "oauth.v2.access":
                    authorization = request.headers.get("Authorization")
                    answer = {"ok": True, **self.oauth.access(args, authorization)}
                else:
                    _check_token(method, token, is_json, request, self)
                    if bad_field is not None:
                        raise bad_field
                    if method == "auth.test":
                        answer = {"ok": True, **_auth_test(self, args, token)}
                    else:
                        handler = _HANDLERS.get(method, _generic_ok)
                        self._calling_team = self.oauth.team_of(token)
                        answer = {"ok": True, **handler(self, args)}
            except SlackError as e:
                answer = {"ok": False, "error": e.error, **e.extra}
            except OAuthRefusal as e:
                answer = {"ok": False, "error": e.error}
        if method == "auth.test":
            headers["X-OAuth-Scopes"] = "commands,chat:write,im:write,users:read,usergroups:read"
        self._record(request, method, query, body, args, token, status, answer)
        return web.json_response(answer, status=status, headers=headers)

    def calls_with(self, token: str, method: str | None = None) -> list[RecordedCall]:
        """Recorded calls made with `token`, optionally of one method."""
        return [c for c in self.calls(method) if c.token == token]

    def _record(
        self,
        request: web.Request,
        method: str,
        query: Json,
        body: Json,
        args: Json,
        token: str | None,
        status: int,
        answer: Json,
    ) -> None:
        self._calls.append(
            RecordedCall(
                method=method,
                http_method=request.method,
                headers=dict(request.headers),
                query=query,
                body=body,
                args=args,
                token=token,
                status=status,
                response=answer,
                at=time.monotonic(),
            )
        )
        self._touch()

    def next_ts(self) -> str:
        """A message timestamp: unique and increasing, like Slack's."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _message(self, channel: str, ts: str) -> PostedMessage:
        for m in self.messages:
            if m.channel == channel and m.ts == ts and not m.deleted:
                return m
        raise SlackError("message_not_found")

    def _resolve_channel(self, channel: Any) -> str:
        """Slack accepts a user id as a channel and posts into that user's DM."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel[0] in "UW":
            return self.dm_channel(channel)
        if channel[0] not in "CGD":
            raise SlackError("channel_not_found")
        self._visible(channel)
        info = self.channels.get(channel)
        if info is not None and info["is_archived"]:
            raise SlackError("is_archived")
        if info is not None and not info["is_member"]:
            raise SlackError("not_in_channel")
        return channel

    def _user(self, user_id: Any) -> Json:
        if user_id in self.users:
            return self.users[user_id]
        if isinstance(user_id, str) and user_id[:1] in ("U", "W") and user_id[1:].isalnum():
            return self.add_user(user_id, user_id.lower())
        raise SlackError("user_not_found")

    # ----------------------------------------------------------------- response_url

    async def _respond(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        uses = self._response_urls.get(token)
        if uses is None:
            return web.Response(status=404, text="invalid_token")
        if uses >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        self._response_urls[token] = uses + 1
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        try:
            if body.get("blocks") is not None:
                validate_blocks(body["blocks"])
            if len(str(body.get("text", ""))) > MAX_TEXT:
                raise BlockError("msg_too_long")
        except BlockError as e:
            return web.Response(status=400, text=str(e))
        self.response_posts.append(ResponsePost(token=token, body=body, at=time.monotonic()))
        self._touch()
        return web.Response(text="ok")

    # ----------------------------------------------------------------- Socket Mode

    def _open_connection(self) -> Json:
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        host = self.base_url.removeprefix("http://")
        return {"url": f"ws://{host}/link/?ticket={ticket}&app_id={signing.APP_ID}"}

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)  # a ticket opens one connection, like Slack's
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": signing.APP_ID},
            }
        )
        self._touch()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.acks.append(
                        SocketAck(data["envelope_id"], data.get("payload"), time.monotonic())
                    )
                    self._touch()
        finally:
            self._sockets.remove(ws)
            self._touch()
        return ws

    @property
    def socket_open(self) -> bool:
        return bool(self._sockets)

    async def push_envelope(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        within: float = 5.0,
    ) -> str:
        """Send one envelope to the connected app (waiting for it to connect)."""
        await self.wait_for(lambda: self._sockets, within, "a Socket Mode connection")
        envelope_id = f"{secrets.token_hex(4)}-{next(self._ids)}"
        envelope: Json = {"envelope_id": envelope_id, "payload": dict(payload), "type": kind}
        if kind == "events_api":
            envelope["accepts_response_payload"] = False
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        else:
            envelope["accepts_response_payload"] = True
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def ack_for(self, envelope_id: str, within: float = 5.0) -> SocketAck:
        """The app's acknowledgement of the envelope, once it arrives."""
        return await self.wait_for(
            lambda: next((a for a in self.acks if a.envelope_id == envelope_id), None),
            within,
            f"the ack of envelope {envelope_id}",
        )

    async def ask_to_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message: the client should fetch a new URL and reconnect."""
        for ws in list(self._sockets):
            await ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {}})

    # ----------------------------------------------------------------- Slack → app

    def _client(self) -> aiohttp.ClientSession:
        assert self._session is not None, "SlackFake is not started"
        return self._session

    async def deliver(
        self,
        url: str,
        delivery: signing.Delivery,
        *,
        forge: bool = False,
        stale: bool = False,
        retry_num: int | None = None,
        within: float = 10.0,
    ) -> signing.AppResponse:
        """POST one signed request to the app and return its answer."""
        headers = signing.signed_headers(
            self.signing_secret,
            delivery.body,
            delivery.content_type,
            forge=forge,
            stale=stale,
            retry_num=retry_num,
        )
        async with self._client().post(
            url, data=delivery.body, headers=headers, timeout=aiohttp.ClientTimeout(total=within)
        ) as resp:
            return signing.AppResponse(resp.status, await resp.text(), dict(resp.headers))

    async def slash_command(
        self,
        url: str | None,
        command: str,
        text: str = "",
        *,
        forge: bool = False,
        stale: bool = False,
        **fields: Any,
    ) -> Exchange:
        """Run a slash command: signed POST to ``url``, or a Socket Mode envelope if url is None."""
        response_url = fields.pop("response_url", None) or self.mint_response_url()
        payload = signing.slash_command_payload(command, text, response_url=response_url, **fields)
        return await self._send(url, signing.encode_slash_command(payload), forge, stale, None)

    async def press_button(
        self,
        url: str | None,
        action_id: str,
        value: str = "",
        *,
        forge: bool = False,
        stale: bool = False,
        **fields: Any,
    ) -> Exchange:
        """Press a Block Kit button (a ``block_actions`` payload)."""
        response_url = fields.pop("response_url", None) or self.mint_response_url()
        payload = signing.block_actions_payload(
            action_id, value, response_url=response_url, **fields
        )
        return await self._send(url, signing.encode_interactive(payload), forge, stale, None)

    async def send_event(
        self,
        url: str | None,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        forge: bool = False,
        stale: bool = False,
        team_id: str = signing.TEAM_ID,
    ) -> Exchange:
        """Deliver an Events API callback (retries carry ``X-Slack-Retry-Num``)."""
        payload = signing.event_callback_payload(event, event_id=event_id, team_id=team_id)
        return await self._send(url, signing.encode_event(payload), forge, stale, retry_num)

    async def url_verification(self, url: str, challenge: str) -> signing.AppResponse:
        payload = signing.url_verification_payload(challenge)
        return await self.deliver(url, signing.encode_event(payload))

    async def _send(
        self,
        url: str | None,
        delivery: signing.Delivery,
        forge: bool,
        stale: bool,
        retry_num: int | None,
    ) -> Exchange:
        response_url = delivery.payload.get("response_url") or None
        if url is None:
            envelope_id = await self.push_envelope(
                delivery.kind,
                delivery.payload,
                retry_attempt=retry_num or 0,
                retry_reason="timeout" if retry_num else "",
            )
            return Exchange(delivery.payload, response_url, envelope_id=envelope_id)
        answer = await self.deliver(url, delivery, forge=forge, stale=stale, retry_num=retry_num)
        return Exchange(delivery.payload, response_url, http=answer)


# --------------------------------------------------------------------- request parsing


async def _read_body(request: web.Request) -> tuple[Json, bool]:
    if request.method == "GET" or not request.can_read_body:
        return {}, False
    if request.content_type == "application/json":
        data = await request.json()
        return (data if isinstance(data, dict) else {}), True
    form = await request.post()
    fields = {k: v if isinstance(v, str) else getattr(v, "filename", "") for k, v in form.items()}
    return fields, False


def _decode_fields(args: Json) -> Json:
    out = dict(args)
    for name in _JSON_FIELDS:
        value = out.get(name)
        if isinstance(value, str) and value[:1] in "[{":
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                raise SlackError(f"invalid_{name}") from None
    return out


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


def _check_token(
    method: str, token: str | None, is_json: bool, request: web.Request, fake: SlackFake
) -> None:
    # Slack ignores a token inside a JSON body: JSON calls must authenticate by header.
    if is_json and not _bearer(request.headers.get("Authorization")):
        raise SlackError("not_authed")
    if not token:
        raise SlackError("not_authed")
    if method == "apps.connections.open":
        if not token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        if fake.app_token is not None and token != fake.app_token:
            raise SlackError("invalid_auth")
        return
    if token.startswith("xapp-"):
        raise SlackError("not_allowed_token_type")
    try:
        issued = fake.oauth.check(token)
    except OAuthRefusal as e:
        raise SlackError(e.error) from None
    if issued is None and fake.bot_token is not None and token != fake.bot_token:
        raise SlackError("invalid_auth")


def _text_and_blocks(args: Json) -> tuple[str, list[Json] | None]:
    text = args.get("text") or ""
    blocks = args.get("blocks")
    if not text and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None:
        try:
            validate_blocks(blocks)
        except BlockError as e:
            raise SlackError("invalid_blocks", errors=[str(e)]) from None
    return text, blocks


# --------------------------------------------------------------------- Web API methods


def _auth_test(fake: SlackFake, args: Json, token: str | None = None) -> Json:
    # A token an install issued speaks for its own workspace and bot user.
    team = fake.oauth.team_of(token)
    return {
        "url": f"https://{signing.TEAM_DOMAIN}.slack.com/",
        "team": "Fake Community",
        "user": "communitybot",
        "team_id": team or signing.TEAM_ID,
        "user_id": fake.oauth.bot_user_id(team) if team else signing.BOT_USER_ID,
        "bot_id": f"B{team[1:]}" if team else signing.BOT_ID,
        "is_enterprise_install": False,
    }


def _post_message(fake: SlackFake, args: Json) -> Json:
    channel = fake._resolve_channel(args.get("channel"))
    text, blocks = _text_and_blocks(args)
    message = PostedMessage(
        channel, fake.next_ts(), text, blocks, thread_ts=args.get("thread_ts"), raw=args
    )
    fake.messages.append(message)
    return {"channel": channel, "ts": message.ts, "message": message.as_slack()}


def _post_ephemeral(fake: SlackFake, args: Json) -> Json:
    channel = fake._resolve_channel(args.get("channel"))
    user = fake._user(args.get("user"))
    text, blocks = _text_and_blocks(args)
    ts = fake.next_ts()
    fake.ephemerals.append(Ephemeral(channel, user["id"], text, blocks, ts))
    return {"message_ts": ts}


def _update(fake: SlackFake, args: Json) -> Json:
    channel = fake._resolve_channel(args.get("channel"))
    message = fake._message(channel, str(args.get("ts")))
    text, blocks = _text_and_blocks(args)
    message.text, message.blocks = text, blocks
    message.edits += 1
    return {"channel": channel, "ts": message.ts, "text": text, "message": message.as_slack()}


def _delete(fake: SlackFake, args: Json) -> Json:
    channel = fake._resolve_channel(args.get("channel"))
    message = fake._message(channel, str(args.get("ts")))
    message.deleted = True
    return {"channel": channel, "ts": message.ts}


def _permalink(fake: SlackFake, args: Json) -> Json:
    channel = fake._resolve_channel(args.get("channel"))
    ts = str(args.get("message_ts"))
    fake._message(channel, ts)
    link = f"https://{signing.TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"channel": channel, "permalink": link}


def _open_dm(fake: SlackFake, args: Json) -> Json:
    users = [u for u in str(args.get("users", "")).split(",") if u]
    if len(users) != 1:
        raise SlackError("users_list_not_supplied" if not users else "not_supported")
    user = fake._user(users[0])
    return {"no_op": False, "already_open": False, "channel": {"id": fake.dm_channel(user["id"])}}


def _conversation_info(fake: SlackFake, args: Json) -> Json:
    channel = args.get("channel")
    if not isinstance(channel, str) or channel[:1] not in ("C", "G", "D"):
        raise SlackError("channel_not_found")
    fake._visible(channel)
    if channel in fake.channels:
        return {"channel": fake.channels[channel]}
    if channel.startswith("D"):
        user = next((u for u, d in fake._dm_channels.items() if d == channel), None)
        if user is None:
            raise SlackError("channel_not_found")
        return {"channel": {"id": channel, "is_im": True, "user": user, "created": 1_600_000_000}}
    return {"channel": fake.add_channel(channel, channel.lower())}


def _views_publish(fake: SlackFake, args: Json) -> Json:
    user = fake._user(args.get("user_id"))
    view = args.get("view")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments")
    try:
        validate_view(view)
    except BlockError as e:
        raise SlackError("invalid_arguments", response_metadata={"messages": [str(e)]}) from None
    published = {**view, "id": f"V{next(fake._ids):09d}", "team_id": signing.TEAM_ID}
    fake.home_views[user["id"]] = published
    return {"view": published}


def _usergroup_users(fake: SlackFake, args: Json) -> Json:
    group = args.get("usergroup")
    if group not in fake.usergroups:
        raise SlackError("no_such_subteam")
    return {"users": list(fake.usergroups[group])}


def _users_info(fake: SlackFake, args: Json) -> Json:
    return {"user": fake._user(args.get("user"))}


def _connections_open(fake: SlackFake, args: Json) -> Json:
    return fake._open_connection()


def _generic_ok(fake: SlackFake, args: Json) -> Json:
    return {}


_HANDLERS: dict[str, Callable[[SlackFake, Json], Json]] = {
    "chat.postMessage": _post_message,
    "chat.postEphemeral": _post_ephemeral,
    "chat.update": _update,
    "chat.delete": _delete,
    "chat.getPermalink": _permalink,
    "conversations.open": _open_dm,
    "conversations.info": _conversation_info,
    "views.publish": _views_publish,
    "usergroups.users.list": _usergroup_users,
    "users.info": _users_info,
    "apps.connections.open": _connections_open,
}

__all__ = [
    "Ephemeral",
    "Exchange",
    "Fault",
    "PostedMessage",
    "RecordedCall",
    "ResponsePost",
    "SlackError",
    "SlackFake",
    "SocketAck",
]
