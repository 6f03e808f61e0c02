"""The survey's scheduled messages: channel rounds and personal nudges, rendered when sent."""

from __future__ import annotations

from datetime import timedelta

from bot.core.invocation import Platform
from bot.core.message import Button, ButtonStyle, Link, Message, Strong, Time, message, para
from bot.core.targets import TargetKind
from bot.features.surveys.plan import link_url, plan_next_round, plan_nudges
from bot.runtime.services import Services
from bot.scheduling.kinds import DeliveryKind, KindRegistry, SendContext
from bot.store import surveys as store
from bot.store.models import Delivery, Member
from bot.store.surveys import NUDGE_KIND, REMINDER_KIND, Survey

# A round posted a day late still helps ("participate today"); later than that it is noise.
ROUND_LATENESS = timedelta(hours=24)
NUDGE_LATENESS = timedelta(days=2)
# Two nudges about one survey are never sent closer together than this.
NUDGE_SPACING = timedelta(hours=20)
ACTION = "survey"


def survey_label(services: Services, platform: Platform) -> str:
    """How people ask for their links on `platform` (Discord needs the explicit `list`)."""
    name = "survey list" if platform is Platform.DISCORD else "survey"
    return services.command_label(platform, name)


def closes_part(survey: Survey, zone: str) -> list[Strong | Time | str]:
    """ "closes <the last minute of the closing day>", or nothing for an open-ended survey."""
    if survey.closes_at is None:
        return []
    return [" — closes ", Time(survey.closes_at - timedelta(minutes=1), zone)]


async def render_round(ctx: SendContext, row: Delivery) -> Message | None:
    """A channel post; also plans the next round and the nudges of newly known members.

    The planning writes in a session of its own, opened before any query on ctx.session (a
    read there would hold SQLite's lock while this waits for it). A round too late to be
    worth posting still plans the next one, so the cadence survives a long outage.
    """
    services = ctx.services
    async with services.db.session() as session:
        survey = await store.by_id(session, services.community_id, _survey_id(row))
        if survey is None or not survey.is_open(ctx.now):
            return None
        await plan_next_round(
            session, services, survey, ctx.now, after=int(row.payload.get("round", 0))
        )
    await plan_nudges(services, survey.id, ctx.now)
    if ctx.lateness > ROUND_LATENESS:
        return None
    zone = services.settings.community.timezone
    return message(
        para(
            "📋 We are gathering responses for ",
            Strong(survey.name),
            *closes_part(survey, zone),
            ". If you haven't yet, participate today — thank you!",
        ),
        para(
            "Take it here: ",
            Link(survey.url, survey.name),
            f" (or type {survey_label(services, ctx.target.platform)} for your personal link, "
            "which also stops my reminders once you have opened it).",
        ),
    )


async def render_nudge(ctx: SendContext, row: Delivery) -> Message | None:
    """A personal nudge, unless it no longer applies to this member."""
    services, session, now = ctx.services, ctx.session, ctx.now
    if ctx.target.kind is not TargetKind.DM:
        return None
    survey = await store.by_id(session, services.community_id, _survey_id(row))
    member = await session.get(Member, int(row.payload.get("member_id", 0)))
    if survey is None or member is None or not survey.is_open(now):
        return None
    link = await store.link_for(session, survey.id, member.id)
    if link is None or any((link.opened_at, link.done_at, link.declined_at)):
        return None
    if await store.person_stopped(session, survey.id, member.person_id):
        return None  # opened or declined on another of their linked accounts
    if link.snoozed_until is not None and now < link.snoozed_until:
        return None
    if await store.is_muted(session, member.person_id):
        return None
    if await store.nudges_sent(session, survey, row.target) >= survey.max_nudges:
        return None
    if await store.nudge_in_flight(session, survey, row.target, row.id, now - NUDGE_SPACING):
        return None
    zone = member.timezone or services.settings.community.timezone
    platform = ctx.target.platform
    return message(
        para(
            "Hi! We are gathering responses for ",
            Strong(survey.name),
            *closes_part(survey, zone),
            ". Your personal link: ",
            Link(link_url(services, link.token), "take the survey"),
        ),
        para(
            "Took it already, or would rather not? Tell me below. "
            f"{services.command_label(platform, 'survey mute')} stops every survey reminder."
        ),
        actions=(
            Button(f"{ACTION}:done:{survey.id}", "Done", ButtonStyle.PRIMARY),
            Button(f"{ACTION}:later:{survey.id}", "Remind me later"),
            Button(f"{ACTION}:no:{survey.id}", "Not interested"),
        ),
    )


def _survey_id(row: Delivery) -> int:
    return int(row.subject.partition(":")[2])


def register_kinds(kinds: KindRegistry) -> None:
    kinds.add(DeliveryKind(REMINDER_KIND, render_round))
    kinds.add(DeliveryKind(NUDGE_KIND, render_nudge, max_lateness=NUDGE_LATENESS))
