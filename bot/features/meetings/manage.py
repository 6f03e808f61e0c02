"""`/meeting` commands for maintainers: create, edit, cancel, skip, move, recap."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.core import times
from bot.core.errors import UserError
from bot.core.message import Link, Message, Strong, Text, message, para
from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.ladder import DEFAULT_AGENDA_CALL, DEFAULT_LADDER
from bot.features.meetings.lookup import find_meeting, refuse_if_declared, scheduled_on
from bot.features.meetings.records import load_series
from bot.features.meetings.recurrence import (
    Occurrence,
    Series,
    make_series,
    next_occurrence,
    occurrence_on,
    occurrences,
)
from bot.features.meetings.reminders import (
    Change,
    announce_change,
    channel_targets,
    plan_meeting,
    post_recap,
    withdraw,
)
from bot.features.meetings.schedule_edit import drop_stray_overrides, schedule_changed
from bot.features.meetings.views import headline, when
from bot.runtime.context import Context
from bot.store.meetings import (
    Meeting,
    MeetingSource,
    MeetingState,
    OverrideKind,
    Recap,
    format_local_start,
    get_meeting,
    get_recap,
    local_start_of,
    meeting_values,
    set_override,
)

START_EXAMPLE = '"2026-12-03 09:00"'
_START = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})(?:\s+(\S+))?$")
NO_RULE = ("none", "once", "-")


def parse_start(text: str) -> tuple[datetime, str | None]:
    """`YYYY-MM-DD HH:MM [Zone]` as a local wall-clock time and the zone typed, if any."""
    match = _START.match(text.strip())
    if not match:
        raise UserError(
            f"I can't read “{text[:40]}” as a start; write it like --start {START_EXAMPLE}."
        )
    day, clock, zone = match.groups()
    try:
        local = datetime.fromisoformat(f"{day}T{int(clock[:-3]):02d}:{clock[-2:]}")
    except ValueError:
        raise UserError(f"“{text[:40]}” is not a real date and time.") from None
    return local, (times.zone(zone).key if zone else None)


def _series(local: datetime, zone: str, duration: timedelta, rule: str | None, **kw: Any) -> Series:
    tz = times.zone(zone)
    # A first start the clocks skip (spring forward) is refused, as every typed time is.
    times.to_utc_local(local.date(), local.time(), tz)
    try:
        return make_series(local_start=local, zone=zone, duration=duration, rrule=rule, **kw)
    except ScheduleError as error:
        raise UserError(str(error)) from None


def _rule(text: str | None) -> str | None:
    if text is None or text.strip().lower() in NO_RULE:
        return None
    return text


def _summary(meeting: Meeting, series: Series, now: datetime) -> list[Any]:
    following = next_occurrence(series, now)
    repeats = f"repeats {meeting.rrule}" if meeting.rrule else "once"
    parts: list[Any] = [Strong(meeting.name), Text(f" ({meeting.key}, {repeats})")]
    if following is None:
        return [*parts, Text(": no upcoming occurrences.")]
    return [*parts, Text(": next "), when(meeting, following), Text(".")]


async def create_command(ctx: Context) -> Message:
    key = ctx.args["meeting"]
    if await get_meeting(ctx.session, ctx.community_id, key) is not None:
        raise UserError(f"A meeting with the id {key} already exists; pick another id.")
    name, start = ctx.args.get("name"), ctx.args.get("start")
    if not name or not start:
        raise UserError(
            f"{ctx.label('meeting create')} needs --name and --start, for example: "
            f'{ctx.label("meeting create")} community --name "Community Meeting" '
            f'--start {START_EXAMPLE} --rrule "FREQ=MONTHLY;BYDAY=1TH"'
        )
    local, typed_zone = parse_start(start)
    zone = ctx.args.get("zone") or typed_zone or ctx.zone
    duration = ctx.args.get("duration") or timedelta(minutes=60)
    series = _series(local, zone, duration, _rule(ctx.args.get("rrule")))
    if next_occurrence(series, ctx.now) is None:
        raise UserError("That meeting would have no occurrence after now; give a later start.")
    meeting = Meeting(
        community_id=ctx.community_id,
        key=key,
        name=name.strip()[:100],
        description=(ctx.args.get("description") or "").strip(),
        rrule=series.rrule,
        local_start=format_local_start(series.local_start),
        timezone=series.zone,
        duration_minutes=int(duration.total_seconds() // 60),
        join_url=ctx.args.get("join"),
        register_url=ctx.args.get("register"),
        agenda_url=ctx.args.get("agenda"),
        reminders=list(DEFAULT_LADDER),
        agenda_call=DEFAULT_AGENDA_CALL,
        slack_channels=None,
        discord_channels=None,
        source=MeetingSource.COMMAND,
        state=MeetingState.ACTIVE,
        sequence=0,
        created_by=ctx.member.id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(meeting)
    await ctx.session.flush()
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)
    return message(para(Text("Created "), *_summary(meeting, series, ctx.now)))


EDITABLE = (
    "name",
    "start",
    "zone",
    "rrule",
    "duration",
    "join",
    "register",
    "agenda",
    "description",
)


async def edit_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    given = [f for f in EDITABLE if ctx.args.get(f) is not None]
    if not given:
        raise UserError(
            f"Say what to change, for example: {ctx.label('meeting edit')} {meeting.key} "
            f"--start {START_EXAMPLE}"
        )
    refuse_if_declared(ctx, meeting, ", ".join(f"--{f}" for f in given))
    before = meeting_values(meeting)
    local, zone = local_start_of(meeting), meeting.timezone
    if ctx.args.get("start") is not None:
        local, typed_zone = parse_start(ctx.args["start"])
        zone = typed_zone or zone
    zone = ctx.args.get("zone") or zone
    duration = ctx.args.get("duration") or timedelta(minutes=meeting.duration_minutes)
    rule = _rule(ctx.args["rrule"]) if ctx.args.get("rrule") is not None else meeting.rrule
    series = _series(local, zone, duration, rule)
    meeting.rrule, meeting.timezone = series.rrule, series.zone
    meeting.local_start = format_local_start(series.local_start)
    meeting.duration_minutes = int(duration.total_seconds() // 60)
    if ctx.args.get("name"):
        meeting.name = ctx.args["name"].strip()[:100]
    if ctx.args.get("join"):
        meeting.join_url = ctx.args["join"]
    if ctx.args.get("register"):
        meeting.register_url = ctx.args["register"]
    if ctx.args.get("agenda"):
        meeting.agenda_url = ctx.args["agenda"]
    if ctx.args.get("description") is not None:
        meeting.description = ctx.args["description"].strip()
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    dropped: list[str] = []
    if schedule_changed(before, meeting_values(meeting)):
        dropped = await drop_stray_overrides(ctx.session, meeting)
        await withdraw(ctx.session, meeting, ctx.now, reason="the meeting's schedule changed")
        await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)
    current = await load_series(ctx.session, meeting)
    blocks = [para(Text("Updated "), *_summary(meeting, current, ctx.now))]
    if dropped:
        listed = ", ".join(dropped)
        blocks.append(
            para(f"Skips and moves of dates off the new schedule were dropped: {listed}.")
        )
    return message(*blocks)


async def cancel_command(ctx: Context) -> Message:
    earlier = await get_meeting(ctx.session, ctx.community_id, ctx.args["meeting"])
    if earlier is not None and earlier.state == MeetingState.CANCELLED:
        # find_meeting's "was cancelled" would read like this command's own success.
        raise UserError(f"The meeting {earlier.key} was already cancelled; nothing changed.")
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    if meeting.source == MeetingSource.CONFIG:
        raise UserError(
            f"The meeting {meeting.key} is declared in the config file; "
            "remove it there to archive it."
        )
    meeting.state = MeetingState.CANCELLED
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    await withdraw(ctx.session, meeting, ctx.now, reason="the meeting was cancelled")
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)  # clears plan and next
    await announce_change(ctx.session, ctx.services, meeting, Change.CANCEL, ctx.now)
    return Message.text(
        f"Cancelled {meeting.name}: no more reminders; its channels and subscribers are told."
    )


async def _held(ctx: Context, meeting: Meeting) -> tuple[Series, Occurrence]:
    series = await load_series(ctx.session, meeting)
    scheduled = scheduled_on(meeting, series, ctx.args["date"], ctx.now)
    return series, scheduled


async def skip_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    series, scheduled = await _held(ctx, meeting)
    day = scheduled.local_date
    current = occurrence_on(series, day)
    if current is None:
        return Message.text(
            f"The {day.isoformat()} occurrence of {meeting.name} is already skipped."
        )
    await set_override(ctx.session, meeting.id, day, OverrideKind.SKIP, None, ctx.now)
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    await withdraw(ctx.session, meeting, ctx.now, day=day, reason="the occurrence was skipped")
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)  # next occurrence, chain
    await announce_change(
        ctx.session, ctx.services, meeting, Change.SKIP, ctx.now, day=day, old_start=current.start
    )
    after = next_occurrence(series.with_skip(day), max(ctx.now, current.start))
    parts: list[Any] = [
        Text("Skipped "),
        Strong(meeting.name),
        Text(" on "),
        when(meeting, current),
    ]
    if after is not None:
        parts += [Text(". The one after it is "), when(meeting, after)]
    return message(para(*parts, Text(".")))


async def move_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    series, scheduled = await _held(ctx, meeting)
    day = scheduled.local_date
    new_start: datetime = ctx.args["time"]
    if new_start <= ctx.now:
        raise UserError("The new time is already past; give a later one.")
    current = occurrence_on(series, day)
    old_start = current.start if current is not None else scheduled.start
    if current is not None and current.start == new_start:
        return Message.text(f"The {day.isoformat()} occurrence of {meeting.name} is already then.")
    await set_override(ctx.session, meeting.id, day, OverrideKind.MOVE, new_start, ctx.now)
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    await withdraw(ctx.session, meeting, ctx.now, day=day, reason="the occurrence was moved")
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)
    await announce_change(
        ctx.session,
        ctx.services,
        meeting,
        Change.MOVE,
        ctx.now,
        day=day,
        old_start=old_start,
        new_start=new_start,
    )
    moved = occurrence_on(series.with_move(day, new_start), day)
    assert moved is not None
    return message(
        para(Text(f"Moved the {day.isoformat()} occurrence: "), *headline(meeting, moved))
    )


def _last_held(series: Series, now: datetime) -> Occurrence | None:
    """The most recent occurrence that has started (occurrences come in start order)."""
    last = None
    for occurrence in occurrences(series):
        if occurrence.start > now:
            break
        last = occurrence
    return last


async def recap_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    series = await load_series(ctx.session, meeting)
    held = _last_held(series, ctx.now)
    if held is None:
        raise UserError(f"{meeting.name} has not met yet, so there is nothing to recap.")
    url: str = ctx.args["url"]
    notes = (ctx.args.get("notes") or "").strip()
    recap = await get_recap(ctx.session, meeting.id, held.local_date)
    if recap is None:
        recap = Recap(
            meeting_id=meeting.id,
            occurrence_date=held.local_date,
            url=url,
            notes=notes,
            member_id=ctx.member.id,
            version=1,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.session.add(recap)
    else:
        recap.url, recap.notes, recap.member_id = url, notes, ctx.member.id
        recap.version += 1
        recap.updated_at = ctx.now
    await ctx.session.flush()
    posted = await post_recap(ctx.session, ctx.services, meeting, recap, ctx.now)
    where = (
        f" and posted it to {posted} channel{'s' if posted != 1 else ''}"
        if channel_targets(meeting, ctx.services)
        else ""
    )
    return message(
        para(
            Text("Saved the recap of "),
            Strong(meeting.name),
            Text(" on "),
            when(meeting, held),
            Text(f"{where}: "),
            Link(url),
        )
    )
