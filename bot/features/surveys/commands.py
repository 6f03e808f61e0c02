"""`/survey`: list (with personal links), add, close, stats, mute, unmute."""

from __future__ import annotations

from bot.core import times
from bot.core.commands import (
    Arg,
    ArgType,
    CommandSpec,
    HomeSection,
    Permission,
    Registry,
    ValueType,
)
from bot.core.errors import UserError
from bot.core.message import Inline, Link, Message, Strong, Text, bullets, message, para
from bot.features.surveys.plan import (
    cadence,
    channel_targets,
    link_url,
    plan_member,
    plan_next_round,
    plan_nudges_in,
)
from bot.features.surveys.reminders import closes_part
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.store import surveys as store
from bot.store.surveys import Survey, survey_key

GROUP = "survey"
DEFAULT_EVERY = "7d"
DEFAULT_NUDGES = 2


async def list_command(ctx: Context) -> Message:
    surveys = await store.open_surveys(ctx.session, ctx.community_id, ctx.now)
    if not surveys:
        return Message.text("There are no open surveys right now.")
    muted = await store.is_muted(ctx.session, ctx.member.person_id)
    items: list[list[Inline | str]] = []
    for survey in surveys:
        link = await store.ensure_link(ctx.session, survey.id, ctx.member.id, ctx.now)
        if link.handed_at is None:
            link.handed_at = ctx.now
        if not muted and link.opened_at is None:
            await plan_member(ctx.session, ctx.services, survey, ctx.member, ctx.now)
        items.append(
            [
                Strong(survey.name),
                *closes_part(survey, ctx.zone),
                ": ",
                Link(link_url(ctx.services, link.token), "your personal link"),
                " (you have opened it — thank you!)" if link.opened_at else "",
            ]
        )
    blocks = [
        para("Open surveys — each link is yours alone, so please don't pass it on:"),
        bullets(items),
    ]
    if muted:
        blocks.append(
            para(
                f"You have muted survey reminders; {ctx.label('survey unmute')} turns them back on."
            )
        )
    return message(*blocks)


