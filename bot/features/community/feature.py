"""`/communitybot`: help, the asker's time zone, and the maintainers' audit log."""

from __future__ import annotations

from functools import lru_cache

from bot.core.audit_text import audit_parts
from bot.core.commands import Arg, ArgType, CommandSpec, Permission
from bot.core.message import (
    Bullets,
    Heading,
    Inline,
    Message,
    Strong,
    Text,
    Time,
    bullets,
    message,
    para,
)
from bot.features.community import own_settings
from bot.runtime.context import Context
from bot.runtime.feature import Feature, Setup
from bot.store import audit as audit_store
from bot.store.identity import set_person_zone

GROUP = "communitybot"


async def help_command(ctx: Context) -> Message:
    # What the help says, line by line; the same on every call but for the labels (Slack's
    # commands can be renamed per community), so the Message is built once for each.
    lines = tuple(
        (
            f"/{ctx.label(group.name).lstrip('/')} — {group.description}",
            tuple(
                (
                    ctx.label(spec.name),
                    spec.summary,
                    spec.permission is Permission.MAINTAINER,
                    _example(ctx, spec),
                )
                for spec in group.specs.values()
            ),
        )
        for group in ctx.services.registry.groups.values()
    )
    return _help(lines)


@lru_cache(maxsize=64)
def _help(lines: tuple[tuple[str, tuple[tuple[str, str, bool, str], ...]], ...]) -> Message:
    blocks: list[Heading | Bullets] = []
    for heading, commands in lines:
        items: list[list[Inline | str]] = [
            [
                Strong(label),
                f" — {summary}{' (maintainers)' if maintainers else ''}. Example: ",
                Text(example),
            ]
            for label, summary, maintainers, example in commands
        ]
        blocks += [Heading(heading), bullets(items)]
    return message(*blocks)


def _example(ctx: Context, spec: CommandSpec) -> str:
    head, _, rest = spec.example.lstrip("/").partition(" ")
    return f"{ctx.label(head)} {rest}".rstrip()


async def timezone_command(ctx: Context) -> Message:
    zone = ctx.args["zone"]
    if zone is None:
        current = ctx.member.timezone
        if current is None:
            return Message.text(
                "You have not set a time zone; I use the community's, "
                f"{ctx.settings.community.timezone}. "
                f"Set yours with {ctx.label('communitybot timezone')} Europe/Berlin."
            )
        return Message.text(f"Your time zone is {current}.")
    # Person-wide: a zone set on one platform holds on every linked account.
    await set_person_zone(ctx.session, ctx.member, zone, ctx.now)
    return Message.text(f"Your time zone is now {zone}: it is ", Time(ctx.now, zone), " for you.")


async def audit_command(ctx: Context) -> Message:
    limit = ctx.args["count"] or 20
    rows = await audit_store.recent(ctx.session, ctx.community_id, limit)
    if not rows:
        return Message.text("The audit log is empty.")
    items = [
        [
            Time(r.at, ctx.zone),
            f" — {r.actor_name} ({r.platform}) ",
            Strong(r.action),
            *([": ", *audit_parts(r.detail, ctx.zone)] if r.detail else []),
            f"{' in ' + r.place if r.place else ''}",
            "" if r.outcome == "ok" else f" [{r.outcome}]",
        ]
        for r in rows
    ]
    return message(para(f"The last {len(rows)} maintainer actions, newest first:"), bullets(items))


def register(setup: Setup) -> None:
    registry = setup.commands
    registry.group(GROUP, "help, your time zone, the audit log, a created community's set-up")
    registry.add(
        CommandSpec(
            GROUP,
            ("help",),
            "every command with a one-line description and an example",
            "/communitybot help",
            help_command,
            audited=False,
            read_only=True,
            reads_nothing=True,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("timezone",),
            "set the time zone used for the times you type and read",
            "/communitybot timezone Europe/Berlin",
            timezone_command,
            args=(Arg("zone", ArgType.ZONE, "an IANA time zone", required=False),),
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("audit",),
            "the last N maintainer actions (who, what, where, when)",
            "/communitybot audit 20",
            audit_command,
            permission=Permission.MAINTAINER,
            audited=False,
            args=(
                Arg(
                    "count",
                    ArgType.INT,
                    "how many entries",
                    required=False,
                    min_value=1,
                    max_value=100,
                ),
            ),
            read_only=True,
        )
    )

    own_settings.register(setup, GROUP)


FEATURE = Feature("community", register)
