"""Slack's OAuth v2 install flow, run by bolt: `GET /slack/install` and `/slack/oauth_redirect`.

Bolt's `AsyncOAuthFlow` does the work: `/slack/install` issues a `state` (kept in the database,
and in a cookie of the installer's browser) and sends the browser to Slack's authorize page;
Slack sends it back to `/slack/oauth_redirect` with a code, which bolt checks against the state
and exchanges with `oauth.v2.access` at SLACK_API_URL, then saves the installation. What the
bot adds is the last step: whether it serves that workspace. A workspace no community takes is
refused: its installation is deleted again and the installer reads why.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.adapters.slack.installs import ROTATE_MINUTES, STATE_SECONDS, Installs, authorize_url
from bot.adapters.slack.manifest import BOT_SCOPES, REDIRECT_PATH
from bot.adapters.slack.workspaces import Workspaces

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"

# Whether the bot serves a workspace that has just installed the app: (team id, team name,
# installing user) → served. Refusing here deletes the installation.
Join = Callable[[str, str, str | None], Awaitable[bool]]

NOT_SERVED = (
    "This workspace is not part of any community this bot serves, so the installation was "
    "undone; ask the bot's operator to add its team id ({team}) to a community's "
    "slack.team_ids, or to turn on open installs."
)
# What a command from a workspace without an installation is answered (bolt's authorize found
# no token for it: never installed, refused, or uninstalled since).
NOT_INSTALLED = (
    "communitybot is not installed in this workspace; ask a workspace admin to install it again."
)
NOT_RECORDED = "The bot could not record the installation just now; please try again in a minute."
NO_ORG_INSTALLS = (
    "The app can be installed in a workspace, not across an Enterprise Grid organization; "
    "install it in each workspace instead."
)


def oauth_settings(
    *,
    client_id: str,
    client_secret: str,
    api_url: str,
    redirect_uri: str | None,
    store: AsyncSQLAlchemyInstallationStore,
    states: AsyncOAuthStateStore,
    callbacks: AsyncCallbackOptions,
) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        # The manifest's scopes, and no user token (an empty list, not bolt's environment).
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        # Unset, Slack uses the app's one configured redirect URL.
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # /slack/install goes straight to Slack's page (no page of ours to click through).
        install_page_rendering_enabled=False,
        callback_options=callbacks,
        authorization_url=authorize_url(api_url),
        installation_store=store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_MINUTES,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )


class InstallFlow:
    """The two routes, and what happens when an installation completes or fails."""

    def __init__(self, installs: Installs, workspaces: Workspaces, join: Join) -> None:
        self.installs = installs
        self.workspaces = workspaces
        self.join = join
        self.flow: AsyncOAuthFlow | None = None  # bolt's, once the app is built

    def callbacks(self) -> AsyncCallbackOptions:
        return AsyncCallbackOptions(success=self._installed, failure=self._failed)

    def add_routes(self, web_app: web.Application, flow: AsyncOAuthFlow) -> None:
        self.flow = flow
        web_app.router.add_get(INSTALL_PATH, self._install)
        web_app.router.add_get(REDIRECT_PATH, self._redirect)

    async def _install(self, request: web.Request) -> web.Response:
        assert self.flow is not None
        answer = await self.flow.handle_installation(await to_bolt_request(request))
        return await to_aiohttp_response(answer)

    async def _redirect(self, request: web.Request) -> web.Response:
        assert self.flow is not None
        answer = await self.flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(answer)

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        team_id = installation.team_id
        if team_id is None or installation.bot_token is None:
            await self.installs.store.async_delete_all(
                enterprise_id=installation.enterprise_id, team_id=team_id
            )
            log.warning(
                "refused an organization-wide Slack install (%s)", installation.enterprise_id
            )
            return page(400, "Not installed", NO_ORG_INSTALLS)
        name = installation.team_name or team_id
        try:
            served = await self.join(team_id, name, installation.user_id)
        except Exception:
            # The workspace must not stay installed without a community (or the reverse).
            log.exception("could not record the Slack install of workspace %s", team_id)
            await self.installs.remove(team_id, installation.enterprise_id)
            return page(503, "Not installed", NOT_RECORDED)
        if not served:
            await self.installs.remove(team_id, installation.enterprise_id)
            log.warning(
                "refused the Slack install of workspace %s: no community serves it", team_id
            )
            return page(403, "Not installed", NOT_SERVED.format(team=team_id))
        self.workspaces.seen(team_id, installation.bot_token)
        log.info("Slack workspace %s installed the app", team_id)
        return await args.default.success(args)

    async def _failed(self, args: AsyncFailureArgs) -> BoltResponse:
        log.warning("a Slack install did not complete: %s", args.reason)
        return await args.default.failure(args)


def page(status: int, title: str, sentence: str) -> BoltResponse:
    """A small HTML page for the installer's browser."""
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(sentence)}</p></body></html>\n"
    )
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )
