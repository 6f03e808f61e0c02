"""A meeting's scheduled posts as deliveries rows: plan, withdraw, and render at send time.

Every post is a row (kind, subject "meeting:<id>", occurrence, target). Reminder rows name
the start they announce, so after a move the old rows no longer match the occurrence and
render to nothing; withdraw() also marks them skipped at once so the table tells the truth.

Planning keeps a chain going: the next two occurrences are always planned, and sending any
reminder re-plans its meeting, so the following occurrence's rows exist before they are due.
Each row's `plan_at` says when its chain needs planning again; start and the background
(background.catch_up) re-plan the meetings whose time has come, which repairs the chain after
downtime without re-planning every meeting at every start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Platform
from bot.core.message import Link, Message, Strong, Text, Time, message, para, quote
from bot.core.targets import CONSOLE_CHANNEL, Target, TargetKind
from bot.features.meetings.ladder import PostKind, parse_ladder, parse_step, plan_posts
from bot.features.meetings.records import load_series
from bot.features.meetings.recurrence import (
    Occurrence,
    Series,
    next_occurrence,
    occurrence_on,
    scheduled_occurrence,
)
from bot.features.meetings.upcoming import set_next
from bot.features.meetings.views import agenda_block, links_paragraph, when
from bot.runtime.services import Services
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.kinds import DeliveryKind, KindRegistry, SendContext
from bot.store.meetings import (
    Meeting,
    Recap,
    agenda_items,
    get_recap,
    subscribers,
)
from bot.store.models import Delivery, DeliveryState

SUBJECT = "meeting:{}"
NOTICE_KIND = "meeting_notice"
RECAP_KIND = "meeting_recap"
# "Starting now" is still worth posting a little after the start, not later.
STARTING_NOW_GRACE = timedelta(minutes=15)
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


class Change(StrEnum):
    SKIP = "skip"
    MOVE = "move"
    CANCEL = "cancel"


def subject_of(meeting: Meeting) -> str:
    return SUBJECT.format(meeting.id)


def channel_targets(meeting: Meeting, services: Services) -> list[Target]:
    """The meeting's channels on every platform that is set up (default: announce channels)."""
    settings = services.settings
    targets: list[Target] = []
    if settings.slack_configured:
        slack = meeting.slack_channels
        chosen = slack if slack is not None else settings.slack.announce_channels
        targets += [Target.channel(Platform.SLACK, c) for c in chosen]
    if settings.discord_configured:
        discord = meeting.discord_channels
        chosen_ids = discord if discord is not None else settings.discord.announce_channels
        targets += [Target.channel(Platform.DISCORD, c) for c in chosen_ids]
    if Platform.CONSOLE in services.platforms:
        targets.append(CONSOLE_CHANNEL)
    return targets


async def subscriber_targets(session: AsyncSession, meeting: Meeting) -> list[Target]:
    return [
        Target.dm(Platform(m.platform), m.platform_user_id)
        for m in await subscribers(session, meeting.id)
    ]


async def plan_meeting(
    session: AsyncSession,
    services: Services,
    meeting: Meeting,
    now: datetime,
    *,
    series: Series | None = None,
) -> int:
    """Add the rows this meeting needs from `now` on; returns how many were new.

    Also records on the row when it needs planning again (`plan_at`: its soonest post, whose
    sending re-plans it; the background re-plans it then if that post was never sent) and
    its next occurrence, which planning has at hand.
    """
    if series is None:
        series = await load_series(session, meeting)
    set_next(meeting, series, now)
    if not meeting.active:
        meeting.plan_at = None
        return 0
    agenda_call = parse_step(meeting.agenda_call) if meeting.agenda_call else None
    posts = plan_posts(series, parse_ladder(meeting.reminders), agenda_call, now)
    meeting.plan_at = min((post.due_at for post in posts), default=None)
    if not posts:
        return 0
    channels = channel_targets(meeting, services)
    dms = await subscriber_targets(session, meeting)
    planned = [
        Planned(
            str(post.kind),
            subject_of(meeting),
            post.occurrence_ref,
            target,
            post.due_at,
            {
                "date": post.occurrence.key,
                "step": post.step.label,
                "start": post.occurrence.start.isoformat(),
            },
        )
        for post in posts
        for target in (channels + dms if post.kind is PostKind.REMINDER else channels)
    ]
    return await enqueue(session, services.community_id, planned, now)


