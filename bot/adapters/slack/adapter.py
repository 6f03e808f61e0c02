"""Slack: a bolt AsyncApp on the bot's aiohttp server (POST /slack/events) or Socket Mode.

The adapter only translates. A slash command becomes an Invocation, a button a Press, and
the core's Reply comes back as Block Kit. Persist, then acknowledge: bolt runs in
`process_before_response` mode, so the dispatcher's transaction has committed before the ack
leaves; a reply that needs more than one message, and anything slow, follows through
the response_url as tasks the adapter tracks (and `drain` awaits). If the core ever takes longer
than ACK_BUDGET, the ack says so and the answer follows when ready: Slack gives up at 3 s.

Every Web API call goes through the client of its workspace (adapters.slack.workspaces): the
one SLACK_BOT_TOKEN, or with OAuth installs (SLACK_CLIENT_ID/SECRET) the bot token that
workspace's installation holds, which bolt's authorize finds for a request from Slack and the
adapter finds for a scheduled message from the message's community.

Over HTTP, adapters.slack.requests checks each request's signature and shape before bolt
sees it (400/401 and one log line otherwise). Slack redelivers only Events API callbacks
(deduplicated by event_id in the database); slash commands and button presses are never
redelivered, so a second copy of one's signature is a replay: the signature is the
invocation's dedup key, recorded in the command's own transaction (no extra write), and a
replay is answered 200 with no effect. Read-only commands record nothing: a replay of one
only answers again.
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
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import (
    AsyncAuthorize,
    AsyncInstallationStoreAuthorize,
)
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.home import home_view
from bot.adapters.slack.install_flow import NOT_INSTALLED, InstallFlow, oauth_settings
from bot.adapters.slack.installs import ROTATE_MINUTES, Installs, installation_store, state_store
from bot.adapters.slack.manifest import REDIRECT_PATH
from bot.adapters.slack.people import SlackUsers
from bot.adapters.slack.render import SlackMessage, render
from bot.adapters.slack.requests import check
from bot.adapters.slack.web_api import api_error, build_client, delivery_error, retry_handlers
from bot.adapters.slack.workspaces import Workspace, Workspaces
from bot.core.errors import UserError
from bot.core.invocation import Actor, Invocation, Place, Platform, Press
from bot.core.message import Message
from bot.core.ports import DeliveryError, outbound_community
from bot.core.replies import Reply
from bot.core.targets import Target, TargetKind
from bot.runtime.communities import Community
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


def refuse_mixed_modes(env: Mapping[str, str]) -> None:
    """One workspace's SLACK_BOT_TOKEN, with SLACK_CLIENT_ID/SECRET in the environment: bolt
    would read them and silently run an OAuth flow of its own beside the token."""
    if env.get("SLACK_CLIENT_ID") or env.get("SLACK_CLIENT_SECRET"):
        raise SlackConfigError(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth installs) are set in the environment "
            "beside SLACK_BOT_TOKEN; unset them to serve one workspace."
        )


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client (which carries that same
    # token, SLACK_API_URL and the retry handlers) and our `authorize` take precedence:
    # true, and not news.
    message = record.getMessage()
    return "token` will be unused" not in message and "will be ignored" not in message


def _replay_key(request: Any) -> str | None:
    """Slack never redelivers a command or a press, so a second copy of one's signature is a
    replay: the dispatcher records the key in the command's own transaction and gives a
    replay no effect. (Socket Mode requests carry no signature, and cannot be replayed.)"""
    values = request.headers.get("x-slack-signature") or []
    return f"sig:{values[0]}" if values else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _OneWorkspace(AsyncAuthorize):
    """One workspace, one token: what bolt needs, from the start-up auth.test, no call."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    async def __call__(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: str | None,
    ) -> AuthorizeResult:
        bot_user_id, bot_id = self.adapter._bot_ids
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=self.adapter.client.token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            user_id=user_id,
        )


