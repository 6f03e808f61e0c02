"""Who people are on Slack: members named in commands, and maintainers' user groups."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.web_api import describe
from bot.core.invocation import MemberRef, Platform

log = logging.getLogger(__name__)

# `<@U123>` or `<@U123|name>`; W… ids belong to Enterprise Grid users.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|([^>]{0,80}))?>$")


_MENTIONS = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")


def slack_member(token: str) -> MemberRef | None:
    """A member named in command text, as Slack escapes it (`should_escape: true`)."""
    m = _MENTION.match(token.strip())
    if m is None:
        return None
    return MemberRef(Platform.SLACK, m.group(1), m.group(2) or "")


@dataclass(frozen=True, slots=True)
class _Known:
    name: str
    is_bot: bool
    at: float


class SlackUsers:
    """Names and bot flags of the members people name in commands (users.info), cached.

    Slack's mention escape `<@U123>` carries no name and says nothing of bots, yet a Hero's
    name is kept in the hall and bots may not be nominated. Before a command is dispatched its
    mentions are looked up (within a small time budget, so the 3-second ack always holds); the
    member parser then reads the cache, falling back to the bare id if Slack did not answer.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = 3600.0,
        budget: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.budget = budget
        self.clock = clock
        self._known: dict[str, _Known] = {}

    def _fresh(self, user_id: str) -> bool:
        known = self._known.get(user_id)
        return known is not None and self.clock() - known.at < self.ttl

    async def prime(self, text: str, client: AsyncWebClient | None = None) -> None:
        """Look up every member mentioned in `text` that is not cached yet, through `client`
        (the workspace's, where each workspace has its own token; the default otherwise).

        One cache serves every workspace: Slack's user ids are unique across workspaces."""
        wanted = {uid for uid in _MENTIONS.findall(text) if not self._fresh(uid)}
        if not wanted:
            return
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    *(self._fetch(client or self.client, uid) for uid in sorted(wanted)[:10])
                ),
                timeout=self.budget,
            )
        except TimeoutError:
            log.warning("users.info did not answer within %.1f s; using bare ids", self.budget)

    async def _fetch(self, client: AsyncWebClient, user_id: str) -> None:
        try:
            resp = await client.users_info(user=user_id)
        except Exception as exc:
            # A name is a nicety: whatever went wrong (Slack unreachable, a proxy's page that
            # slack_sdk cannot even validate), the member is known by id and the command runs.
            log.info("users.info %s: %s", user_id, describe(exc))
            return
        user = resp.get("user")
        if not isinstance(user, dict):
            return
        profile = user.get("profile")
        if not isinstance(profile, dict):
            profile = {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or ""
        is_bot = bool(user.get("is_bot")) or user_id == "USLACKBOT"
        self._known[user_id] = _Known(str(name)[:200], is_bot, self.clock())

    def parse(self, token: str) -> MemberRef | None:
        """`slack_member`, with the name and bot flag Slack gave for that user."""
        ref = slack_member(token)
        if ref is None:
            return None
        known = self._known.get(ref.user_id)
        if known is None:
            return ref
        return MemberRef(Platform.SLACK, ref.user_id, ref.display_name or known.name, known.is_bot)


class UserGroups:
    """Members of the configured maintainer user groups, cached for `ttl` seconds.

    A stale cache is served while a refresh runs in the background, so no command waits on
    Slack once the cache is warm; a failed refresh keeps the last known members.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        groups: Sequence[str],
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.groups = tuple(groups)
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, frozenset[str]] = {}
        self._fetched_at: float | None = None
        self._refreshing: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Fetch every configured group now (concurrently)."""
        results = await asyncio.gather(
            *(self._fetch(g) for g in self.groups), return_exceptions=True
        )
        for group, result in zip(self.groups, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("cannot list Slack user group %s: %s", group, result)
            else:
                self._members[group] = result
        self._fetched_at = self.clock()

    async def _fetch(self, group: str) -> frozenset[str]:
        try:
            resp = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            raise RuntimeError(describe(exc)) from None
        return frozenset(resp.get("users") or ())

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at >= self.ttl

    async def groups_of(self, user_id: str) -> frozenset[str]:
        """The configured groups `user_id` belongs to."""
        if not self.groups:
            return frozenset()
        if self._fetched_at is None:
            await self.refresh()
        elif self._stale() and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self.refresh())
        return frozenset(g for g, users in self._members.items() if user_id in users)

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
