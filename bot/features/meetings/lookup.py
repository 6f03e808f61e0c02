"""Finding meetings and occurrences for a command, with the one sentence when there is none."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.core.errors import UserError
from bot.features.meetings.recurrence import (
    Occurrence,
    Series,
    occurrence_on,
    occurrences,
    scheduled_occurrence,
)
from bot.runtime.context import Context
from bot.store.meetings import (
    Meeting,
    MeetingSource,
    MeetingState,
    get_meeting,
)

MAX_AHEAD = timedelta(days=3660)


async def find_meeting(ctx: Context, key: str) -> Meeting:
    """The active meeting `key`, or a UserError naming what to do instead."""
    meeting = await get_meeting(ctx.session, ctx.community_id, key)
    if meeting is None:
        raise UserError(
            f"There is no meeting “{key}”; {ctx.label('meeting list')} shows the meetings."
        )
    if meeting.state == MeetingState.CANCELLED:
        raise UserError(f"The meeting {key} was cancelled.")
    if meeting.state == MeetingState.ARCHIVED:
        raise UserError(f"The meeting {key} was removed from the config file and is archived.")
    return meeting


def refuse_if_declared(ctx: Context, meeting: Meeting, what: str) -> None:
    if meeting.source == MeetingSource.CONFIG:
        raise UserError(
            f"The meeting {meeting.key} is managed in the config file, so its {what} can only "
            "be changed there."
        )


def merged_upcoming(
    pairs: list[tuple[Meeting, Series]], after: datetime
) -> Iterator[tuple[Occurrence, Meeting]]:
    """Every meeting's occurrences after `after`, merged in start order (lazy)."""
    streams = [_tagged(meeting, series, after) for meeting, series in pairs]
    return heapq.merge(*streams, key=lambda pair: (pair[0].start, pair[1].key))


def _tagged(
    meeting: Meeting, series: Series, after: datetime
) -> Iterator[tuple[Occurrence, Meeting]]:
    for occurrence in occurrences(series, after):
        yield occurrence, meeting


def upcoming_or_current(series: Series, now: datetime) -> Occurrence | None:
    """The occurrence in progress, else the next one."""
    return next(occurrences(series, now - series.duration), None)


def next_to_come(series: Series, now: datetime) -> Occurrence | None:
    """The next occurrence that has not started: the one agenda items are for."""
    return next(occurrences(series, now), None)


def scheduled_on(meeting: Meeting, series: Series, day: date, now: datetime) -> Occurrence:
    """The occurrence the rule puts on `day`, refusing dates off the rule or in the past."""
    if day > now.date() + MAX_AHEAD:
        raise UserError("That date is more than ten years ahead; pick a nearer one.")
    occurrence = scheduled_occurrence(series, day)
    if occurrence is None:
        bare = replace(series, skips=frozenset(), moves=())
        following = next((o for o in occurrences(bare, now) if o.local_date >= day), None)
        hint = f"; the next one after it is on {following.key}" if following is not None else ""
        raise UserError(f"The meeting {meeting.key} has no occurrence on {day.isoformat()}{hint}.")
    held = occurrence_on(series, day)
    # Past once it has started where it is held (a moved one at its new time); a skipped
    # occurrence was never held, so it may still be moved to a later time.
    if held is not None and held.start <= now:
        raise UserError(f"The {day.isoformat()} occurrence of {meeting.key} is already past.")
    return occurrence
