"""`/hero nominate`, `nominations`, `review` (and its buttons) and `hall`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from bot.core.errors import UserError
from bot.core.invocation import MemberRef
from bot.core.message import Inline, Mention, Message, Strong, Text, bullets, message, para
from bot.core.replies import Reply
from bot.core.times import format_fallback
from bot.features.heroes import schedule
from bot.features.heroes.cycles import Cycle
from bot.features.heroes.rules import calendar_cycle, cycle_for, named_cycle, nominating_cycle
from bot.features.heroes.views import (
    REVIEW_VERBS,
    hall_entry_line,
    member_ref,
    name_of,
    nominations_list,
)
from bot.runtime.context import Context
from bot.store import heroes as store
from bot.store.members import MemberRow
from bot.store.models import Member

# A member may nominate this many different people per RATE_WINDOW (replacing a reason is free).
RATE_LIMIT = 10
RATE_WINDOW = timedelta(hours=1)
REASON_MAX = 500
HALL_SHOWN = 24


async def nominate(ctx: Context) -> Message:
    ref: MemberRef = ctx.args["member"]
    reason: str = ctx.args["reason"]
    anonymous = bool(ctx.args.get("anonymous"))
    if ref.platform == ctx.actor.platform and ref.user_id == ctx.actor.user_id:
        raise UserError("You can't nominate yourself; nominate someone whose work you admire.")
    if ref.is_bot:
        raise UserError("Bots can't be Community Heroes; nominate a person.")
    nominee = await ctx.member_for(ref)
    if nominee.is_bot:
        raise UserError("Bots can't be Community Heroes; nominate a person.")
    if nominee.person_id == ctx.member.person_id:
        raise UserError("You can't nominate yourself; nominate someone whose work you admire.")
    since = ctx.now - RATE_WINDOW
    # Nominations count toward the calendar's cycle unless its Hero is announced: its state
    # tells, so the usual nomination is read and saved in one step (nominating_cycle is the
    # rule in full). What is checked below decides whether that step saves.
    cycle, moved_from = calendar_cycle(ctx.settings, ctx.now), None
    nomination = store.NewNomination(
        ctx.community_id, cycle.key, nominee.id, ctx.member.id, reason, anonymous, ctx.now
    )
    state, saved = await store.nominate(
        ctx.session, nomination, since, partial(_accepts, ctx.now, cycle, unless_announced=True)
    )
    if state.announced:
        cycle, moved_from = await nominating_cycle(
            ctx.session, ctx.settings, ctx.community_id, ctx.now
        )
        state, saved = await store.nominate(
            ctx.session,
            replace(nomination, cycle=cycle.key),
            since,
            partial(_accepts, ctx.now, cycle, unless_announced=False),
        )
    if ctx.now >= cycle.closes_at:
        following = cycle.following()
        raise UserError(
            f"Nominations for the {cycle.title} Community Hero closed on "
            f"{format_fallback(cycle.closes_at, ctx.zone)}; nominations for {following.title} "
            f"open on {format_fallback(following.start, ctx.zone)}."
        )
    if state.recent_others >= RATE_LIMIT:
        raise UserError(
            f"You have nominated {state.recent_others} people in the last hour, the most I "
            "take; please try again later."
        )
    assert saved, "a nomination that passed every check is saved"
    await schedule.plan(ctx.session, ctx.services, ctx.now)
    return _confirmation(cycle, moved_from, ref, not state.already, anonymous)


def _accepts(
    now: datetime, cycle: Cycle, state: store.NominatorState, *, unless_announced: bool
) -> bool:
    """Whether a nomination for `cycle` passes the checks `nominate` makes once it knows the
    nominator's state (and so may be saved in the step that read it)."""
    if unless_announced and state.announced:
        return False
    return now < cycle.closes_at and state.recent_others < RATE_LIMIT


