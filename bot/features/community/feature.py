"""`/communitybot`: help, the asker's time zone, and the maintainers' audit log."""

from __future__ import annotations

from bot.core.audit_text import audit_parts
from bot.core.commands import Arg, ArgType, CommandSpec, Permission, Registry
from bot.core.invocation import Platform
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


# The help as each registry, platform and set of Slack command renames shows it: the inputs
# of Services.command_label, the one thing in the help that varies. Bounded: a deployment
# has a handful of such combinations.
_HELP: dict[tuple[Registry, Platform, tuple[tuple[str, str], ...]], Message] = {}
_HELP_KEPT = 64


async def help_command(ctx: Context) -> Message:
    renames = tuple(sorted(ctx.settings.slack.commands.items()))
    key = (ctx.services.registry, ctx.actor.platform, renames)
    shown = _HELP.get(key)
    if shown is None:
        if len(_HELP) >= _HELP_KEPT:
            _HELP.clear()
        shown = _HELP[key] = _help(ctx)
    return shown


def _help(ctx: Context) -> Message:
    blocks: list[Heading | Bullets] = []
    for group in ctx.services.registry.groups.values():
        items: list[list[Inline | str]] = []
        for spec in group.specs.values():
            who = " (maintainers)" if spec.permission is Permission.MAINTAINER else ""
            items.append(
                [
                    Strong(ctx.label(spec.name)),
                    f" — {spec.summary}{who}. Example: ",
                    Text(_example(ctx, spec)),
                ]
            )
        blocks += [
            Heading(f"/{ctx.label(group.name).lstrip('/')} — {group.description}"),
            bullets(items),
        ]
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