class SlackAdapter:
    platform = Platform.SLACK

    def __init__(
        self, services: Services, dispatcher: Dispatcher, web_app: web.Application
    ) -> None:
        settings = services.settings
        # Many workspaces, each installing the app (OAuth), or the one of SLACK_BOT_TOKEN.
        self.oauth = settings.slack_oauth
        if not self.oauth:
            refuse_mixed_modes(os.environ)
            if settings.slack_bot_token is None:
                raise SlackConfigError("SLACK_BOT_TOKEN is not set.")
        self.services = services
        self.dispatcher = dispatcher
        self.settings = settings
        self.app_token = settings.slack_app_token
        self.socket_mode = self.app_token is not None
        # One pooled session for every Web API call (a new TLS connection per call is slow).
        self._session = aiohttp.ClientSession()
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # The app's own client: the one workspace's, or (OAuth) tokenless, for the install
        # flow's oauth.v2.access and token refreshes; both at SLACK_API_URL.
        self.client = build_client(token, settings.slack_api_url, self._session)
        # Every community's maintainer groups and people: which community's they are is
        # the dispatcher's question (is_maintainer with that community's settings).
        each = [s.slack for _key, s in settings.per_community()]
        self._groups = sorted({g for slack in each for g in slack.maintainer_usergroups})
        # A listed maintainer needs no group look-up, unless another community may know
        # them by a group only.
        self._listed = frozenset(settings.slack.maintainers if len(each) == 1 else ())
        # A `--ping` post pings its community's announce_ping, known by the channel it is in.
        self._pings = {c: slack.announce_ping for slack in each for c in slack.announce_channels}
        secret = settings.slack_signing_secret
        # POST /slack/events checks signatures itself before bolt parses anything.
        self._verifier = SignatureVerifier(secret.get_secret_value()) if secret else None
        self._bot_ids: tuple[str | None, str | None] = (None, None)  # (user id, bot id)
        bolt_log = logging.getLogger("bot.adapters.slack.adapter.bolt")
        bolt_log.addFilter(_quiet_token_warning)
        signing_secret = secret.get_secret_value() if secret else ""
        self.installs: Installs | None = None
        if self.oauth:
            self.app = self._installed_app(bolt_log, signing_secret, web_app)
        else:
            self.workspaces = Workspaces(
                self._session,
                settings.slack_api_url,
                lambda _team: self._groups,
                client=self.client,
            )
            self.app = AsyncApp(
                client=self.client,
                signing_secret=signing_secret,
                process_before_response=True,
                logger=bolt_log,
                # Bolt's default calls auth.test on a request until one succeeds: with Slack
                # unreachable every command waited for its retries and then failed with a 500.
                authorize=_OneWorkspace(self),
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
        if self.oauth:
            self.app.event("app_uninstalled", middleware=[self._dedup_events])(self._on_uninstalled)
            self.app.event("tokens_revoked", middleware=[self._dedup_events])(self._on_revoked)
        self.users = SlackUsers(self.client)
        dispatcher.member_parsers[Platform.SLACK] = self.users.parse
        if not self.socket_mode:
            web_app.router.add_post("/slack/events", self._http)
        self._socket: AsyncSocketModeHandler | None = None
        self._followups: set[asyncio.Task[Any]] = set()
        self._connected = False
        self._reconnect: asyncio.Task[None] | None = None
        self.ack_budget = ACK_BUDGET

    def _installed_app(
        self, bolt_log: logging.Logger, signing_secret: str, web_app: web.Application
    ) -> AsyncApp:
        """Bolt for OAuth installs: its install flow and authorize over slack_sdk's stores,
        which get the bot's own engine (one database, shared by replicas)."""
        settings, engine = self.settings, self.services.db.engine
        assert settings.slack_client_id and settings.slack_client_secret
        client_id = settings.slack_client_id
        client_secret = settings.slack_client_secret.get_secret_value()
        store = installation_store(client_id, engine)
        self.installs = Installs(store, client_id, client_secret, self.client)
        self.workspaces = Workspaces(
            self._session,
            settings.slack_api_url,
            self._groups_of_team,
            installs=self.installs,
            teams_of=self._teams_of,
        )
        flow = InstallFlow(self.installs, self.workspaces, self._join)
        app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            process_before_response=True,
            logger=bolt_log,
            installation_store=store,
            # Only bot tokens: one query of slack_bots per request.
            installation_store_bot_only=True,
            # Bolt's own authorize over the installations, built here so that its token
            # refreshes go to SLACK_API_URL (the one bolt builds would call slack.com);
            # it caches each token's auth.test, so a command costs no extra call.
            authorize=AsyncInstallationStoreAuthorize(
                logger=bolt_log,
                installation_store=store,
                bot_only=True,
                client_id=client_id,
                client_secret=client_secret,
                token_rotation_expiration_minutes=ROTATE_MINUTES,
                cache_enabled=True,
                client=self.client,
            ),
            oauth_settings=oauth_settings(
                client_id=client_id,
                client_secret=client_secret,
                api_url=settings.slack_api_url,
                redirect_uri=self.redirect_url if settings.public_url else None,
                store=store,
                states=state_store(engine),
                callbacks=flow.callbacks(),
            ),
            user_facing_authorize_error_message=NOT_INSTALLED,
        )
        assert app.oauth_flow is not None
        flow.add_routes(web_app, app.oauth_flow)
        return app

    # ------------------------------------------------------------------ lifecycle

    @property
    def redirect_url(self) -> str:
        """Where Slack sends an installer back to (the manifest's oauth_config.redirect_urls)."""
        return self.settings.base_url + REDIRECT_PATH

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
        elif self.oauth:
            # No token to check: each workspace brings its own when it installs the app, and
            # the client credentials and signing secret are all it takes to serve one.
            self._connected = True
        elif not await self._check_token():
            self._reconnect = asyncio.create_task(self._keep_checking())
        one = self.workspaces.one
        if one is not None and one.usergroups.groups:
            await one.usergroups.refresh()

    async def _check_token(self) -> bool:
        try:
            auth = await self.client.auth_test()
        except Exception as exc:
            log.error("Slack did not accept the bot token yet: %s", delivery_error(exc).reason)
            return False
        user_id, bot_id = auth.get("user_id"), auth.get("bot_id")
        self._bot_ids = (
            user_id if isinstance(user_id, str) else None,
            bot_id if isinstance(bot_id, str) else None,
        )
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
        await self.workspaces.close()
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
        refused = check(self._verifier, await request.read(), request.headers)
        if refused is not None:
            log.warning("refused a request to /slack/events: %s", refused.reason)
            return web.Response(status=refused.status, text=refused.reason)
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    # ------------------------------------------------------------------ inbound

    def _groups_of_team(self, team_id: str | None) -> list[str]:
        """The maintainer user groups of the community `team_id` belongs to (OAuth mode)."""
        community = self._community_of(team_id)
        return list(community.settings.slack.maintainer_usergroups) if community else []

    def _community_of(self, team_id: str | None) -> Community | None:
        communities = self.services.communities
        if communities is None:
            return None
        return communities.for_place(self._place(None, team_id))

    def _teams_of(self, community_id: int | None) -> list[str] | None:
        """The workspaces a community's messages go to (None: every installed one)."""
        communities = self.services.communities
        community = communities.by_id(community_id) if communities and community_id else None
        if community is None or not community.mapped:
            return None
        return list(community.settings.slack.team_ids)

    async def _join(self, team_id: str, name: str, installer: str | None) -> bool:
        """Whether a community serves the workspace that has just installed the app: the
        config's, or with open installs one of its own, the installer its maintainer."""
        communities = self.services.communities
        if communities is None:
            return True
        joined = await communities.joined(Platform.SLACK, team_id, name=name, maintainer=installer)
        return joined is not None

    def _workspace(self, context: Any, team_id: object) -> Workspace:
        """The workspace of a request, with the token bolt's authorize found for it."""
        team = team_id if isinstance(team_id, str) and team_id else context.team_id
        return self.workspaces.seen(team, context.bot_token)

    async def _actor(self, workspace: Workspace, user_id: str, name: str) -> Actor:
        roles: frozenset[str] = frozenset()
        if user_id not in self._listed:
            roles = await workspace.usergroups.groups_of(user_id)
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

    async def _on_command(
        self, ack: Any, command: dict[str, Any], request: Any, context: Any
    ) -> None:
        workspace = self._workspace(context, command.get("team_id"))
        user_id = str(command.get("user_id") or "")
        response_url = str(command.get("response_url") or "")
        text = str(command.get("text") or "")
        received_at = self.services.clock()

        async def work() -> Reply:
            # Looking people up talks to Slack, so it counts against the ack budget too.
            await self.users.prime(text, workspace.client)
            inv = Invocation(
                command=self._canonical[command["command"]],
                actor=await self._actor(workspace, user_id, str(command.get("user_name") or "")),
                place=self._place(command.get("channel_id"), command.get("team_id")),
                text=text,
                received_at=received_at,
                dedup_key=_replay_key(request),
            )
            return await self.dispatcher.handle(inv)

        async def late(task: asyncio.Task[Reply]) -> None:
            await self._respond(response_url, await task, replace=False)

        reply = await self._within_budget(work(), late)
        if reply is None:
            await ack(text=STILL_WORKING, response_type="ephemeral")
            return
        first, *rest = self._rendered(reply)
        kind = "in_channel" if reply.public else "ephemeral"
        await ack(text=first.text, blocks=first.blocks, response_type=kind)
        if rest:
            self._follow(self._send_parts(response_url, rest, kind, replace=False))

    async def _on_action(self, ack: Any, body: dict[str, Any], request: Any, context: Any) -> None:
        # The HTTP gate checked the shape; Socket Mode payloads come here unchecked.
        workspace = self._workspace(context, _dict(body.get("team")).get("id"))
        actions = body.get("actions")
        action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        response_url = str(body.get("response_url") or "")
        user = _dict(body.get("user"))
        user_id = str(user.get("id") or "")
        channel = _dict(body.get("channel")).get("id") or _dict(body.get("container")).get(
            "channel_id"
        )
        channel = channel if isinstance(channel, str) else None

        async def work() -> Reply:
            press = Press(
                action_id=str(action.get("action_id") or ""),
                actor=await self._actor(
                    workspace, user_id, str(user.get("username") or user.get("name") or "")
                ),
                place=self._place(channel, _dict(body.get("team")).get("id")),
                dedup_key=_replay_key(request),
            )
            return await self.dispatcher.press(press)

        async def late(task: asyncio.Task[Reply]) -> None:
            reply = await task
            await self._respond(response_url, reply, replace=reply.replace)

        reply = await self._within_budget(work(), late)
        await ack()
        if reply is not None:
            self._follow(self._respond(response_url, reply, replace=reply.replace))

    async def _respond(self, response_url: str, reply: Reply, *, replace: bool) -> None:
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

    async def _on_home(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            team_id = body.get("team_id")
            workspace = self._workspace(context, team_id)
            self._follow(
                self.publish_home(event["user"], str(team_id) if team_id else None, workspace)
            )

    async def publish_home(
        self, user_id: str, team_id: str | None = None, workspace: Workspace | None = None
    ) -> None:
        if workspace is None:
            workspace = self.workspaces.one or await self.workspaces.of_team(team_id or "")
        actor = Actor(Platform.SLACK, user_id, "", await workspace.usergroups.groups_of(user_id))
        try:
            view = await home_view(self.services, self.dispatcher, actor, team_id)
        except UserError:
            log.info("no Home tab for %s: workspace %s is in no community", user_id, team_id)
            return
        await workspace.client.views_publish(user_id=user_id, view=view)

    async def _on_uninstalled(self, context: Any) -> None:
        await self._gone(context.team_id, context.enterprise_id, "uninstalled the app")

    async def _on_revoked(self, event: dict[str, Any], context: Any) -> None:
        # Only the bot token matters: the app asks for no user token.
        if _dict(event.get("tokens")).get("bot"):
            await self._gone(context.team_id, context.enterprise_id, "revoked the bot token")

    async def _gone(self, team_id: str | None, enterprise_id: str | None, what: str) -> None:
        """The workspace removed the app: forget its installation and stop sending there."""
        if team_id is None or self.installs is None:
            return
        await self.installs.remove(team_id, enterprise_id)
        self.workspaces.forget(team_id)
        # Its community stops sending there: pending deliveries fail now, with the reason.
        # The single form serves whichever workspaces are installed, now and later, so it
        # does not leave: a send to a workspace without the app fails when it comes due.
        communities = self.services.communities
        if communities is not None and communities.default.mapped:
            await communities.left(Platform.SLACK, team_id)
        log.warning("Slack workspace %s %s; nothing more is sent there", team_id, what)

    # ------------------------------------------------------------------ outbound

    async def _outbound(self, ident: str) -> Workspace:
        """The workspace a scheduled message to channel or member `ident` goes through."""
        return await self.workspaces.for_outbound(outbound_community.get(), ident)

    async def _channel(self, workspace: Workspace, target: Target) -> str:
        if target.kind is TargetKind.CHANNEL:
            return target.id
        if target.id not in workspace.dm_channels:
            opened = await workspace.client.conversations_open(users=target.id)
            workspace.dm_channels[target.id] = opened["channel"]["id"]
        return workspace.dm_channels[target.id]

    def _parts_for(
        self, message: Message, zone: str | None, channel: str | None = None
    ) -> list[SlackMessage]:
        ping = self._pings.get(channel or "", self.settings.slack.announce_ping)
        return render(message, ping=ping, reader_zone=zone)

    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        del nonce  # Slack has no idempotency key for chat.postMessage
        try:
            workspace = await self._outbound(target.id)
            channel = await self._channel(workspace, target)
            stamps = []
            for part in self._parts_for(message, zone, channel):
                posted = await workspace.client.chat_postMessage(
                    channel=channel, **part.as_kwargs()
                )
                stamps.append(posted["ts"])
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc) from exc
        return f"{channel}/{','.join(stamps)}"

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        channel, _, joined = ref.partition("/")
        stamps = [s for s in joined.split(",") if s]
        try:
            client = (await self._outbound(channel)).client
            parts = self._parts_for(message, zone, channel)
            for ts, part in zip(stamps, parts, strict=False):
                await client.chat_update(channel=channel, ts=ts, **part.as_kwargs())
            for part in parts[len(stamps) :]:
                await client.chat_postMessage(channel=channel, **part.as_kwargs())
            for ts in stamps[len(parts) :]:
                await _delete_one(client, channel, ts)
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def delete(self, target: Target, ref: str) -> None:
        del target
        channel, _, joined = ref.partition("/")
        try:
            client = (await self._outbound(channel)).client
            for ts in (s for s in joined.split(",") if s):
                await _delete_one(client, channel, ts)
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        """For the start-up check: each configured channel the bot cannot post in, and why."""
        problems: dict[str, str] = {}
        for channel in channel_ids:
            try:
                client = (await self._outbound(channel)).client
                info = (await client.conversations_info(channel=channel))["channel"]
            except DeliveryError as exc:
                problems[channel] = exc.reason
                continue
            except SlackApiError as exc:
                error = api_error(exc)
                problems[channel] = _CHANNEL_HINTS.get(error, f"Slack answered {error}")
                continue
            except Exception as exc:
                problems[channel] = f"could not check it ({delivery_error(exc).reason})"
                continue
            if info.get("is_archived"):
                problems[channel] = _CHANNEL_HINTS["is_archived"]
        return problems


async def _delete_one(client: AsyncWebClient, channel: str, ts: str) -> None:
    try:
        await client.chat_delete(channel=channel, ts=ts)
    except SlackApiError as exc:
        if api_error(exc) != "message_not_found":  # already gone is fine
            raise
