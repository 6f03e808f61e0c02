"""Meeting rows as recurrence values: the one place the two meet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.recurrence import Move, Series
from bot.store.meetings import (
    Meeting,
    MeetingOverride,
    OverrideKind,
    local_start_of,
    overrides_of,
)


def series_of(meeting: Meeting, overrides: list[MeetingOverride]) -> Series:
    """The meeting's schedule as a recurrence value (rows are trusted: validated on write)."""
    skips = frozenset(o.occurrence_date for o in overrides if o.kind == OverrideKind.SKIP)
    moves = tuple(
        Move(o.occurrence_date, o.new_start)
        for o in overrides
        if o.kind == OverrideKind.MOVE and o.new_start is not None
    )
    return Series(
        local_start=local_start_of(meeting),
        zone=meeting.timezone,
        duration=timedelta(minutes=meeting.duration_minutes),
        rrule=meeting.rrule,
        skips=skips,
        moves=moves,
    )


async def load_series(session: AsyncSession, meeting: Meeting) -> Series:
    return series_of(meeting, (await overrides_of(session, [meeting.id]))[meeting.id])
