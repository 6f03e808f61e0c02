"""`/communitybot link|unlink|whoami|mydata|forget`: one person on every platform."""

from __future__ import annotations

from bot.core.commands import Arg, ArgType, CommandSpec
from bot.core.message import Message
from bot.features.identity import commands
from bot.features.identity.route import add_routes
from bot.runtime.feature import Feature, Setup
from bot.scheduling.kinds import DeliveryKind, SendContext
from bot.store.models import Delivery

# The group is created by the community feature, which is registered first.
GROUP = "communitybot"


async def render_linked(ctx: SendContext, row: Delivery) -> Message:
    unlink = ctx.services.command_label(ctx.target.platform, "communitybot unlink")
    return Message.text(
        f"Your link code was used: this account is now linked with {row.payload['account']}. "
        f"If that was not you, type {unlink} on this account."
    )


def register(setup: Setup) -> None:
    add = setup.commands.add
    add(
        CommandSpec(
            GROUP,
            ("link",),
            "link your accounts: without a code, get one; with it, typed on the other account, "
            "they become one person",
            "/communitybot link ABCD-1234",
            commands.link_command,
            args=(Arg("code", ArgType.WORD, "the code from your other account", required=False),),
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("unlink",),
            "take this account out of your linked accounts",
            "/communitybot unlink",
            commands.unlink_command,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("whoami",),
            "your linked accounts, zone, subscriptions and whether nudges are muted",
            "/communitybot whoami",
            commands.whoami_command,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("mydata",),
            "a private link to everything the bot stores about you (JSON, 15 minutes)",
            "/communitybot mydata",
            commands.mydata_command,
        )
    )
    add(
        CommandSpec(
            GROUP,
            ("forget",),
            "delete everything the bot stores about you, after a confirmation",
            "/communitybot forget",
            commands.forget_command,
            confirm=commands.forget_preview,
        )
    )
    setup.kinds.add(DeliveryKind(commands.LINKED_KIND, render_linked))
    setup.routes(add_routes)


FEATURE = Feature("identity", register)
