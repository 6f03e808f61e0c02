"""Planning a survey's deliveries: the next channel round, and each known member's nudges.

Every planned delivery has a fixed key (round `r<k>`, nudge `n<i>`), so planning again — at
start, on every round, when someone asks for their link — adds only what is missing.
Whether a nudge still applies (opened, muted, declined, closed) is decided when it is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.features.surveys.schedule import (
    before_close,
    first_round_at_or_after,
    nudge_times,
    round_at,
)
from bot.runtime.services import Services
from bot.scheduling.queue import Planned, enqueue
from bot.scheduling.targets import announce_targets
from bot.store import surveys as store
from bot.store.members import MemberRow
from bot.store.models import Member
from bot.store.surveys import NUDGE_KIND, REMINDER_KIND, Survey

# Members planned per transaction: each batch holds SQLite's write lock for well under a
# second, so commands arriving meanwhile are answered in time.
BATCH = 100


def cadence(survey: Survey) -> timedelta:
    return timedelta(minutes=survey.remind_every_minutes)


def start_of(survey: Survey) -> datetime:
    return survey.opens_at or survey.created_at


def channel_targets(services: Services, survey: Survey) -> list[Target]:
    if survey.channels:
        return [Target.parse(t) for t in survey.channels]
    return announce_targets(services.settings, services.platforms)


def link_url(services: Services, token: str) -> str:
    return f"{services.settings.base_url}/s/{token}"


async def plan_round(
    session: AsyncSession, services: Services, survey: Survey, k: int, now: datetime
) -> bool:
    """Enqueue channel round `k` (False when it would fall after the close)."""
    due = round_at(start_of(survey), cadence(survey), k)
    if not before_close(due, survey.closes_at):
        return False
    await enqueue(
        session,
        services.community_id,
        [
            Planned(REMINDER_KIND, survey.subject, f"r{k}", target, due, {"round": k})
            for target in channel_targets(services, survey)
        ],
        now,
    )
    return True


async def plan_next_round(
    session: AsyncSession, services: Services, survey: Survey, now: datetime, after: int = -1
) -> None:
    """The first round due from `now` on (and after round `after`, the one being posted)."""
    k = max(first_round_at_or_after(start_of(survey), cadence(survey), now), after + 1)
    await plan_round(session, services, survey, k, now)


def _nudges_for(survey: Survey, member: Member | MemberRow, now: datetime) -> list[Planned]:
    target = Target.dm(Platform(member.platform), member.platform_user_id)
    times = nudge_times(start_of(survey), cadence(survey), survey.closes_at, now, survey.max_nudges)
    return [
        Planned(NUDGE_KIND, survey.subject, f"n{i}", target, at, {"member_id": member.id})
        for i, at in enumerate(times, start=1)
    ]


def _nudgeable(services: Services, member: Member | MemberRow) -> bool:
    return member.known and not member.is_bot and Platform(member.platform) in services.platforms


async def plan_member(
    session: AsyncSession,
    services: Services,
    survey: Survey,
    member: Member | MemberRow,
    now: datetime,
) -> None:
    """This member's link and nudges (no-op for members who cannot be nudged here)."""
    if not _nudgeable(services, member):
        return
    await store.ensure_links(session, survey.id, [member.id], now)
    await enqueue(session, services.community_id, _nudges_for(survey, member, now), now)


async def _to_plan(session: AsyncSession, services: Services, survey: Survey) -> list[Member]:
    """Known members with no nudges planned yet who have not opened, declined or muted."""
    if survey.max_nudges <= 0:
        return []
    members = await store.nudge_candidates(
        session, services.community_id, [str(p) for p in services.platforms]
    )
    stopped = await store.stopped_members(session, survey.id)
    muted = await store.muted_persons(session, services.community_id)
    planned = await store.nudged_targets(session, survey)
    return [
        m
        for m in members
        if m.id not in stopped
        and m.person_id not in muted
        and str(Target.dm(Platform(m.platform), m.platform_user_id)) not in planned
    ]


async def plan_nudges_in(
    session: AsyncSession, services: Services, survey: Survey, now: datetime
) -> int:
    """Plan every known member's nudges in `session` (one transaction); returns how many."""
    members = await _to_plan(session, services, survey)
    await store.ensure_links(session, survey.id, [m.id for m in members], now)
    for member in members:
        await enqueue(session, services.community_id, _nudges_for(survey, member, now), now)
    return len(members)


async def plan_nudges(services: Services, survey_id: int, now: datetime) -> int:
    """Plan every known member's nudges, a batch per transaction; returns how many members.

    Runs off the command path (at start, in a channel round). Batches keep each write short,
    so commands arriving meanwhile (on SQLite, one writer at a time) are not held up.
    """
    async with services.db.sessions() as session:
        survey = await store.by_id(session, services.community_id, survey_id)
        if survey is None or survey.is_over(now):
            return 0
        members = await _to_plan(session, services, survey)
    for start in range(0, len(members), BATCH):
        batch = members[start : start + BATCH]
        async with services.db.session() as session:
            await store.ensure_links(session, survey.id, [m.id for m in batch], now)
            for member in batch:
                await enqueue(session, services.community_id, _nudges_for(survey, member, now), now)
    return len(members)
