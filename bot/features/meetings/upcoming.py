"""Each meeting's next occurrence, precomputed on its row, and the background that keeps it.

Commands that show what comes next (`/meeting next`, `/meeting list`, the Slack Home) read
the rows' `next_*` columns instead of expanding every meeting's RRULE per request. A row's
values are true until `next_stale_at` (the end of that occurrence): every change to a
meeting (create, edit, skip, move, cancel, config sync, a plan) recomputes them, and
`catch_up` recomputes the rows time has overtaken. Readers never trust a stale row: they
expand those few in memory, so an answer is right even before the background got to it.

The background that keeps the rows true lives in background.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.lookup import upcoming_or_current
from bot.features.meetings.records import load_series, series_of
from bot.features.meetings.recurrence import Occurrence, Series
from bot.store.meetings import (
    Meeting,
    MeetingState,
    overrides_of,
)

log = logging.getLogger(__name__)

# "No further occurrence": true until the meeting changes, which recomputes it anyway.
FAR_AHEAD = timedelta(days=365 * 100)


def set_next(meeting: Meeting, series: Series, now: datetime) -> Occurrence | None:
    """Store the occurrence in progress or next as of `now` on the row."""
    occurrence = upcoming_or_current(series, now) if meeting.active else None
    if occurrence is None:
        meeting.next_date = meeting.next_start = meeting.next_end = None
        meeting.next_moved = False
        meeting.next_stale_at = now + FAR_AHEAD
        return None
    meeting.next_date = occurrence.local_date
    meeting.next_start, meeting.next_end = occurrence.start, occurrence.end
    meeting.next_moved = occurrence.moved
    meeting.next_stale_at = occurrence.end
    return occurrence


async def refresh_next(session: AsyncSession, meeting: Meeting, now: datetime) -> None:
    """Recompute the row's next occurrence after a change to the meeting or its overrides."""
    set_next(meeting, await load_series(session, meeting), now)


def stored_next(meeting: Meeting) -> Occurrence | None:
    """The row's precomputed occurrence (only meaningful while the row is fresh)."""
    if meeting.next_date is None or meeting.next_start is None or meeting.next_end is None:
        return None
    start = meeting.next_start
    # A moved occurrence's scheduled start only matters as "it was moved": any other instant.
    scheduled = start - timedelta(seconds=1) if meeting.next_moved else start
    return Occurrence(meeting.next_date, start, meeting.next_end, scheduled)


async def with_series(
    session: AsyncSession, meetings: Sequence[Meeting]
) -> list[tuple[Meeting, Series]]:
    overrides = await overrides_of(session, [m.id for m in meetings])
    return [(m, series_of(m, overrides[m.id])) for m in meetings]


def active_query(community_id: int) -> Select[tuple[Meeting]]:
    """Active meetings of a community."""
    return select(Meeting).where(
        Meeting.community_id == community_id, Meeting.state == str(MeetingState.ACTIVE)
    )


async def stale_or_started(
    session: AsyncSession, community_id: int, now: datetime
) -> list[Meeting]:
    """Active rows whose stored occurrence has ended (stale) or has started (in progress)."""
    query = active_query(community_id).where(
        or_(Meeting.next_stale_at <= now, Meeting.next_start <= now)
    )
    return list((await session.scalars(query)).all())


async def soonest(
    session: AsyncSession, community_id: int, now: datetime, count: int
) -> list[Meeting]:
    """The `count` fresh active rows whose stored occurrence starts first after `now`."""
    query = (
        active_query(community_id)
        .where(Meeting.next_start > now, Meeting.next_stale_at > now)
        .order_by(Meeting.next_start, Meeting.key)
        .limit(count)
    )
    return list((await session.scalars(query)).all())


async def next_meeting(
    session: AsyncSession, community_id: int, now: datetime
) -> tuple[Occurrence, Meeting] | None:
    """The occurrence in progress or next across meetings (earliest start, then key)."""
    found: list[tuple[Occurrence, Meeting]] = []
    for meeting in await stale_or_started(session, community_id, now):
        if meeting.next_stale_at > now:  # in progress: the stored one is still right
            occurrence = stored_next(meeting)
        else:
            occurrence = upcoming_or_current((await with_series(session, [meeting]))[0][1], now)
        if occurrence is not None:
            found.append((occurrence, meeting))
    for meeting in await soonest(session, community_id, now, 1):
        occurrence = stored_next(meeting)
        if occurrence is not None:
            found.append((occurrence, meeting))
    if not found:
        return None
    return min(found, key=lambda pair: (pair[0].start, pair[1].key))


async def candidates(
    session: AsyncSession, community_id: int, now: datetime, count: int
) -> list[tuple[Meeting, Series]]:
    """The meetings that can hold the next `count` occurrences starting after `now`.

    Each of those occurrences belongs to a meeting whose own first occurrence after `now` is
    among them, so the `count` fresh rows starting first hold them, together with the rows
    whose stored occurrence is in progress or stale (their next one is not stored).
    """
    rows = {m.id: m for m in await stale_or_started(session, community_id, now)}
    for meeting in await soonest(session, community_id, now, count):
        rows.setdefault(meeting.id, meeting)
    return await with_series(session, sorted(rows.values(), key=lambda m: m.key))