async def withdraw(
    session: AsyncSession,
    meeting: Meeting,
    now: datetime,
    *,
    day: date | None = None,
    target: Target | None = None,
    reason: str,
) -> int:
    """Mark the meeting's pending reminders skipped: all, one occurrence's, or one target's."""
    query = update(Delivery).where(
        Delivery.subject == subject_of(meeting),
        Delivery.kind.in_([str(PostKind.REMINDER), str(PostKind.AGENDA_CALL)]),
        Delivery.state == DeliveryState.PENDING,
    )
    if day is not None:
        query = query.where(Delivery.occurrence.like(f"{day.isoformat()}/%"))
    if target is not None:
        query = query.where(Delivery.target == str(target))
    result = await session.execute(
        query.values(state=DeliveryState.SKIPPED, last_error=reason[:200], updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def announce_change(
    session: AsyncSession,
    services: Services,
    meeting: Meeting,
    change: Change,
    now: datetime,
    *,
    day: date | None = None,
    old_start: datetime | None = None,
    new_start: datetime | None = None,
) -> int:
    """Tell the meeting's channels and subscribers that an occurrence (or the series) changed."""
    stamp = (new_start or now).astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    occurrence = f"{day.isoformat() if day else 'series'}/{change}/{stamp}"
    payload: dict[str, Any] = {"change": str(change), "date": day.isoformat() if day else None}
    if old_start is not None:
        payload["old_start"] = old_start.isoformat()
    if new_start is not None:
        payload["new_start"] = new_start.isoformat()
    targets = channel_targets(meeting, services) + await subscriber_targets(session, meeting)
    planned = [
        Planned(NOTICE_KIND, subject_of(meeting), occurrence, t, now, payload) for t in targets
    ]
    return await enqueue(session, services.community_id, planned, now)


async def post_recap(
    session: AsyncSession, services: Services, meeting: Meeting, recap: Recap, now: datetime
) -> int:
    occurrence = f"{recap.occurrence_date.isoformat()}/recap/{recap.version}"
    planned = [
        Planned(RECAP_KIND, subject_of(meeting), occurrence, t, now, {"version": recap.version})
        for t in channel_targets(meeting, services)
    ]
    return await enqueue(session, services.community_id, planned, now)


# --- rendering at send time ---------------------------------------------------------------------


async def _meeting_of(ctx: SendContext, row: Delivery) -> Meeting | None:
    meeting_id = int(row.subject.removeprefix("meeting:"))
    meeting = await ctx.session.get(Meeting, meeting_id)
    return meeting if meeting is not None and meeting.active else None


async def _still_due(ctx: SendContext, row: Delivery) -> tuple[Meeting, Series, Occurrence] | None:
    """The meeting (with its series) and occurrence a reminder row announces, if it still
    stands as planned.

    A post later than half its lead time is dropped: "in 7 days" sent 5 days late, or an
    agenda call the day before, only confuse (the bot was down, or busy catching up).
    """
    lead = parse_step(str(row.payload["step"])).before
    if lead and ctx.now - row.due_at > lead / 2:
        return None
    meeting = await _meeting_of(ctx, row)
    if meeting is None:
        return None
    if ctx.target.kind is TargetKind.DM and ctx.target not in await subscriber_targets(
        ctx.session, meeting
    ):
        return None  # unsubscribed, or the person's reminders now go to a linked account
    series = await load_series(ctx.session, meeting)
    occurrence = occurrence_on(series, date.fromisoformat(row.payload["date"]))
    if occurrence is None or occurrence.start != datetime.fromisoformat(row.payload["start"]):
        return None  # skipped or moved since this row was planned
    return meeting, series, occurrence


async def _replan(ctx: SendContext, meeting: Meeting, series: Series) -> None:
    # Keep the chain going (see the module docstring). The runner's render session is only
    # read by us, so committing the new rows here is safe and keeps them if the send fails.
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now, series=series)
    await ctx.session.commit()


def _in_words(label: str) -> str:
    number, unit = int(label[:-1]), _UNIT_WORDS[label[-1]]
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _footer(ctx: SendContext, meeting: Meeting) -> list:
    if ctx.target.kind is TargetKind.DM:
        stop = ctx.services.command_label(ctx.target.platform, "meeting unsubscribe")
        return [para(f"You get these because you subscribed; {stop} {meeting.key} stops them.")]
    add = ctx.services.command_label(ctx.target.platform, "meeting subscribe")
    return [para(f"Reminders by direct message: {add} {meeting.key}")]


async def render_reminder(ctx: SendContext, row: Delivery) -> Message | None:
    found = await _still_due(ctx, row)
    if found is None:
        return None
    meeting, series, occurrence = found
    step = str(row.payload["step"])
    starting_now = step in ("0m", "0h", "0d", "0w")
    if ctx.now >= occurrence.start + (STARTING_NOW_GRACE if starting_now else timedelta(0)):
        return None  # a reminder after the start is noise
    await _replan(ctx, meeting, series)
    if starting_now:
        head = para(Strong(meeting.name), Text(" is starting now: "), when(meeting, occurrence))
        return message(head, *links_paragraph(meeting, register=False))
    head = para(
        Text("Reminder: "),
        Strong(meeting.name),
        Text(f" starts in {_in_words(step)}: "),
        when(meeting, occurrence, relative=True),
    )
    agenda = await agenda_items(ctx.session, meeting.id, occurrence.local_date)
    return message(head, *links_paragraph(meeting), *agenda_block(agenda), *_footer(ctx, meeting))


async def render_agenda_call(ctx: SendContext, row: Delivery) -> Message | None:
    found = await _still_due(ctx, row)
    if found is None or ctx.now >= found[2].start:
        return None
    meeting, series, occurrence = found
    await _replan(ctx, meeting, series)
    add = ctx.services.command_label(ctx.target.platform, "meeting agenda add")
    agenda = await agenda_items(ctx.session, meeting.id, occurrence.local_date)
    return message(
        para(
            Text("Call for agenda items: "),
            Strong(meeting.name),
            Text(" on "),
            when(meeting, occurrence),
            Text(f". Add yours with {add} {meeting.key} <text>."),
        ),
        *agenda_block(agenda),
    )


async def render_notice(ctx: SendContext, row: Delivery) -> Message | None:
    meeting_id = int(row.subject.removeprefix("meeting:"))
    meeting = await ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    change = Change(row.payload["change"])
    zone = meeting.timezone
    if change is Change.CANCEL:
        return Message.text(Strong(meeting.name), " is cancelled: there will be no more meetings.")
    if not meeting.active:
        return None
    series = await load_series(ctx.session, meeting)
    day = date.fromisoformat(row.payload["date"])
    old = datetime.fromisoformat(row.payload["old_start"])
    current = occurrence_on(series, day)
    if change is Change.SKIP:
        if current is not None or scheduled_occurrence(series, day) is None or ctx.now >= old:
            return None  # no longer skipped, off a changed rule, or too late to matter
        parts: list = [Strong(meeting.name), " on ", Time(old, zone), " is skipped."]
        following = next_occurrence(series, max(ctx.now, old))
        if following is not None:
            parts += [" The one after it is ", when(meeting, following), "."]
        return Message.text(*parts)
    new = datetime.fromisoformat(row.payload["new_start"])
    if current is None or current.start != new or ctx.now >= max(new, old):
        return None  # moved again, skipped, or already past
    return message(
        para(Strong(meeting.name), " of ", Time(old, zone), " moves to ", Time(new, zone), "."),
        *links_paragraph(meeting, join=False),
    )


async def render_recap(ctx: SendContext, row: Delivery) -> Message | None:
    meeting_id = int(row.subject.removeprefix("meeting:"))
    meeting = await ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    day = date.fromisoformat(row.occurrence.partition("/")[0])
    recap = await get_recap(ctx.session, meeting.id, day)
    if recap is None or recap.version != row.payload.get("version"):
        return None  # replaced by a newer recap, which is posted instead
    series = await load_series(ctx.session, meeting)
    held = occurrence_on(series, day)
    at = [" of ", when(meeting, held)] if held is not None else [f" of {day.isoformat()}"]
    blocks = [para("Recap: ", Strong(meeting.name), *at, ". Recording: ", Link(recap.url))]
    if recap.notes:
        blocks.append(quote(recap.notes))
    return message(*blocks)


def register_kinds(kinds: KindRegistry) -> None:
    kinds.add(DeliveryKind(str(PostKind.REMINDER), render_reminder))
    kinds.add(DeliveryKind(str(PostKind.AGENDA_CALL), render_agenda_call))
    kinds.add(DeliveryKind(NOTICE_KIND, render_notice, max_lateness=timedelta(days=1)))
    kinds.add(DeliveryKind(RECAP_KIND, render_recap))
