"""Planning a survey's deliveries: the next channel round, and each known member's nudges.

Every planned delivery has a fixed key (round `r<k>`, nudge `n<i>`), so planning again — at
start, on every round, when someone asks for their link — adds only what is missing.
Whether a nudge still applies (opened, muted, declined, closed) is decided when it is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Platform
from bot.core.services import Services
from bot.features.surveys.schedule import (
    before_close,
    first_round_at_or_after,
    nudge_times,
    round_at,
)
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.targets import Target, announce_targets
from bot.store import surveys as store
from bot.store.models import Member
from bot.store.surveys import NUDGE_KIND, REMINDER_KIND, Survey


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


async def plan_member(
    session: AsyncSession, services: Services, survey: Survey, member: Member, now: datetime
) -> None:
    """This member's link and nudges (no-op for members who cannot be nudged here)."""
    if member.is_bot or not member.known or Platform(member.platform) not in services.platforms:
        return
    await store.ensure_link(session, survey.id, member.id, now)
    target = Target.dm(Platform(member.platform), member.platform_user_id)
    times = nudge_times(start_of(survey), cadence(survey), survey.closes_at, now, survey.max_nudges)
    await enqueue(
        session,
        services.community_id,
        [
            Planned(NUDGE_KIND, survey.subject, f"n{i}", target, at, {"member_id": member.id})
            for i, at in enumerate(times, start=1)
        ],
        now,
    )


async def plan_nudges(
    session: AsyncSession, services: Services, survey: Survey, now: datetime
) -> None:
    """Nudges for every member the bot knows who has not opened, declined or muted."""
    if survey.max_nudges <= 0:
        return
    members = await store.nudge_candidates(
        session, services.community_id, [str(p) for p in services.platforms]
    )
    stopped = await store.stopped_members(session, survey.id)
    muted = await store.muted_persons(session, services.community_id)
    for member in members:
        if member.id in stopped or member.person_id in muted:
            continue
        await plan_member(session, services, survey, member, now)


async def plan_survey(
    session: AsyncSession, services: Services, survey: Survey, now: datetime
) -> None:
    """Everything still to plan for a survey that is open or yet to open."""
    if survey.is_over(now):
        return
    await plan_next_round(session, services, survey, now)
    await plan_nudges(session, services, survey, now)