async def add_command(ctx: Context) -> Message:
    name = " ".join(str(ctx.args["name"]).split())
    if not name:
        raise UserError("A survey needs a name, like “2026 Community Survey”.")
    if await store.by_name(ctx.session, ctx.community_id, name) is not None:
        raise UserError(f"There is already a survey named “{name}”; pick another name.")
    closes_at = None
    if ctx.args["closes"] is not None:
        closes_at = times.end_of_day(ctx.args["closes"], ctx.settings.community.timezone)
        if closes_at <= ctx.now:
            raise UserError(
                "That closing date has already passed; give today or a later date, like 2026-12-31."
            )
    survey = Survey(
        community_id=ctx.community_id,
        key=survey_key(name),
        name=name,
        url=ctx.args["url"],
        opens_at=None,
        closes_at=closes_at,
        remind_every_minutes=int(times.parse_duration(DEFAULT_EVERY).total_seconds() // 60),
        max_nudges=DEFAULT_NUDGES,
        channels=[],
        from_config=False,
        created_by=ctx.member.id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(survey)
    await ctx.session.flush()
    # Round 0 is due now; posting it plans every known member's nudges, after the answer.
    await plan_next_round(ctx.session, ctx.services, survey, ctx.now)
    channels = len(channel_targets(ctx.services, survey))
    if not channels:  # no round to do it: plan them here
        await plan_nudges_in(ctx.session, ctx.services, survey, ctx.now)
    return message(
        para("Added the survey ", Strong(name), *closes_part(survey, ctx.zone), "."),
        para(
            f"I'll post a reminder to {channels} channel{'s' if channels != 1 else ''} every "
            f"{times.format_duration(cadence(survey))} until it closes, and nudge members I know "
            f"who have not opened their link (at most {survey.max_nudges} times each)."
        ),
    )


async def _named(ctx: Context, name: str) -> Survey:
    survey = await store.by_name(ctx.session, ctx.community_id, name)
    if survey is None:
        raise UserError(
            f"There is no survey named “{name[:60]}”; {ctx.label('survey stats')} "
            "lists the open ones."
        )
    return survey


async def close_command(ctx: Context) -> Message:
    survey = await _named(ctx, ctx.args["name"])
    if survey.is_over(ctx.now):
        raise UserError(f"“{survey.name}” is already closed.")
    survey.closed_at = ctx.now
    survey.updated_at = ctx.now
    figures = await store.stats(ctx.session, survey)
    return message(
        para("Closed ", Strong(survey.name), ": no more reminders go out about it."),
        para(_figures(figures)),
    )


def _figures(s: store.SurveyStats) -> str:
    share = f" ({round(100 * s.opened / s.reached)}% of those reached)" if s.reached else ""
    return (
        f"reached {s.reached}, opened {s.opened}{share}, opt-outs {s.opt_outs}; "
        f"{s.done} said they took it; {s.nudges} personal reminder{'s' if s.nudges != 1 else ''}"
        " sent"
    )


async def stats_command(ctx: Context) -> Message:
    if ctx.args["name"]:
        surveys = [await _named(ctx, ctx.args["name"])]
    else:
        surveys = await store.open_surveys(ctx.session, ctx.community_id, ctx.now)
        if not surveys:
            return Message.text(
                f"There are no open surveys; {ctx.label('survey stats')} <name> shows a closed one."
            )
    items: list[list[Inline | str]] = []
    for survey in surveys:
        figures = await store.stats(ctx.session, survey)
        if survey.closed_at is not None or survey.is_over(ctx.now):
            state: list[Inline | str] = [" (closed)"]
        elif not survey.is_open(ctx.now):
            state = [" (not open yet)"]
        else:
            state = list(closes_part(survey, ctx.zone))
        items.append([Strong(survey.name), *state, ": ", Text(_figures(figures))])
    return message(
        para("Survey figures (only link opens are tracked, never answers):"), bullets(items)
    )


async def mute_command(ctx: Context) -> Message:
    if not await store.mute(ctx.session, ctx.community_id, ctx.member.person_id, ctx.now):
        return Message.text("You had already muted survey reminders.")
    return Message.text(
        "Done: I won't send you personal survey reminders, on any platform. "
        f"{ctx.label('survey unmute')} turns them back on."
    )


async def unmute_command(ctx: Context) -> Message:
    if not await store.unmute(ctx.session, ctx.member.person_id):
        return Message.text("Survey reminders were not muted for you.")
    return Message.text("Survey reminders are back on for you.")


async def suggest_surveys(services: Services, typed: str) -> list[str]:
    """Survey names for autocomplete: open ones first, then closed ones, prefix matches first."""
    async with services.db.sessions() as session:
        rows = await store.all_surveys(session, services.community_id)
    now = services.clock()
    names = [s.name for s in rows if not s.is_over(now)] + [s.name for s in rows if s.is_over(now)]
    needle = typed.strip().casefold()
    starts = [n for n in names if n.casefold().startswith(needle)]
    inside = [n for n in names if needle in n.casefold() and n not in starts]
    return (starts + inside)[:25]


# A survey's name: a word, or a phrase in quotes.
SURVEY_NAME = ValueType("survey", str, max_length=100)
_NAME = Arg("name", SURVEY_NAME, "the survey's name (a word, or a phrase in quotes)")
# Where the name is the only argument it may also be typed without quotes.
_WHOLE_NAME = Arg("name", SURVEY_NAME, "the survey's name", rest=True)


def register_commands(registry: Registry) -> None:
    registry.group(GROUP, "open surveys with your personal link; survey reminders", ("list",))
    specs = (
        CommandSpec(
            GROUP,
            ("list",),
            "open surveys, each with your personal link",
            "/survey list",
            list_command,
        ),
        CommandSpec(
            GROUP,
            ("add",),
            "add a survey; reminders run until it closes",
            '/survey add "2026 Community Survey" https://example.org/survey --closes 2026-12-31',
            add_command,
            args=(_NAME, Arg("url", ArgType.URL, "the survey's address (http or https)")),
            options=(Arg("closes", ArgType.DATE, "the last day, YYYY-MM-DD", required=False),),
            permission=Permission.MAINTAINER,
        ),
        CommandSpec(
            GROUP,
            ("close",),
            "close a survey now and stop its reminders",
            '/survey close "2026 Community Survey"',
            close_command,
            args=(_WHOLE_NAME,),
            permission=Permission.MAINTAINER,
        ),
        CommandSpec(
            GROUP,
            ("stats",),
            "reached, opened and opt-outs, for one survey or every open one",
            "/survey stats",
            stats_command,
            args=(
                Arg(
                    "name",
                    SURVEY_NAME,
                    "the survey's name (default: every open survey)",
                    required=False,
                    rest=True,
                ),
            ),
            permission=Permission.MAINTAINER,
            audited=False,
        ),
        CommandSpec(
            GROUP,
            ("mute",),
            "stop personal survey reminders to you, on every platform",
            "/survey mute",
            mute_command,
        ),
        CommandSpec(
            GROUP,
            ("unmute",),
            "get personal survey reminders again",
            "/survey unmute",
            unmute_command,
        ),
    )
    for spec in specs:
        registry.add(spec)
    registry.completer(SURVEY_NAME, suggest_surveys)
    registry.home_section(HomeSection("Open surveys", "survey list"))
