"""What follows from changing a meeting's declared fields (by config sync or /meeting edit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.records import series_of
from bot.features.meetings.recurrence import scheduled_occurrence
from bot.store.meetings import (
    Meeting,
    overrides_of,
)

# Fields that decide which dates the meeting falls on.
RULE_FIELDS = ("rrule", "local_start", "timezone")
# Fields that decide which reminder rows exist (times, steps, channels).
PLAN_FIELDS = (*RULE_FIELDS, "duration_minutes", "reminders", "agenda_call")
PLAN_FIELDS_WITH_CHANNELS = (*PLAN_FIELDS, "slack_channels", "discord_channels")


def schedule_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether the planned reminder rows must be withdrawn and planned again."""
    return any(before.get(f) != after.get(f) for f in PLAN_FIELDS_WITH_CHANNELS)


async def drop_stray_overrides(session: AsyncSession, meeting: Meeting) -> list[str]:
    """Delete skips and moves of dates the (changed) rule no longer has; returns those dates."""
    overrides = (await overrides_of(session, [meeting.id]))[meeting.id]
    bare = series_of(meeting, [])
    dropped = []
    for override in overrides:
        if scheduled_occurrence(bare, override.occurrence_date) is None:
            dropped.append(override.occurrence_date.isoformat())
            await session.delete(override)
    await session.flush()
    return dropped
