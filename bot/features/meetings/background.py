"""The meetings' background work: keep the precomputed next occurrences true as time passes,
and plan the reminder chain of meetings whose `plan_at` has come (after downtime, after a
config change, after the upgrade), a batch per transaction, so neither start nor a command
ever waits for a thousand meetings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, or_, select

from bot.features.meetings.reminders import plan_meeting
from bot.features.meetings.upcoming import set_next, with_series
from bot.runtime.services import Services
from bot.store.meetings import Meeting, MeetingState

log = logging.getLogger(__name__)

# Meetings handled per transaction by catch_up: short write transactions, so commands and
# deliveries interleave with a big catch-up (the first start after the upgrade). On SQLite
# statements run on the loop's thread and never suspend, so catch_up also yields the loop
# after each meeting and each batch: /healthz and commands answer while it works.
BATCH = 10
# The background looks again at least this often (rows another replica changed).
IDLE = timedelta(seconds=60)


async def catch_up(views: Sequence[Services], now: datetime, limit: int | None = None) -> int:
    """Recompute stale rows and plan the meetings whose plan is due, a batch per transaction,
    across the communities of `views` (each meeting planned with its community's view).

    Returns how many meetings were handled; with `limit`, stops after about that many (the
    rest is left for the background). Safe to run in several replicas at once: planning is
    idempotent and the values computed are the same.
    """
    by_id = {view.community_id: view for view in views}
    if not by_id:
        return 0
    anyone = next(iter(by_id.values()))
    done = 0
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        async with anyone.db.session() as session:
            query = (
                active_in(by_id)
                .where(or_(Meeting.next_stale_at <= now, Meeting.plan_at <= now))
                .order_by(Meeting.id)
                .limit(size)
            )
            rows = list((await session.scalars(query)).all())
            for meeting, series in await with_series(session, rows):
                if meeting.plan_at is not None and meeting.plan_at <= now:
                    view = by_id[meeting.community_id]
                    await plan_meeting(session, view, meeting, now, series=series)
                else:
                    set_next(meeting, series, now)
                await asyncio.sleep(0)
        done += len(rows)
        await asyncio.sleep(0)
        if len(rows) < size:
            break
    return done


def of_communities(community_ids: Iterable[int]) -> ColumnElement[bool]:
    """Rows of these communities (one is a plain equality)."""
    ids = list(community_ids)
    return Meeting.community_id == ids[0] if len(ids) == 1 else Meeting.community_id.in_(ids)


def active_in(community_ids: Iterable[int]) -> Select[tuple[Meeting]]:
    """Active meetings of these communities."""
    return select(Meeting).where(
        of_communities(community_ids), Meeting.state == str(MeetingState.ACTIVE)
    )


async def next_wake(views: Sequence[Services]) -> datetime | None:
    """When catch_up has work next: the earliest stale time or plan time of an active row of
    these communities (a meeting of a community not served here must not keep waking it)."""
    if not views:
        return None
    ours = (
        Meeting.state == str(MeetingState.ACTIVE),
        of_communities(v.community_id for v in views),
    )
    async with views[0].db.sessions() as session:
        stale = await session.scalar(
            select(Meeting.next_stale_at).where(*ours).order_by(Meeting.next_stale_at).limit(1)
        )
        plan = await session.scalar(
            select(Meeting.plan_at)
            .where(*ours, Meeting.plan_at.is_not(None))
            .order_by(Meeting.plan_at)
            .limit(1)
        )
    times: Iterable[datetime] = (t for t in (stale, plan) if t is not None)
    return min(times, default=None)


async def keep_up(services: Services) -> None:
    """The background task, one for the deployment: catch up every community, then sleep
    until the next row needs it (or IDLE). One task rather than one per community: a row
    coming due wakes one pass, not a thousand."""
    while True:
        try:
            views = services.views()
            handled = await catch_up(views, services.clock())
            if handled:
                log.info("meetings: %d next occurrence(s) or plan(s) brought up to date", handled)
            wake = await next_wake(views)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("meetings catch-up failed; trying again in %s s", IDLE.seconds)
            wake = None
        now = services.clock()
        pause = IDLE if wake is None else min(max(wake - now, timedelta(seconds=1)), IDLE)
        await asyncio.sleep(pause.total_seconds())
