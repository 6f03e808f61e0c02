"""Who people are on Slack: members named in commands, and maintainers' user groups."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.invocation import MemberRef, Platform

log = logging.getLogger(__name__)

# `<@U123>` or `<@U123|name>`; W… ids belong to Enterprise Grid users.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|([^>]{0,80}))?>$")


def slack_member(token: str) -> MemberRef | None:
    """A member named in command text, as Slack escapes it (`should_escape: true`)."""
    m = _MENTION.match(token.strip())
    if m is None:
        return None
    return MemberRef(Platform.SLACK, m.group(1), m.group(2) or "")


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
            raise RuntimeError(exc.response.get("error", "error")) from None
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
