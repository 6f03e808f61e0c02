"""Which workspace, and so which bot token, each Web API call is made with.

With SLACK_BOT_TOKEN there is one workspace and one client for everything, as before. With
OAuth installs each workspace has its own bot token (bot/adapters/slack/installs.py) and its own
`Workspace` here: a client carrying that token, its maintainers' user groups and its direct
message channels. A request from Slack names its workspace (bolt's authorize has already found
the token); a scheduled message does not, so `for_outbound` finds it from the message's
community:

- a community with one workspace (`slack.team_ids = ["T…"]`, or a community created by an
  install) sends through that workspace;
- a community with several sends each channel (or member) through the first of its workspaces,
  in `team_ids` order, whose bot can see it (`conversations.info` / `users.info`), remembered
  for the life of the process; with the single `[community]` form every installed workspace
  is the community's, in team id order.

A workspace that has not installed the app (or uninstalled it) fails the send permanently,
with the reason, so a delivery to it is not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.installs import Installs
from bot.adapters.slack.people import UserGroups
from bot.adapters.slack.web_api import api_error, build_client, delivery_error
from bot.core.ports import DeliveryError

log = logging.getLogger(__name__)

# What Slack answers when this workspace's bot cannot see the channel or member.
_NOT_HERE = frozenset({"channel_not_found", "user_not_found", "not_in_channel"})

# A community's workspaces (None: every installed workspace belongs to it).
TeamsOf = Callable[[int | None], Sequence[str] | None]
# The maintainer user groups to watch in a workspace (None: the single-token workspace).
GroupsOf = Callable[[str | None], Sequence[str]]


@dataclass(slots=True)
class Workspace:
    """One Slack workspace as the adapter talks to it."""

    team_id: str | None
    client: AsyncWebClient
    usergroups: UserGroups
    dm_channels: dict[str, str] = field(default_factory=dict)


class Workspaces:
    """One workspace (the client with SLACK_BOT_TOKEN) or the installed ones (OAuth)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        groups_of: GroupsOf,
        *,
        client: AsyncWebClient | None = None,
        installs: Installs | None = None,
        teams_of: TeamsOf = lambda _community: None,
    ) -> None:
        if (client is None) == (installs is None):
            raise ValueError("either the one workspace's client or the installations")
        self._session = session
        self._api_url = api_url
        self._groups_of = groups_of
        self.installs = installs
        self._teams_of = teams_of
        self.one = (
            Workspace(None, client, UserGroups(client, groups_of(None)))
            if client is not None
            else None
        )
        self._by_team: dict[str, Workspace] = {}
        # (community, channel or member) → team, found by asking each workspace's bot.
        self._found: dict[tuple[int | None, str], str] = {}
        self._uninstalled: set[str] = set()

    def _workspace(self, team_id: str | None, token: str) -> Workspace:
        client = build_client(token, self._api_url, self._session)
        return Workspace(team_id, client, UserGroups(client, self._groups_of(team_id)))

    def all(self) -> list[Workspace]:
        return [self.one] if self.one is not None else list(self._by_team.values())

    def seen(self, team_id: str | None, token: str | None) -> Workspace:
        """The workspace of a request bolt authorized, with the token it found."""
        if self.one is not None:
            return self.one
        if team_id is None or token is None:
            raise ValueError("an installed workspace needs its team id and token")
        workspace = self._by_team.get(team_id)
        if workspace is None:
            workspace = self._by_team[team_id] = self._workspace(team_id, token)
        # A rotated token replaces the old one on the same client (and its caches stay).
        workspace.client.token = token
        self._uninstalled.discard(team_id)
        return workspace

    async def of_team(self, team_id: str) -> Workspace:
        """The installed workspace `team_id`, with its current token; a permanent
        DeliveryError when the app is not installed there."""
        if self.one is not None:
            return self.one
        assert self.installs is not None
        token = await self.installs.bot_token(team_id)
        if token is None:
            raise DeliveryError(self.not_installed(team_id), permanent=True)
        return self.seen(team_id, token)

    def not_installed(self, team_id: str) -> str:
        if team_id in self._uninstalled:
            return f"the app was uninstalled from workspace {team_id}"
        return f"the app is not installed in workspace {team_id}"

    def forget(self, team_id: str) -> None:
        """The app was uninstalled (or its bot token revoked) in `team_id`."""
        self._uninstalled.add(team_id)
        workspace = self._by_team.pop(team_id, None)
        if workspace is not None:
            workspace.client.token = None
        self._found = {key: team for key, team in self._found.items() if team != team_id}

    async def for_outbound(self, community_id: int | None, ident: str) -> Workspace:
        """The workspace to reach channel or member `ident` of `community_id` through."""
        if self.one is not None:
            return self.one
        assert self.installs is not None
        teams = self._teams_of(community_id)
        if teams is None:
            teams = await self.installs.teams()
        if len(teams) == 1:
            return await self.of_team(teams[0])
        if not teams:
            raise DeliveryError(
                "no Slack workspace of this community has the app installed", permanent=True
            )
        known = self._found.get((community_id, ident))
        if known is not None:
            return await self.of_team(known)
        return await self._search(community_id, ident, teams)

    async def _search(
        self, community_id: int | None, ident: str, teams: Sequence[str]
    ) -> Workspace:
        reasons = []
        for team in teams:
            try:
                workspace = await self.of_team(team)
            except DeliveryError as exc:
                reasons.append(exc.reason)
                continue
            if await _sees(workspace.client, ident):
                self._found[(community_id, ident)] = team
                return workspace
            reasons.append(f"workspace {team} cannot see {ident}")
        raise DeliveryError("; ".join(reasons), permanent=True)

    async def close(self) -> None:
        for workspace in self.all():
            await workspace.usergroups.close()


async def _sees(client: AsyncWebClient, ident: str) -> bool:
    """Whether this workspace's bot can see channel or member `ident`."""
    try:
        if ident[:1] in ("U", "W"):
            await client.users_info(user=ident)
        else:
            await client.conversations_info(channel=ident)
    except SlackApiError as exc:
        if api_error(exc) in _NOT_HERE:
            return False
        raise delivery_error(exc) from exc
    except Exception as exc:
        raise delivery_error(exc) from exc
    return True
