"""What handlers may use: settings, the database, the clock, the URL checker, deliveries."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.core.commands import Registry
from bot.core.invocation import Place, Platform
from bot.core.scheduled_events import ScheduledEvents
from bot.core.urls import UrlChecker

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime.communities import Communities, Community
    from bot.scheduling.kinds import KindRegistry
    from bot.store.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    registry: Registry
    kinds: KindRegistry
    community_id: int
    # Platforms this process serves; deliveries to others are left for the process that does.
    platforms: frozenset[Platform]
    urls: UrlChecker = field(default_factory=UrlChecker)
    clock: Callable[[], datetime] = utc_now
    # Asks the timer to look at deliveries now (after a command created some that are due).
    wake: Callable[[], None] = lambda: None
    # Facts a feature has read once and that stay true for this process's life (such as "this
    # cycle's posts are planned"), so that commands need not read them again.
    settled: set[Hashable] = field(default_factory=set)
    # The platform's scheduled events (Discord), when `[discord] scheduled_events` is on.
    scheduled_events: ScheduledEvents | None = None
    # Every community of the deployment. `settings` and `community_id` above are the
    # default community's in the single form; `for_community` gives any one's view.
    communities: Communities | None = None

    def for_community(self, community: Community) -> Services:
        """These services as `community` sees them: its id, its settings, its settled facts
        (made per call, so a later `wake` or `scheduled_events` is always the current one)."""
        if community.id == self.community_id and community.settings is self.settings:
            return self
        settled = self.communities.settled_for(community.id) if self.communities else set()
        # Discord events only for a community that turned them on.
        events = self.scheduled_events if community.settings.discord.scheduled_events else None
        return replace(
            self,
            settings=community.settings,
            community_id=community.id,
            settled=settled,
            scheduled_events=events,
        )

    def views(self) -> list[Services]:
        """Each community's view, in the deployment's order (just this one without any)."""
        if self.communities is None:
            return [self]
        return [self.for_community(c) for c in self.communities]

    def for_community_id(self, community_id: int) -> Services:
        """The view of the community a row belongs to (this one if it is unknown here)."""
        community = self.communities.by_id(community_id) if self.communities else None
        return self if community is None else self.for_community(community)

    def sends_stopped(self, community_id: int, platform: Platform) -> str | None:
        """Why nothing more is sent for that community on `platform`, or None."""
        if self.communities is None:
            return None
        return self.communities.sends_stopped(community_id, platform)

    def for_place(self, place: Place) -> Services:
        """The view of the community `place` belongs to; a UserError if it is none's."""
        if self.communities is None:
            return self
        return self.for_community(self.communities.resolve(place))

    def command_label(self, platform: Platform, name: str) -> str:
        """`/hero nominate` as people type it on `platform` (Slack commands can be renamed)."""
        head, _, rest = name.partition(" ")
        if platform is Platform.SLACK:
            head = self.settings.slack.commands.get(head, head)
        return f"/{head} {rest}".rstrip()
