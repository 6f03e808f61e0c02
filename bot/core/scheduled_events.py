"""The scheduled-events port: a platform's own list of upcoming events (Discord's Events tab).

The meetings feature decides which events should exist (one per active meeting, for its next
occurrence) and keeps them true through this port; the Discord adapter implements it with
discord.py. Values only: no platform library here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Discord's limits on a Guild Scheduled Event.
NAME_MAX = 100
LOCATION_MAX = 100
DESCRIPTION_MAX = 1000


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What an event should show; compared field by field with what the platform has."""

    name: str
    start: datetime  # aware, UTC
    end: datetime
    location: str
    description: str


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """An event as the platform has it now."""

    id: str
    spec: EventSpec
    by_us: bool  # created by this bot: the only events the bot ever changes
    active: bool  # scheduled or in progress (not completed or cancelled)
    interested: int | None = None  # how many members clicked "Interested"


class EventsForbidden(Exception):
    """The bot lacks the permission to manage events there: retrying will not help."""


class ScheduledEvents(Protocol):
    async def list(self, place: str) -> list[PlatformEvent]:
        """Every event in `place` (a guild id), with interest counts. Raises EventsForbidden."""

    async def create(self, place: str, spec: EventSpec) -> str:
        """Create an event; returns its id."""

    async def edit(self, place: str, event_id: str, spec: EventSpec) -> None:
        """Set every field of the event to `spec`."""

    async def delete(self, place: str, event_id: str) -> None:
        """Remove the event; one already gone is not an error."""
