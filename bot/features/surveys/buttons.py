"""The nudge's buttons: Done, Remind me later, Not interested. Each acts for the presser only."""

from __future__ import annotations

from datetime import timedelta

from bot.core.errors import UserError
from bot.core.message import Message, Strong, Time
from bot.core.replies import Reply
from bot.core.targets import Target
from bot.features.surveys.reminders import survey_label
from bot.runtime.context import Context
from bot.scheduling.queue import Planned, enqueue
from bot.store import surveys as store
from bot.store.surveys import NUDGE_KIND

LATER = timedelta(days=3)


async def on_press(ctx: Context, rest: str) -> Reply:
    choice, _, ident = rest.partition(":")
    if choice not in ("done", "later", "no") or not ident.isdigit():
        raise UserError("That button no longer does anything.")
    survey = await store.by_id(ctx.session, ctx.community_id, int(ident))
    if survey is None:
        raise UserError("That survey no longer exists.")
    link = await store.ensure_link(ctx.session, survey.id, ctx.member.id, ctx.now)
    name = Strong(survey.name)
    if choice == "done":
        link.done_at = link.done_at or ctx.now
        answer = Message.text("Thank you for taking ", name, "! I won't remind you about it again.")
    elif choice == "no":
        link.declined_at = link.declined_at or ctx.now
        answer = Message.text(
            "Understood: no more reminders about ",
            name,
            f". {ctx.label('survey mute')} stops every survey reminder.",
        )
    else:
        answer = await _later(ctx, survey, link)
    return Reply(answer, replace=True)


async def _later(ctx: Context, survey: store.Survey, link: store.SurveyLink) -> Message:
    where = survey_label(ctx.services, ctx.actor.platform)
    if survey.is_over(ctx.now):
        return Message.text(Strong(survey.name), " has closed; thank you all the same.")
    target = Target.dm(ctx.actor.platform, ctx.actor.user_id)
    # "At most N nudges" holds even for people who ask to be reminded.
    if await store.nudges_sent(ctx.session, survey, str(target)) >= survey.max_nudges:
        return Message.text(
            "That was my last reminder about ",
            Strong(survey.name),
            f"; your link stays in {where} until it closes.",
        )
    at = ctx.now + LATER
    if survey.closes_at is not None and at >= survey.closes_at:
        at = max(survey.closes_at - timedelta(hours=12), ctx.now + timedelta(hours=1))
        if at >= survey.closes_at:
            return Message.text(Strong(survey.name), f" closes very soon; your link is in {where}.")
    link.snoozed_until = at
    await enqueue(
        ctx.session,
        ctx.community_id,
        [
            Planned(
                NUDGE_KIND,
                survey.subject,
                f"later:{at:%Y%m%dT%H%M}",
                target,
                at,
                {"member_id": ctx.member.id},
            )
        ],
        ctx.now,
    )
    return Message.text(
        "I'll remind you about ", Strong(survey.name), " on ", Time(at, ctx.zone), "."
    )
