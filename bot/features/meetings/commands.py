"""`/meeting` commands anyone may use: next, list, ics, subscribe, unsubscribe, agenda."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import delete, select

from bot.core.errors import UserError
from bot.core.invocation import Platform
from bot.core.message import Message, Strong, Text, bullets, message, para
from bot.core.targets import Target
from bot.features.meetings.feed_route import feed_path
from bot.features.meetings.lookup import (
    find_meeting,
    merged_upcoming,
    next_to_come,
    upcoming_or_current,
)
from bot.features.meetings.platform_events import interested_in
from bot.features.meetings.records import load_series
from bot.features.meetings.reminders import plan_meeting, withdraw
from bot.features.meetings.upcoming import candidates, next_meeting, stored_next, with_series
from bot.features.meetings.views import agenda_block, headline, link_parts, links_paragraph
from bot.runtime.context import Context
from bot.store.meetings import (
    AgendaItem,
    Meeting,
    MeetingState,
    Subscription,
    agenda_items,
    agenda_items_since,
    get_subscription,
    meetings_in_state,
    person_subscriptions,
)

# Anyone may add agenda items; this many per member per hour keeps a flood out.
AGENDA_ITEMS_PER_HOUR = 5
AGENDA_ITEM_MAX = 500
MAX_LISTED = 50


async def next_command(ctx: Context) -> Message:
    # Reads the rows' precomputed next occurrences (see upcoming.py): a few rows, not an
    # expansion of every meeting.
    found = await next_meeting(ctx.session, ctx.community_id, ctx.now)
    if found is None:
        return Message.text("No meetings are coming up.")
    occurrence, meeting = found
    head = headline(meeting, occurrence)
    if occurrence.start <= ctx.now:
        head.append(Text(" (happening now)"))
    if ctx.actor.platform is Platform.DISCORD:
        # From the count the events reconciler last saw: never a call to Discord here.
        count = await interested_in(
            ctx.services, ctx.session, meeting.id, ctx.place.guild_id, occurrence.local_date
        )
        if count:
            head.append(Text(f" · {count} interested"))
    blocks = [para(*head)]
    if meeting.description:
        blocks.append(para(meeting.description))
    blocks += links_paragraph(meeting)
    blocks += agenda_block(await agenda_items(ctx.session, meeting.id, occurrence.local_date))
    return message(*blocks)


async def list_command(ctx: Context) -> Message:
    count = ctx.args.get("count")
    if count is None:
        return await _list_meetings(ctx)
    pairs = await candidates(ctx.session, ctx.community_id, ctx.now, count)
    upcoming = list(itertools.islice(merged_upcoming(pairs, ctx.now), count))
    if not upcoming:
        if not await _any_active(ctx):
            return _no_meetings(ctx)
        return Message.text("No meetings are coming up.")
    items = [headline(meeting, occurrence) for occurrence, meeting in upcoming]
    for item, (_, meeting) in zip(items, upcoming, strict=True):
        links = link_parts(meeting, register=False)
        if links:
            item += [Text(" — "), *links]
    return message(para(f"The next {len(upcoming)} meeting occurrences:"), bullets(items))


async def _list_meetings(ctx: Context) -> Message:
    """Each active meeting with its occurrence in progress or next, from the stored values."""
    meetings = await meetings_in_state(ctx.session, ctx.community_id, MeetingState.ACTIVE)
    if not meetings:
        return _no_meetings(ctx)
    stale = [m for m in meetings if m.next_stale_at <= ctx.now]
    expanded = {
        m.id: upcoming_or_current(s, ctx.now) for m, s in await with_series(ctx.session, stale)
    }
    items = []
    for meeting in meetings:  # ordered by key
        occurrence = expanded[meeting.id] if meeting.id in expanded else stored_next(meeting)
        label = [Strong(meeting.name), Text(f" ({meeting.key})")]
        if occurrence is None:
            items.append([*label, Text(": no upcoming occurrences")])
            continue
        if occurrence.start <= ctx.now:  # worded as /meeting next words it
            happening = [Text(" (happening now)")]
            items.append([*label, Text(": "), *headline(meeting, occurrence)[2:], *happening])
        else:
            items.append([*label, Text(": next "), *headline(meeting, occurrence)[2:]])
    return message(para("Meetings and their next occurrence:"), bullets(items))


async def _any_active(ctx: Context) -> bool:
    found = await ctx.session.scalar(
        select(Meeting.id)
        .where(Meeting.community_id == ctx.community_id, Meeting.state == MeetingState.ACTIVE)
        .limit(1)
    )
    return found is not None


def _no_meetings(ctx: Context) -> Message:
    create = ctx.label("meeting create")
    return Message.text(f"There are no meetings yet; maintainers add them with {create}.")


async def ics_command(ctx: Context) -> Message:
    path = feed_path(ctx.services)
    if path is None:
        return Message.text(
            "This community does not publish its calendar feed: it is served once its public "
            "page is turned on."
        )
    url = f"{ctx.settings.base_url}{path}"
    return Message.text(f"Subscribe to every meeting in your calendar app with this address: {url}")


async def subscribe_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    if await get_subscription(ctx.session, meeting.id, ctx.member.id) is not None:
        return Message.text(f"You are already subscribed to {meeting.name}.")
    ctx.session.add(
        Subscription(meeting_id=meeting.id, member_id=ctx.member.id, created_at=ctx.now)
    )
    await ctx.session.flush()
    await plan_meeting(ctx.session, ctx.services, meeting, ctx.now)
    stop = ctx.label("meeting unsubscribe")
    return Message.text(
        f"Subscribed: I'll send you {meeting.name}'s reminders by direct message. "
        f"{stop} {meeting.key} stops them."
    )


async def unsubscribe_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    # Every linked account of the person: one person, one subscription.
    accounts = await person_subscriptions(ctx.session, meeting.id, ctx.member.person_id)
    if not accounts:
        return Message.text(f"You were not subscribed to {meeting.name}.")
    await ctx.session.execute(
        delete(Subscription).where(
            Subscription.meeting_id == meeting.id,
            Subscription.member_id.in_([m.id for m in accounts]),
        )
    )
    for account in accounts:
        mine = Target.dm(Platform(account.platform), account.platform_user_id)
        await withdraw(ctx.session, meeting, ctx.now, target=mine, reason="unsubscribed")
    return Message.text(f"Unsubscribed: no more {meeting.name} reminders by direct message.")


async def agenda_add_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    text = " ".join(str(ctx.args["text"]).split())
    if len(text) > AGENDA_ITEM_MAX:
        raise UserError(f"An agenda item is at most {AGENDA_ITEM_MAX} characters; shorten it.")
    recent = await agenda_items_since(ctx.session, ctx.member.id, ctx.now - timedelta(hours=1))
    if recent >= AGENDA_ITEMS_PER_HOUR:
        raise UserError(
            f"You added {recent} agenda items in the last hour; please wait before adding more."
        )
    occurrence = next_to_come(await load_series(ctx.session, meeting), ctx.now)
    if occurrence is None:
        raise UserError(f"{meeting.name} has no upcoming occurrence to add agenda items to.")
    ctx.session.add(
        AgendaItem(
            meeting_id=meeting.id,
            occurrence_date=occurrence.local_date,
            member_id=ctx.member.id,
            text=text,
            created_at=ctx.now,
        )
    )
    await ctx.session.flush()
    number = len(await agenda_items(ctx.session, meeting.id, occurrence.local_date))
    return message(
        para(Text(f"Added as item {number} to the agenda of "), *headline(meeting, occurrence)),
    )


async def agenda_list_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    occurrence = next_to_come(await load_series(ctx.session, meeting), ctx.now)
    if occurrence is None:
        return Message.text(f"{meeting.name} has no upcoming occurrence.")
    items = await agenda_items(ctx.session, meeting.id, occurrence.local_date)
    return message(para(*headline(meeting, occurrence)), *agenda_block(items))


async def agenda_remove_command(ctx: Context) -> Message:
    meeting = await find_meeting(ctx, ctx.args["meeting"])
    occurrence = next_to_come(await load_series(ctx.session, meeting), ctx.now)
    if occurrence is None:
        raise UserError(f"{meeting.name} has no upcoming occurrence.")
    items = await agenda_items(ctx.session, meeting.id, occurrence.local_date)
    number = int(ctx.args["item"])
    if not 1 <= number <= len(items):
        listing = ctx.label("meeting agenda list")
        raise UserError(
            f"The agenda has no item {number}; {listing} {meeting.key} shows the numbers."
        )
    item = items[number - 1]
    item.removed_at = ctx.now
    ctx.audit(ctx.label("meeting agenda remove"), f"{meeting.key} item {number}: {item.text[:200]}")
    return Message.text(f"Removed item {number} (“{item.text[:80]}”) from the agenda.")
