"""`/announce`: post now or later to every announce channel, list, cancel, edit, delete.

A command only writes rows: the announcement and one delivery per target (or per posted copy,
for edits and deletes). The delivery runner does the platform calls, with retries, after
the command has answered.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.core.audit_text import audit_value
from bot.core.commands import Arg, ArgType, CommandSpec, Permission, Registry
from bot.core.errors import UserError
from bot.core.invocation import Platform
from bot.core.message import Inline, Message, Strong, Text, Time, bullets, message, para, quote
from bot.core.targets import Target
from bot.runtime.context import Context
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.targets import announce_targets
from bot.store import announcements as store
from bot.store.announcements import Announcement, AnnouncementState, Tally
from bot.store.models import Delivery, DeliveryState

GROUP = "announce"
LIST_LIMIT = 15
MAX_AHEAD = timedelta(days=366)
# A time typed a moment ago may be a minute behind by the time it is confirmed.
GRACE = timedelta(minutes=1)
SNIPPET = 80

_PLATFORM_NAMES = {
    Platform.SLACK: "Slack",
    Platform.DISCORD: "Discord",
    Platform.CONSOLE: "console",
}


# -- helpers --


def _targets(ctx: Context) -> list[Target]:
    targets = announce_targets(ctx.settings, ctx.services.platforms)
    if not targets:
        raise UserError("No announce channels are configured, so there is nowhere to post.")
    return targets


def _where(targets: list[Target]) -> str:
    """`2 channels (1 on Slack, 1 on Discord)`."""
    per = Counter(t.platform for t in targets)
    noun = "channel" if len(targets) == 1 else "channels"
    detail = ", ".join(f"{n} on {_PLATFORM_NAMES.get(p, str(p))}" for p, n in per.items())
    return f"{len(targets)} announce {noun} ({detail})"


def _due(ctx: Context) -> datetime | None:
    """The --at time, checked; None means now."""
    at: datetime | None = ctx.args.get("at")
    if at is None:
        return None
    if at < ctx.now - GRACE:
        raise UserError("That time has already passed; give a later one, or leave out --at.")
    if at > ctx.now + MAX_AHEAD:
        raise UserError("That is more than a year ahead; schedule announcements within a year.")
    return at


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


async def _find(ctx: Context) -> Announcement:
    ident: int = ctx.args["id"]
    found = await store.get_for_update(ctx.session, ctx.community_id, ident)
    if found is None:
        raise UserError(
            f"There is no announcement #{ident}; {ctx.label('announce list')} shows their ids."
        )
    return found


def _ping_words(ctx: Context) -> str:
    return " It pings the configured announce_ping target." if ctx.args.get("ping") else ""


# -- /announce <text> --


async def preview(ctx: Context) -> Message:
    targets = _targets(ctx)
    due = _due(ctx)
    when: list[Inline | str] = [" now"] if due is None else [" at ", Time(due, ctx.zone)]
    return message(
        para(f"This will be posted to {_where(targets)}", *when, f".{_ping_words(ctx)}"),
        quote(Text(ctx.args["text"])),
    )


async def post(ctx: Context) -> Message:
    targets = _targets(ctx)
    due = _due(ctx)
    text: str = ctx.args["text"]
    announcement = await store.create(
        ctx.session,
        ctx.community_id,
        author_member_id=ctx.member.id,
        author_name=ctx.actor.display_name or ctx.actor.user_id,
        platform=str(ctx.actor.platform),
        text=text,
        ping=bool(ctx.args.get("ping")),
        due_at=due or ctx.now,
        scheduled=due is not None,
        now=ctx.now,
    )
    subject = store.subject_of(announcement.id)
    await enqueue(
        ctx.session,
        ctx.community_id,
        [
            Planned(store.ANNOUNCE_KIND, subject, store.POST_OCCURRENCE, t, announcement.due_at)
            for t in targets
        ],
        ctx.now,
    )
    when = "now" if due is None else f"at {audit_value(due)}"
    ctx.audit(
        ctx.label("announce"),
        f"#{announcement.id} {when}{', with ping' if announcement.ping else ''} "
        f"to {len(targets)} {'channel' if len(targets) == 1 else 'channels'}: {text}",
    )
    if due is None:
        return Message.text(
            f"Announcement #{announcement.id} is on its way to {_where(targets)}. "
            f"{ctx.label('announce list')} shows how each copy went."
        )
    return Message.text(
        f"Announcement #{announcement.id} is scheduled for ",
        Time(due, ctx.zone),
        f", to {_where(targets)}. Cancel it with {ctx.label('announce cancel')} {announcement.id}.",
    )


# -- /announce list --


def _status(a: Announcement, tally: Tally, now: datetime, zone: str) -> list[Inline | str]:
    if a.state == AnnouncementState.CANCELLED:
        return ["cancelled"]
    if a.state == AnnouncementState.DELETED:
        return ["deleted"]
    if tally.sent == 0 and tally.waiting and a.due_at > now:
        return ["scheduled for ", Time(a.due_at, zone)]
    parts: list[Inline | str] = [f"posted to {tally.sent} of {tally.total}"]
    if tally.waiting:
        parts.append(f", {tally.waiting} still being sent")
    if tally.failed:
        parts.append(f", {tally.failed} failed ({_snippet(tally.last_error or 'unknown error')})")
    return parts


async def list_command(ctx: Context) -> Message:
    rows = await store.listed(ctx.session, ctx.community_id, LIST_LIMIT)
    if not rows:
        return Message.text(
            f"There are no announcements yet; post one with {ctx.label('announce post')} <text>."
        )
    copies = await store.copies_of(ctx.session, [a.id for a in rows])
    items: list[list[Inline | str]] = []
    for a in rows:
        status = _status(a, store.tally(copies.get(a.id, [])), ctx.now, ctx.zone)
        items.append(
            [
                Strong(f"#{a.id}"),
                " — ",
                *status,
                f" — by {a.author_name}{' (pings)' if a.ping else ''}: ",
                Text(_snippet(a.text)),
            ]
        )
    return message(para("Announcements, newest first:"), bullets(items))


# -- /announce cancel <id> --


async def cancel_command(ctx: Context) -> Message:
    a = await _find(ctx)
    if a.state != AnnouncementState.ACTIVE:
        raise UserError(f"Announcement #{a.id} was already {a.state}.")
    rows = await store.copies(ctx.session, a.id)
    if any(r.state in (DeliveryState.SENT, DeliveryState.CLAIMED) for r in rows):
        raise UserError(
            f"Announcement #{a.id} has already gone out; remove it with "
            f"{ctx.label('announce delete')} {a.id}."
        )
    a.state = AnnouncementState.CANCELLED
    a.updated_at = ctx.now
    await store.skip_pending(ctx.session, a.id, "cancelled", ctx.now)
    ctx.audit(ctx.label("announce cancel"), f"#{a.id}: {a.text}")
    return Message.text(f"Announcement #{a.id} is cancelled; it will not be posted.")


# -- /announce edit <id> <text> and /announce delete <id> --


def _live(rows: list[Delivery] | tuple[Delivery, ...]) -> list[Delivery]:
    """Copies that are out, or going out right now (their edit/delete waits for them)."""
    return [r for r in rows if r.state in (DeliveryState.SENT, DeliveryState.CLAIMED)]


async def edit_command(ctx: Context) -> Message:
    a = await _find(ctx)
    if a.state != AnnouncementState.ACTIVE:
        raise UserError(f"Announcement #{a.id} was {a.state}; there is nothing to edit.")
    text: str = ctx.args["text"]
    a.text = text
    a.version += 1
    a.updated_at = ctx.now
    live = _live(list(await store.copies(ctx.session, a.id)))
    await enqueue(
        ctx.session,
        ctx.community_id,
        [
            Planned(
                store.EDIT_KIND,
                r.subject,
                f"edit:{a.version}",
                Target.parse(r.target),
                ctx.now,
                {"version": a.version},
            )
            for r in live
        ],
        ctx.now,
    )
    ctx.audit(ctx.label("announce edit"), f"#{a.id} (version {a.version}): {text}")
    if not live:
        return Message.text(f"Announcement #{a.id} is updated; it will go out with the new text.")
    return Message.text(
        f"Announcement #{a.id} is updated; {len(live)} posted "
        f"{'copy is' if len(live) == 1 else 'copies are'} being edited."
    )


async def delete_command(ctx: Context) -> Message:
    a = await _find(ctx)
    if a.state != AnnouncementState.ACTIVE:
        raise UserError(f"Announcement #{a.id} was already {a.state}.")
    rows = list(await store.copies(ctx.session, a.id))
    live = _live(rows)
    if not live:
        if any(r.state == DeliveryState.PENDING for r in rows):
            raise UserError(
                f"Announcement #{a.id} has not been posted yet; call it off with "
                f"{ctx.label('announce cancel')} {a.id}."
            )
        raise UserError(f"No copy of announcement #{a.id} went out, so there is nothing to delete.")
    a.state = AnnouncementState.DELETED
    a.updated_at = ctx.now
    # Copies still waiting (a retry after a 429, say) must not appear after the delete.
    stopped = await store.skip_pending(ctx.session, a.id, "deleted", ctx.now)
    await enqueue(
        ctx.session,
        ctx.community_id,
        [
            Planned(
                store.DELETE_KIND,
                r.subject,
                store.DELETE_OCCURRENCE,
                Target.parse(r.target),
                ctx.now,
            )
            for r in live
        ],
        ctx.now,
    )
    ctx.audit(ctx.label("announce delete"), f"#{a.id}: {a.text}")
    more = (
        f"; {stopped} unsent {'copy' if stopped == 1 else 'copies'} will not go out"
        if stopped
        else ""
    )
    return Message.text(
        f"Announcement #{a.id} is being removed from {len(live)} "
        f"{'channel' if len(live) == 1 else 'channels'}{more}."
    )


# -- registration --

_ID = Arg("id", ArgType.INT, "the announcement's number, from /announce list", min_value=1)


def register_commands(registry: Registry) -> None:
    registry.group(GROUP, "post news to every announce channel", default=("post",))
    registry.add(
        CommandSpec(
            GROUP,
            ("post",),
            "post to every announce channel on every platform, now or at a time",
            '/announce --at "2026-12-01 09:00" Our release is out',
            post,
            args=(Arg("text", ArgType.TEXT, "what to announce", rest=True),),
            options=(
                Arg("at", ArgType.DATETIME, "when to post, YYYY-MM-DD HH:MM [Zone]", False),
                Arg("ping", ArgType.FLAG, "ping the configured announce_ping target", False),
            ),
            permission=Permission.MAINTAINER,
            confirm=preview,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("list",),
            "scheduled and posted announcements, with their ids",
            "/announce list",
            list_command,
            permission=Permission.MAINTAINER,
            audited=False,
            read_only=True,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("cancel",),
            "call off a scheduled announcement",
            "/announce cancel 3",
            cancel_command,
            args=(_ID,),
            permission=Permission.MAINTAINER,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("edit",),
            "change the text of an announcement everywhere it was posted",
            "/announce edit 3 Our release is out: see the notes",
            edit_command,
            args=(_ID, Arg("text", ArgType.TEXT, "the new text", rest=True)),
            permission=Permission.MAINTAINER,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("delete",),
            "remove every posted copy of an announcement",
            "/announce delete 3",
            delete_command,
            args=(_ID,),
            permission=Permission.MAINTAINER,
        )
    )