def _confirmation(
    cycle: Cycle, moved_from: Cycle | None, ref: MemberRef, new: bool, anonymous: bool
) -> Message:
    head: list[Inline | str] = (
        [
            "Thank you! Your nomination of ",
            Mention(ref),
            f" for the {cycle.title} Community Hero is in.",
        ]
        if new
        else [
            "You had already nominated ",
            Mention(ref),
            f" for the {cycle.title} Community Hero; I replaced your reason with this one.",
        ]
    )
    blocks = [para(*head)]
    if moved_from is not None:
        blocks.append(
            para(
                f"The {moved_from.title} Hero has already been announced, so your nomination "
                f"counts toward {cycle.title}."
            )
        )
    blocks.append(
        para(
            "Only the maintainers see nominations"
            + (
                "; yours is anonymous, so your name is never shown with it."
                if anonymous
                else "; your reason may be quoted, with your name, if they pick this Hero."
            )
        )
    )
    return message(*blocks)


async def _list(ctx: Context, cycle: Cycle, notice: list[Inline | str]) -> Message:
    rows = await store.nominations_in(ctx.session, ctx.community_id, cycle.key)
    reviews = await store.reviews_in(ctx.session, ctx.community_id, cycle.key)
    hero = await store.hero_of(ctx.session, ctx.community_id, cycle.key)
    return nominations_list(
        cycle, rows, reviews, hero, ctx.now, ctx.zone, ctx.label("hero review"), notice
    )


async def nominations(ctx: Context) -> Message:
    cycle = await cycle_for(ctx.session, ctx.settings, ctx.community_id, ctx.now, ctx.args["cycle"])
    await schedule.plan(ctx.session, ctx.services, ctx.now)
    return await _list(ctx, cycle, [])


async def _review(
    ctx: Context, cycle: Cycle, nominee: Member | MemberRow, verb: str
) -> list[Inline | str]:
    hero = await store.hero_of(ctx.session, ctx.community_id, cycle.key)
    if hero is not None:
        raise UserError(
            f"The {cycle.title} Hero was already announced ({hero.display_name}); "
            "its nominations can no longer be reviewed."
        )
    rows = await store.nominations_in(ctx.session, ctx.community_id, cycle.key, nominee.id)
    if not rows:
        raise UserError(f"@{name_of(nominee)} has no nominations for {cycle.title} ({cycle.key}).")
    decision = REVIEW_VERBS[verb]
    await store.set_review(
        ctx.session, ctx.community_id, cycle.key, nominee.id, decision, ctx.member.id, ctx.now
    )
    return [f"{decision.capitalize()} ", Mention(member_ref(nominee)), f" for {cycle.title}."]


async def review(ctx: Context) -> Message:
    cycle = await cycle_for(ctx.session, ctx.settings, ctx.community_id, ctx.now, ctx.args["cycle"])
    nominee = await ctx.member_for(ctx.args["member"])
    done = await _review(ctx, cycle, nominee, ctx.args["decision"])
    await schedule.plan(ctx.session, ctx.services, ctx.now)
    return message(para(*done))


async def review_button(ctx: Context, rest: str) -> Reply:
    """`shortlist|approve|reject:<cycle>:<member id>`; answers with the refreshed list."""
    verb, _, tail = rest.partition(":")
    key, _, member_id = tail.partition(":")
    if verb not in REVIEW_VERBS or not member_id.isdigit():
        raise UserError("That button no longer does anything.")
    cycle = named_cycle(ctx.settings, key)
    nominee = await ctx.session.get(Member, int(member_id))
    if nominee is None or nominee.community_id != ctx.community_id:
        raise UserError("That nominee is no longer known to me.")
    done = await _review(ctx, cycle, nominee, verb)
    ctx.audit(f"button hero {verb}", f"@{name_of(nominee)} for {cycle.key}")
    return Reply(await _list(ctx, cycle, done), replace=True)


async def hall(ctx: Context) -> Message:
    entries = await store.hall(ctx.session, ctx.community_id, HALL_SHOWN)
    if not entries:
        return Message.text(
            "No Community Hero has been announced yet. Nominate someone with ",
            Text(f"{ctx.label('hero nominate')} @name <why>"),
            ".",
        )

    def title(key: str) -> str:
        return named_cycle(ctx.settings, key).title

    return message(
        para(Strong("Community Heroes"), ", newest first:"),
        bullets(hall_entry_line(e, title) for e in entries),
    )
