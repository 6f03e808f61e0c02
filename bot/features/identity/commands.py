"""The identity commands: link, unlink, whoami, mydata, forget."""

from __future__ import annotations

from bot.core.message import Message, Strong, bullets, message, para
from bot.core.replies import Reply
from bot.runtime.context import Context
from bot.scheduling.queue import Planned, enqueue
from bot.store import identity as store
from bot.store.members import MemberRow
from bot.store.surveys import is_muted

LINKED_KIND = "identity_linked"
PLATFORM_NAMES = {"slack": "Slack", "discord": "Discord", "console": "console"}


def _platform(name: str) -> str:
    return PLATFORM_NAMES.get(name, name)


def _who(member: store.Member | MemberRow) -> str:
    return f"{member.display_name or member.platform_user_id} on {_platform(member.platform)}"


async def link_command(ctx: Context) -> Message | Reply:
    typed: str | None = ctx.args.get("code")
    if typed is None:
        code = await store.new_code(ctx.session, ctx.community_id, ctx.member.id, ctx.now)
        link = ctx.label("communitybot link")
        return Message.text(
            f"Your link code is {code}. Within 15 minutes, type {link} {code} on your other "
            "account (for example on the other platform) to make the two accounts one person. "
            "Keep it to yourself: anyone who types it links their account to yours."
        )
    result = await store.redeem(ctx.session, ctx.community_id, ctx.member, typed, ctx.now)
    if isinstance(result, store.Refused):
        # Returned, not raised: a wrong guess must be recorded for the rate limit.
        return Reply(Message.text(result.sentence), outcome="rejected")
    maker = result.maker
    # The maker hears of it by direct message, so a stolen code cannot link silently.
    await enqueue(
        ctx.session,
        ctx.community_id,
        [
            Planned(
                LINKED_KIND,
                f"person:{result.person_id}",
                f"{ctx.member.platform}:{ctx.member.platform_user_id}:{ctx.now.isoformat()}",
                store.dm_target(maker),
                ctx.now,
                {"account": _who(ctx.member)},
            )
        ],
        ctx.now,
    )
    return Message.text(
        f"Linked: this account and {_who(maker)} are now one person. "
        f"{ctx.label('communitybot whoami')} shows your accounts."
    )


async def unlink_command(ctx: Context) -> Message:
    heir = await store.unlink(ctx.session, ctx.member, ctx.now)
    if heir is None:
        return Message.text("This account is not linked to any other account.")
    return Message.text(
        f"Unlinked: this account is on its own now, with no data of its own; your other "
        f"accounts (such as {_who(heir)}) keep everything."
    )


async def whoami_command(ctx: Context) -> Message:
    accounts = await store.accounts_of(ctx.session, ctx.member.person_id)
    subs = await store.subscribed_meetings(ctx.session, ctx.member.person_id)
    muted = await is_muted(ctx.session, ctx.member.person_id)
    zone = ctx.member.timezone
    zone_text = zone or f"not set (the community's, {ctx.settings.community.timezone}, is used)"
    items = [
        [
            Strong(_platform(a.platform)),
            f" {a.display_name or a.platform_user_id} ({a.platform_user_id})",
        ]
        + ([" — this account"] if a.id == ctx.member.id else [])
        for a in accounts
    ]
    sub_text = (
        ", ".join(f"{m.key} (reminders on {_platform(p)})" for m, p in subs) if subs else "none"
    )
    return message(
        para(
            f"You are one person with {len(accounts)} account{'s' if len(accounts) != 1 else ''}:"
        ),
        bullets(items),
        para(f"Time zone: {zone_text}."),
        para(f"Meeting subscriptions: {sub_text}."),
        para(f"Survey nudges: {'muted' if muted else 'on'}."),
    )


async def mydata_command(ctx: Context) -> Message:
    team = ctx.place.guild_id if ctx.member.platform == "slack" else None
    token = await store.new_export_token(ctx.session, ctx.community_id, ctx.member, ctx.now, team)
    return Message.text(
        f"Everything I store about you, as JSON: {ctx.settings.base_url}/me/{token} "
        "(only for you; the link works for 15 minutes)."
    )


async def forget_preview(ctx: Context) -> Message:
    accounts = await store.accounts_of(ctx.session, ctx.member.person_id)
    names = ", ".join(_who(a) for a in accounts)
    return message(
        para(
            f"This deletes everything I store about you, on every linked account ({names}): "
            "your zone, subscriptions, survey links and mute, nominations made and received, "
            'agenda items and pending messages. The audit log will say "a deleted member". '
            "It cannot be undone."
        )
    )


async def forget_command(ctx: Context) -> Message:
    count = await store.forget(ctx.session, ctx.member.person_id)
    return Message.text(
        f"Done: I deleted everything I stored about you "
        f"({count} account{'s' if count != 1 else ''}). If you use a command again, I start afresh."
    )
