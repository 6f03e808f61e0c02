"""What the public page may show, as plain values each feature fills in.

Features do not import each other, so the page feature cannot query meetings, Heroes or
surveys itself: each of those features registers a `PublicPart` (`setup.public_part`) that
adds its public facts to one `PublicView`, read in one session. Only what is written here
can reach the page, which is how nominations, reasons, agenda items and member ids stay off
it: there is no field for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from bot.runtime.services import Services


@dataclass(frozen=True, slots=True)
class PublicOccurrence:
    meeting_key: str
    name: str
    start: datetime  # aware, UTC
    end: datetime
    zone: str  # the meeting's IANA zone, for the text shown without JavaScript
    join_url: str | None
    register_url: str | None
    moved: bool = False


@dataclass(frozen=True, slots=True)
class PublicMeeting:
    """A meeting's series, for its "add to Google Calendar" link."""

    key: str
    name: str
    description: str
    zone: str
    local_start: datetime  # the series' first start, naive wall-clock time in `zone`
    duration_minutes: int
    rrule: str | None
    join_url: str | None
    register_url: str | None


@dataclass(frozen=True, slots=True)
class PublicHero:
    cycle_title: str
    display_name: str


@dataclass(frozen=True, slots=True)
class PublicSurvey:
    name: str
    url: str  # the survey's own address, never a personal tracked /s/ link
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class PublicRecap:
    meeting_name: str
    held_on: date  # the occurrence's local date
    url: str


@dataclass(slots=True)
class PublicView:
    now: datetime
    occurrences: list[PublicOccurrence] = field(default_factory=list)
    meetings: list[PublicMeeting] = field(default_factory=list)
    more_meetings: int = 0  # meetings left out of `meetings` to keep the page short
    heroes: list[PublicHero] = field(default_factory=list)
    surveys: list[PublicSurvey] = field(default_factory=list)
    recaps: list[PublicRecap] = field(default_factory=list)
    # The next time the page would read differently with no write (an occurrence ending, a
    # survey closing): a rendered page may be reused until then.
    changes_at: datetime | None = None

    def changes_by(self, at: datetime) -> None:
        if at > self.now and (self.changes_at is None or at < self.changes_at):
            self.changes_at = at


# services, an open read session, the view to add to.
PublicPart = Callable[["Services", "AsyncSession", PublicView], Awaitable[None]]


def publishes(settings: Settings) -> bool:
    """Whether a community shows itself on the web: its page at /c/<key>/ (and at / when it is
    the deployment's only one), its feed at /c/<key>/calendar.ics, its entry in the listing
    at / when there are several. That is its `[web] public_page`; the page feature declares
    the section, and the meetings feature reads the switch here for the feed, since features
    do not import each other."""
    return bool(settings.file.section("web").public_page)
