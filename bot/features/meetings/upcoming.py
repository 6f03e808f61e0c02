"""Each meeting's next occurrence, precomputed on its row, and the background that keeps it.

Commands that show what comes next (`/meeting next`, `/meeting list`, the Slack Home) read
the rows' `next_*` columns instead of expanding every meeting's RRULE per request. A row's
values are true until `next_stale_at` (the end of that occurrence): every change to a
meeting (create, edit, skip, move, cancel, config sync, a plan) recomputes them, and
`catch_up` recomputes the rows time has overtaken. Readers never trust a stale row: they
expand those few in memory, so an answer is right even before the background got to it.

The same background plans the reminder chain of meetings whose `plan_at` has come (after
downtime, after a config change, after the upgrade), a batch per transaction, so neither start
nor a command ever waits for a thousand meetings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.lookup import upcoming_or_current
from bot.features.meetings.records import load_series, series_of
from bot.features.meetings.recurrence import Occurrence, Series
from bot.runtime.services import Services
from bot.store.meetings import (
    Meeting,
    MeetingState,
    overrides_of,
)

log = logging.getLogger(__name__)

# "No further occurrence": true until the meeting changes, which recomputes it anyway.
FAR_AHEAD = timedelta(days=365 * 100)
# Meetings handled per transaction by catch_up: short write transactions, so commands and
# deliveries interleave with a big catch-up (the first start after the upgrade). On SQLite
# statements run on the loop's thread and never suspend, so catch_up also yields the loop
# after each meeting and each batch: /healthz and commands answer while it works.
BATCH = 10
# The background looks again at least this often (rows another replica changed).
IDLE = timedelta(seconds=60)


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


def _active(community_id: int):  # type: ignore[no-untyped-def]
    return select(Meeting).where(
        Meeting.community_id == community_id, Meeting.state == str(MeetingState.ACTIVE)
    )


async def stale_or_started(
    session: AsyncSession, community_id: int, now: datetime
) -> list[Meeting]:
    """Active rows whose stored occurrence has ended (stale) or has started (in progress)."""
    query = _active(community_id).where(
        or_(Meeting.next_stale_at <= now, Meeting.next_start <= now)
    )
    return list((await session.scalars(query)).all())


async def soonest(
    session: AsyncSession, community_id: int, now: datetime, count: int
) -> list[Meeting]:
    """The `count` fresh active rows whose stored occurrence starts first after `now`."""
    query = (
        _active(community_id)
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


async def catch_up(services: Services, now: datetime, limit: int | None = None) -> int:
    """Recompute stale rows and plan the meetings whose plan is due, a batch per transaction.

    Returns how many meetings were handled; with `limit`, stops after about that many (the
    rest is left for the background). Safe to run in several replicas at once: planning is
    idempotent and the values computed are the same.
    """
    from bot.features.meetings.reminders import plan_meeting  # reminders imports this module

    done = 0
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        async with services.db.session() as session:
            query = (
                _active(services.community_id)
                .where(or_(Meeting.next_stale_at <= now, Meeting.plan_at <= now))
                .order_by(Meeting.id)
                .limit(size)
            )
            rows = list((await session.scalars(query)).all())
            for meeting, series in await with_series(session, rows):
                if meeting.plan_at is not None and meeting.plan_at <= now:
                    await plan_meeting(session, services, meeting, now, series=series)
                else:
                    set_next(meeting, series, now)
                await asyncio.sleep(0)
        done += len(rows)
        await asyncio.sleep(0)
        if len(rows) < size:
            break
    return done


async def next_wake(services: Services) -> datetime | None:
    """When catch_up has work next: the earliest stale time or plan time of an active row."""
    async with services.db.sessions() as session:
        stale = await session.scalar(
            select(Meeting.next_stale_at)
            .where(Meeting.state == str(MeetingState.ACTIVE))
            .order_by(Meeting.next_stale_at)
            .limit(1)
        )
        plan = await session.scalar(
            select(Meeting.plan_at)
            .where(Meeting.state == str(MeetingState.ACTIVE), Meeting.plan_at.is_not(None))
            .order_by(Meeting.plan_at)
            .limit(1)
        )
    times: Iterable[datetime] = (t for t in (stale, plan) if t is not None)
    return min(times, default=None)


async def keep_up(services: Services) -> None:
    """The background task: catch up, then sleep until the next row needs it (or IDLE)."""
    while True:
        try:
            handled = await catch_up(services, services.clock())
            if handled:
                log.info("meetings: %d next occurrence(s) or plan(s) brought up to date", handled)
            wake = await next_wake(services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("meetings catch-up failed; trying again in %s s", IDLE.seconds)
            wake = None
        now = services.clock()
        pause = IDLE if wake is None else min(max(wake - now, timedelta(seconds=1)), IDLE)
        await asyncio.sleep(pause.total_seconds())
