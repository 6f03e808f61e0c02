"""`/communitybot channel|maintainer|page`: how the maintainers of a community created from
an install set it up (its announce channels, its maintainers, its public page).

The config file owns these for the communities it declares, so there they are refused. A
change is stored (bot/store/communities.py) in the command's transaction, audited with it,
and served once that transaction has committed.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.config import OwnSettings
from bot.core.commands import Arg, ArgType, CommandSpec, Permission, ValueType
from bot.core.errors import UserError
from bot.core.invocation import MemberRef, Platform
from bot.core.message import Code, Link, Mention, Message
from bot.runtime.communities import Community, valid_user_id
from bot.runtime.context import Context
from bot.runtime.feature import Setup
from bot.store.communities import own_settings_for_update, save_own_settings

# A channel as typed: Slack's escape `<#C012ABCDEF|general>`, Discord's `<#1234…>`, or the id.
_CHANNEL = re.compile(r"^<#([A-Z0-9]+|[0-9]+)(?:\|[^>]*)?>$|^#?([A-Z0-9]+|[0-9]+)$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_DISCORD_CHANNEL = re.compile(r"^[0-9]{15,21}$")


def parse_channel(text: str) -> str:
    """The channel id in a mention (or a bare id); one sentence when it is none."""
    match = _CHANNEL.match(text.strip())
    if match is None:
        raise UserError(f"“{text[:40]}” is not a channel; mention it, like #announcements.")
    return match.group(1) or match.group(2)


CHANNEL = ValueType("channel", parse_channel, max_length=120)


async def _own(ctx: Context, what: str) -> tuple[Community, OwnSettings]:
    """The asker's community, if it is one created from an install, and its own settings as
    stored now (locked for this transaction: another replica's change is built on); else
    why not."""
    communities = ctx.services.communities
    community = communities.by_id(ctx.community_id) if communities is not None else None
    if community is None or not community.created:
        raise UserError(
            f"The config file owns this community's {what}; change them there and restart the bot."
        )
    stored = await own_settings_for_update(ctx.session, community.id)
    return community, OwnSettings.from_json(stored)


async def _store(ctx: Context, community: Community, own: OwnSettings) -> None:
    """Store `own` in this transaction; serve it once the transaction has committed."""
    communities = ctx.services.communities
    assert communities is not None
    await save_own_settings(ctx.session, community.id, own.to_json(), ctx.now)
    ctx.after_commit(lambda: communities.serve_own(community.id, own))


def _channel_for(ctx: Context, channel: str) -> str:
    """`channel` if it is a channel of the asker's platform; else one sentence."""
    platform = ctx.actor.platform
    pattern = _SLACK_CHANNEL if platform is Platform.SLACK else _DISCORD_CHANNEL
    if platform not in (Platform.SLACK, Platform.DISCORD) or not pattern.match(channel):
        raise UserError(f"“{channel[:40]}” is not a {platform} channel; mention it, like #news.")
    return channel


async def channel_add(ctx: Context) -> Message:
    community, stored = await _own(ctx, "announce channels")
    channel = _channel_for(ctx, ctx.args["channel"])
    if channel in stored.announce_channels:
        return Message.text("That channel is already an announce channel; nothing changed.")
    own = replace(stored, announce_channels=(*stored.announce_channels, channel))
    await _store(ctx, community, own)
    return Message.text(
        "Added ",
        Code(channel),
        " to the announce channels (now ",
        str(len(own.announce_channels)),
        "): announcements and meeting reminders go there.",
    )


async def channel_remove(ctx: Context) -> Message:
    community, stored = await _own(ctx, "announce channels")
    channel = _channel_for(ctx, ctx.args["channel"])
    if channel not in stored.announce_channels:
        return Message.text("That channel is not an announce channel; nothing changed.")
    left = tuple(c for c in stored.announce_channels if c != channel)
    await _store(ctx, community, replace(stored, announce_channels=left))
    return Message.text(
        "Removed ", Code(channel), f" from the announce channels ({len(left)} left)."
    )


def _member_for(ctx: Context) -> MemberRef:
    ref: MemberRef = ctx.args["member"]
    if ref.platform is not ctx.actor.platform or not valid_user_id(ref.platform, ref.user_id):
        raise UserError("Name a member of this workspace or server, like @maya.")
    if ref.is_bot:
        raise UserError("A bot cannot be a maintainer; name a person.")
    return ref


async def maintainer_add(ctx: Context) -> Message:
    community, stored = await _own(ctx, "maintainers")
    ref = _member_for(ctx)
    if ref.user_id in stored.maintainers:
        return Message.text(Mention(ref), " is already a maintainer; nothing changed.")
    own = replace(stored, maintainers=(*stored.maintainers, ref.user_id))
    await _store(ctx, community, own)
    name = community.settings.community.name
    return Message.text(Mention(ref), f" is now a maintainer of {name}.")


async def maintainer_remove(ctx: Context) -> Message:
    community, stored = await _own(ctx, "maintainers")
    ref = _member_for(ctx)
    if ref.user_id not in stored.maintainers:
        return Message.text(Mention(ref), " is not a named maintainer; nothing changed.")
    left = tuple(m for m in stored.maintainers if m != ref.user_id)
    # On Slack the named maintainers are the only ones: someone must stay to set things up.
    if not left and ctx.actor.platform is Platform.SLACK:
        raise UserError(
            "That is the last maintainer; add another first, so someone can still set up "
            "this community."
        )
    await _store(ctx, community, replace(stored, maintainers=left))
    return Message.text(Mention(ref), " is no longer a maintainer.")


async def page_switch(ctx: Context) -> Message:
    community, stored = await _own(ctx, "public page setting")
    on = ctx.args["state"] == "on"
    if stored.public_page == on:
        return Message.text(f"The public page is already {'on' if on else 'off'}; nothing changed.")
    await _store(ctx, community, replace(stored, public_page=on))
    if not on:
        return Message.text("The public page is now off: its address answers “not found”.")
    url = f"{ctx.settings.base_url}/c/{community.key}/"
    return Message.text("The public page is now on, at ", Link(url), ".")


def register(setup: Setup, group: str) -> None:
    registry = setup.commands
    channel = Arg("channel", CHANNEL, "a channel, mentioned like #announcements")
    member = Arg("member", ArgType.MEMBER, "a member, mentioned like @maya")
    for path, summary, example, handler, arg in (
        (
            ("channel", "add"),
            "post announcements and reminders in this channel too (created communities)",
            "/communitybot channel add #announcements",
            channel_add,
            channel,
        ),
        (
            ("channel", "remove"),
            "stop posting in this channel (created communities)",
            "/communitybot channel remove #announcements",
            channel_remove,
            channel,
        ),
        (
            ("maintainer", "add"),
            "make a member a maintainer (created communities)",
            "/communitybot maintainer add @maya",
            maintainer_add,
            member,
        ),
        (
            ("maintainer", "remove"),
            "stop a member being a maintainer (created communities)",
            "/communitybot maintainer remove @maya",
            maintainer_remove,
            member,
        ),
        (
            ("page",),
            "turn the community's public page on or off (created communities)",
            "/communitybot page on",
            page_switch,
            Arg("state", ArgType.CHOICE, "on or off", choices=("on", "off")),
        ),
    ):
        registry.add(
            CommandSpec(
                group,
                path,
                summary,
                example,
                handler,
                args=(arg,),
                permission=Permission.MAINTAINER,
            )
        )
