"""Slack: a bolt AsyncApp on the bot's aiohttp server (POST /slack/events) or Socket Mode.

The adapter only translates. A slash command becomes an Invocation, a button a Press, and
the core's Reply comes back as Block Kit. Persist, then acknowledge: bolt runs in
`process_before_response` mode, so the dispatcher's transaction has committed before the ack
leaves; a reply that needs more than one message, and anything slow, follows through
the response_url as tasks the adapter tracks (and `drain` awaits). If the core ever takes longer
than ACK_BUDGET, the ack says so and the answer follows when ready: Slack gives up at 3 s.

Slack redelivers only Events API callbacks (deduplicated by event_id in the database);
slash commands and button presses are never redelivered, so they carry no dedup key,
which would cost a database write per command.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.home import home_view
from bot.adapters.slack.people import SlackUsers, UserGroups
from bot.adapters.slack.render import SlackMessage, render
from bot.adapters.slack.web_api import build_client, delivery_error, retry_handlers
from bot.core.invocation import Actor, Invocation, Place, Platform, Press
from bot.core.message import Message
from bot.core.ports import DeliveryError
from bot.core.replies import Reply
from bot.core.targets import Target, TargetKind
from bot.runtime.dispatch import Dispatcher
from bot.runtime.services import Services
from bot.store.inbound import first_arrival

log = logging.getLogger(__name__)

ACK_BUDGET = 2.5  # seconds; Slack shows an error to the person after 3
STILL_WORKING = "Working on it… the answer follows in a moment."


_CHANNEL_HINTS = {
    "channel_not_found": (
        "the channel does not exist or the bot cannot see it; for a private channel, "
        "invite the bot with /invite @communitybot"
    ),
    "is_archived": "the channel is archived; unarchive it or configure another one",
    "missing_scope": "the app lacks the channels:read/groups:read scope; reinstall it",
}


class SlackConfigError(Exception):
    """Slack settings the adapter cannot run with; the message is one sentence."""


def refuse_oauth(env: dict[str, str] | os._Environ[str], settings_has_oauth: bool) -> None:
    # SLACK_CLIENT_ID + SLACK_CLIENT_SECRET silently switch bolt to OAuth (multi-workspace).
    if settings_has_oauth or env.get("SLACK_CLIENT_ID") or env.get("SLACK_CLIENT_SECRET"):
        raise SlackConfigError(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set, but multi-workspace (OAuth) installs "
            "are not supported yet; unset them and use SLACK_BOT_TOKEN."
        )


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client (which carries that same
    # token, SLACK_API_URL and the retry handlers) takes precedence: true, and not news.
    return "token` will be unused" not in record.getMessage()


class SlackAdapter:
    platform = Platform.SLACK

    def __init__(
        self, services: Services, dispatcher: Dispatcher, web_app: web.Application
    ) -> None:
        settings = services.settings
        refuse_oauth(os.environ, bool(settings.slack_client_id or settings.slack_client_secret))
        if settings.slack_bot_token is None:
            raise SlackConfigError("SLACK_BOT_TOKEN is not set.")
        self.services = services
        self.dispatcher = dispatcher
        self.settings = settings
        self.app_token = settings.slack_app_token
        self.socket_mode = self.app_token is not None
        # One pooled session for every Web API call (a new TLS connection per call is slow).
        self._session = aiohttp.ClientSession()
        self.client = build_client(
            settings.slack_bot_token.get_secret_value(), settings.slack_api_url, self._session
        )
        self.usergroups = UserGroups(self.client, settings.slack.maintainer_usergroups)
        secret = settings.slack_signing_secret
        bolt_log = logging.getLogger("bot.adapters.slack.adapter.bolt")
        bolt_log.addFilter(_quiet_token_warning)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else "",
            process_before_response=True,
            logger=bolt_log,
        )
        # Canonical command ↔ the name this workspace uses ([slack] commands renames them).
        self.names = {g: settings.slack.commands.get(g, g) for g in services.registry.groups}
        for canonical in settings.slack.commands:
            if canonical not in self.names:
                log.warning("[slack] commands renames /%s, which is not a command", canonical)
        self._canonical = {f"/{slack}": canonical for canonical, slack in self.names.items()}
        # One listener for every command: bolt tries listeners one by one, each try costing an
        # argument injection, so N listeners made the last command pay N matches.
        names = "|".join(re.escape(name) for name in sorted(self._canonical))
        self.app.command(re.compile(f"^(?:{names})$"))(self._on_command)
        self.app.action(re.compile(".+"))(self._on_action)
        # Only events are redelivered, so only event listeners pay for the dedup check.
        self.app.event("app_home_opened", middleware=[self._dedup_events])(self._on_home)
        self.users = SlackUsers(self.client)
        dispatcher.member_parsers[Platform.SLACK] = self.users.parse
        if not self.socket_mode:
            web_app.router.add_post("/slack/events", self._http)
        self._socket: AsyncSocketModeHandler | None = None
        self._followups: set[asyncio.Task[Any]] = set()
        self._dm_channels: dict[str, str] = {}
        self._connected = False
        self._reconnect: asyncio.Task[None] | None = None
        self.ack_budget = ACK_BUDGET

    # ------------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        if self._socket is not None:
            session = self._socket.client.current_session
            return session is not None and not session.closed and not self._socket.client.closed
        return self._connected

    async def start(self) -> None:
        if self.socket_mode:
            assert self.app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.app, self.app_token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()
        elif not await self._check_token():
            self._reconnect = asyncio.create_task(self._keep_checking())
        if self.usergroups.groups:
            await self.usergroups.refresh()

    async def _check_token(self) -> bool:
        try:
            await self.client.auth_test()
        except Exception as exc:
            log.error("Slack did not accept the bot token yet: %s", delivery_error(exc).reason)
            return False
        self._connected = True
        return True

    async def _keep_checking(self) -> None:
        delay = 1.0
        while not await self._check_token():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def stop(self) -> None:
        self._connected = False
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._socket is not None:
            await self._socket.close_async()
        await self.drain(within=5.0)
        for task in list(self._followups):
            task.cancel()
        await self.usergroups.close()
        await self._session.close()

    async def drain(self, within: float = 10.0) -> None:
        """Wait until every follow-up (respond, App Home) started so far has finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._followups and loop.time() < deadline:
            await asyncio.wait(set(self._followups), timeout=deadline - loop.time())

    def _follow(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._followups.add(task)
        task.add_done_callback(self._followup_done)

    def _followup_done(self, task: asyncio.Task[Any]) -> None:
        self._followups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack follow-up failed", exc_info=task.exception())

    async def _http(self, request: web.Request) -> web.Response:
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    # ------------------------------------------------------------------ inbound

    async def _actor(self, user_id: str, name: str) -> Actor:
        roles: frozenset[str] = frozenset()
        if user_id not in self.settings.slack.maintainers:
            roles = await self.usergroups.groups_of(user_id)
        return Actor(Platform.SLACK, user_id, name, roles)

    @staticmethod
    def _place(channel_id: str | None, team_id: str | None) -> Place:
        return Place(
            Platform.SLACK,
            channel_id=channel_id,
            guild_id=team_id,
            is_dm=bool(channel_id and channel_id.startswith("D")),
        )

    async def _within_budget(
        self,
        work: Awaitable[Reply],
        late: Callable[[asyncio.Task[Reply]], Coroutine[Any, Any, None]],
    ) -> Reply | None:
        """The reply, or None when it is not ready within ACK_BUDGET (`late` takes it over)."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.ack_budget)
        if task in done:
            return task.result()
        self._follow(late(task))
        return None

    def _rendered(self, reply: Reply) -> list[SlackMessage]:
        # A private answer is read by the asker alone: their own zone in the fallback text.
        zone = None if reply.public else reply.zone
        return render(reply.message, ping=self.settings.slack.announce_ping, reader_zone=zone)

    async def _on_command(self, ack: Any, command: dict[str, Any]) -> None:
        user_id = command["user_id"]
        response_url = command.get("response_url", "")
        await self.users.prime(command.get("text", ""))
        inv = Invocation(
            command=self._canonical[command["command"]],
            actor=await self._actor(user_id, command.get("user_name", "")),
            place=self._place(command.get("channel_id"), command.get("team_id")),
            text=command.get("text", ""),
            received_at=self.services.clock(),
        )

        async def late(task: asyncio.Task[Reply]) -> None:
            await self._respond(response_url, await task, user_id, replace=False)

        reply = await self._within_budget(self.dispatcher.handle(inv), late)
        if reply is None:
            await ack(text=STILL_WORKING, response_type="ephemeral")
            return
        first, *rest = self._rendered(reply)
        kind = "in_channel" if reply.public else "ephemeral"
        await ack(text=first.text, blocks=first.blocks, response_type=kind)
        if rest:
            self._follow(self._send_parts(response_url, rest, kind, replace=False))

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        action = body["actions"][0]
        response_url = body.get("response_url", "")
        user = body.get("user") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        press = Press(
            action_id=action.get("action_id", ""),
            actor=await self._actor(
                user.get("id", ""), user.get("username") or user.get("name", "")
            ),
            place=self._place(channel, (body.get("team") or {}).get("id")),
        )

        async def late(task: asyncio.Task[Reply]) -> None:
            reply = await task
            await self._respond(response_url, reply, press.actor.user_id, replace=reply.replace)

        reply = await self._within_budget(self.dispatcher.press(press), late)
        await ack()
        if reply is not None:
            self._follow(
                self._respond(response_url, reply, press.actor.user_id, replace=reply.replace)
            )

    async def _respond(
        self, response_url: str, reply: Reply, user_id: str, *, replace: bool
    ) -> None:
        parts = self._rendered(reply)
        kind = "in_channel" if reply.public else "ephemeral"
        await self._send_parts(response_url, parts, kind, replace=replace)

    async def _send_parts(
        self, response_url: str, parts: list[SlackMessage], kind: str, *, replace: bool
    ) -> None:
        """Post to the response_url (five posts at most; the renderer stays well within)."""
        if not response_url:
            log.warning("Slack sent no response_url; %d message(s) not delivered", len(parts))
            return
        # slack_sdk's webhook client on the adapter's pooled session (bolt's `respond` opens
        # a new connection for every post), with the same counted retries as the Web API.
        hook = AsyncWebhookClient(
            response_url, session=self._session, retry_handlers=retry_handlers()
        )
        for i, part in enumerate(parts[:5]):
            answer = await hook.send(
                text=part.text,
                blocks=part.blocks,
                response_type=kind,
                replace_original=replace and i == 0,
            )
            if answer.status_code != 200:
                log.warning(
                    "Slack refused a response_url post: %s %s", answer.status_code, answer.body
                )
                return

    async def _dedup_events(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        # Slack redelivers an event it thinks we missed (X-Slack-Retry-Num); each delivery is
        # acknowledged, but only the first has an effect. The row is written before the ack.
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            async with self.services.db.session() as session:
                first = await first_arrival(
                    session, str(Platform.SLACK), f"event:{event_id}", self.services.clock()
                )
            if not first:
                return BoltResponse(status=200, body="")
        return await next()

    async def _on_home(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            self._follow(self.publish_home(event["user"]))

    async def publish_home(self, user_id: str) -> None:
        actor = Actor(Platform.SLACK, user_id, "", await self.usergroups.groups_of(user_id))
        view = await home_view(self.services, self.dispatcher, actor)
        await self.client.views_publish(user_id=user_id, view=view)

    # ------------------------------------------------------------------ outbound

    async def _channel(self, target: Target) -> str:
        if target.kind is TargetKind.CHANNEL:
            return target.id
        if target.id not in self._dm_channels:
            opened = await self.client.conversations_open(users=target.id)
            self._dm_channels[target.id] = opened["channel"]["id"]
        return self._dm_channels[target.id]

    def _parts_for(self, message: Message, zone: str | None) -> list[SlackMessage]:
        return render(message, ping=self.settings.slack.announce_ping, reader_zone=zone)

    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        del nonce  # Slack has no idempotency key for chat.postMessage
        try:
            channel = await self._channel(target)
            stamps = []
            for part in self._parts_for(message, zone):
                posted = await self.client.chat_postMessage(channel=channel, **part.as_kwargs())
                stamps.append(posted["ts"])
        except Exception as exc:
            raise delivery_error(exc) from exc
        return f"{channel}/{','.join(stamps)}"

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        channel, _, joined = ref.partition("/")
        stamps = [s for s in joined.split(",") if s]
        try:
            parts = self._parts_for(message, zone)
            for ts, part in zip(stamps, parts, strict=False):
                await self.client.chat_update(channel=channel, ts=ts, **part.as_kwargs())
            for part in parts[len(stamps) :]:
                await self.client.chat_postMessage(channel=channel, **part.as_kwargs())
            for ts in stamps[len(parts) :]:
                await self._delete_one(channel, ts)
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def delete(self, target: Target, ref: str) -> None:
        del target
        channel, _, joined = ref.partition("/")
        try:
            for ts in (s for s in joined.split(",") if s):
                await self._delete_one(channel, ts)
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        """For the start-up check: each configured channel the bot cannot post in, and why."""
        problems: dict[str, str] = {}
        for channel in channel_ids:
            try:
                info = (await self.client.conversations_info(channel=channel))["channel"]
            except SlackApiError as exc:
                error = str(exc.response.get("error", ""))
                problems[channel] = _CHANNEL_HINTS.get(error, f"Slack answered {error}")
                continue
            except Exception as exc:
                problems[channel] = f"could not check it ({delivery_error(exc).reason})"
                continue
            if info.get("is_archived"):
                problems[channel] = _CHANNEL_HINTS["is_archived"]
        return problems

    async def _delete_one(self, channel: str, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":  # already gone is fine
                raise
