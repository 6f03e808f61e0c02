"""Slack's side of OAuth v2 installs, for the Slack fake (tests/fakes/slack_api.py).

- ``GET /oauth/v2/authorize``: Slack's authorize page. The person at it is whoever the test
  named with :meth:`FakeOAuth.approve_as`; it approves at once, and the browser is sent to the
  app's redirect URL (``redirect_uri``, else the one configured, :attr:`FakeOAuth.redirect_url`)
  with a one-time ``code`` and the app's ``state``.
- ``oauth.v2.access``: exchanges that code (client id and secret by HTTP Basic auth, as
  slack_sdk sends them) for the workspace's bot token; with :attr:`FakeOAuth.token_lifetime`
  set, tokens rotate: the answer carries ``refresh_token`` and ``expires_in``, and
  ``grant_type=refresh_token`` trades a refresh token for a new pair.

Every token it issues belongs to one workspace; the Web API answers ``auth.test`` with that
workspace, refuses a token once its workspace uninstalled the app (``token_revoked``) or once
it expired (``token_expired``), and records which token each call used.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

Json = dict[str, Any]


class OAuthRefusal(Exception):
    """Slack's ``{"ok": false, "error": ...}`` for an OAuth call or a token."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, slots=True)
class Installer:
    team_id: str
    team_name: str
    user_id: str


@dataclass(slots=True)
class IssuedToken:
    """A bot token the fake handed out."""

    token: str
    team_id: str
    bot_user_id: str
    expires_at: float | None
    revoked: bool = False


class FakeOAuth:
    def __init__(self, client_id: str, client_secret: str, app_id: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_id = app_id
        # The app's configured redirect URL (Slack's app settings), used without redirect_uri.
        self.redirect_url: str | None = None
        # Seconds a bot token lives; None: tokens never expire (rotation off).
        self.token_lifetime: int | None = None
        self.authorize_requests: list[Mapping[str, str]] = []
        self.tokens: dict[str, IssuedToken] = {}
        self._installer: Installer | None = None
        self._codes: dict[str, Installer] = {}
        self._refresh: dict[str, str] = {}  # refresh token → team id
        self._serial = itertools.count(1)

    def approve_as(self, team_id: str, team_name: str, user_id: str) -> None:
        """Who is at Slack's authorize page next, and approves the install."""
        self._installer = Installer(team_id, team_name, user_id)

    def bot_user_id(self, team_id: str) -> str:
        return f"UBOT{team_id[1:]}"

    def team_of(self, token: str | None) -> str | None:
        issued = self.tokens.get(token or "")
        return issued.team_id if issued else None

    def tokens_of(self, team_id: str) -> list[str]:
        return [t.token for t in self.tokens.values() if t.team_id == team_id and not t.revoked]

    def uninstall(self, team_id: str) -> None:
        """The workspace removed the app: its tokens stop working."""
        for issued in self.tokens.values():
            if issued.team_id == team_id:
                issued.revoked = True
        self._refresh = {r: t for r, t in self._refresh.items() if t != team_id}

    def expire(self, token: str) -> None:
        """Make `token` expire now (as 12 hours passing would)."""
        self.tokens[token].expires_at = time.time()

    def check(self, token: str) -> IssuedToken | None:
        """The issued token, or None for a token this fake did not issue; refuses dead ones."""
        issued = self.tokens.get(token)
        if issued is None:
            return None
        if issued.revoked:
            raise OAuthRefusal("token_revoked")
        if issued.expires_at is not None and issued.expires_at <= time.time():
            raise OAuthRefusal("token_expired")
        return issued

    # ------------------------------------------------------------------ the browser's side

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id")
        redirect = query.get("redirect_uri") or self.redirect_url
        if not redirect or self._installer is None:
            return web.Response(status=400, text="bad_redirect_uri or nobody to approve")
        code = f"code-{secrets.token_hex(8)}"
        self._codes[code] = self._installer
        back = {"code": code, "state": query.get("state", "")}
        raise web.HTTPFound(f"{redirect}?{urlencode(back)}")

    # ------------------------------------------------------------------ oauth.v2.access

    def access(self, args: Mapping[str, Any], authorization: str | None) -> Json:
        client_id, client_secret = _basic(authorization)
        client_id = client_id or str(args.get("client_id") or "")
        client_secret = client_secret or str(args.get("client_secret") or "")
        if client_id != self.client_id:
            raise OAuthRefusal("invalid_client_id")
        if client_secret != self.client_secret:
            raise OAuthRefusal("bad_client_secret")
        if args.get("grant_type") == "refresh_token":
            team_id = self._refresh.pop(str(args.get("refresh_token") or ""), None)
            if team_id is None:
                raise OAuthRefusal("invalid_refresh_token")
            return self._grant(team_id, None)
        installer = self._codes.pop(str(args.get("code") or ""), None)
        if installer is None:
            raise OAuthRefusal("invalid_code")
        return self._grant(installer.team_id, installer)

    def _grant(self, team_id: str, installer: Installer | None) -> Json:
        n = next(self._serial)
        token = f"xoxb-{team_id}-{n}-{secrets.token_hex(6)}"
        expires_at = None if self.token_lifetime is None else time.time() + self.token_lifetime
        self.tokens[token] = IssuedToken(token, team_id, self.bot_user_id(team_id), expires_at)
        answer: Json = {
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write,chat:write.public,im:write,usergroups:read,"
            "users:read,channels:read,groups:read",
            "bot_user_id": self.bot_user_id(team_id),
            "app_id": self.app_id,
            "team": {"id": team_id, "name": installer.team_name if installer else team_id},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if installer is not None:
            answer["authed_user"] = {"id": installer.user_id}
        if self.token_lifetime is not None:
            refresh = f"xoxe-1-{secrets.token_hex(8)}"
            self._refresh[refresh] = team_id
            answer.update(refresh_token=refresh, expires_in=self.token_lifetime)
        return answer


def _basic(header: str | None) -> tuple[str, str]:
    if not header or not header.startswith("Basic "):
        return "", ""
    decoded = base64.b64decode(header.removeprefix("Basic ").strip()).decode()
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
