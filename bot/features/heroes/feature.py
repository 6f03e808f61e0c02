"""`/hero`: Community Hero nominations, review, announcement and the hall of fame."""

from __future__ import annotations

from bot.core.commands import Arg, ArgType, CommandSpec, HomeSection, Permission
from bot.features.heroes import announce, commands, public, schedule
from bot.features.heroes.config import SECTION
from bot.features.heroes.views import ACTION, REVIEW_VERBS
from bot.runtime.feature import Feature, Setup
from bot.scheduling.kinds import DeliveryKind

GROUP = "hero"
_MEMBER = Arg("member", ArgType.MEMBER, "the member")
_CYCLE = Arg("cycle", ArgType.WORD, "a cycle such as 2026-11 (default: the current one)", False)


def register(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    setup.config_section(SECTION)
    setup.on_start(schedule.on_start)
    setup.public_part(public.fill_public)
    registry.group(GROUP, "Community Hero nominations, review and the hall of fame")
    registry.add(
        CommandSpec(
            GROUP,
            ("nominate",),
            "nominate someone for this cycle's Community Hero (only maintainers see it)",
            "/hero nominate @olu for answering every question in #help",
            commands.nominate,
            args=(
                Arg("member", ArgType.MEMBER, "who you nominate"),
                Arg(
                    "reason",
                    ArgType.TEXT,
                    "why they are your Community Hero",
                    rest=True,
                    max_length=commands.REASON_MAX,
                ),
            ),
            options=(
                Arg(
                    "anonymous",
                    ArgType.FLAG,
                    "never show your name with this nomination",
                    required=False,
                ),
            ),
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("nominations",),
            "the cycle's nominations grouped by nominee, with reasons and counts",
            "/hero nominations 2026-11",
            commands.nominations,
            args=(_CYCLE,),
            permission=Permission.MAINTAINER,
            audited=False,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("review",),
            "shortlist, approve or reject a nominee (the same as the review buttons)",
            "/hero review @olu shortlist",
            commands.review,
            args=(
                Arg("member", ArgType.MEMBER, "the nominee"),
                Arg(
                    "decision",
                    ArgType.CHOICE,
                    "shortlist, approve or reject",
                    choices=tuple(REVIEW_VERBS),
                ),
                _CYCLE,
            ),
            permission=Permission.MAINTAINER,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("announce",),
            "pick the Hero; the announcement goes to every announce channel",
            "/hero announce @olu Thank you for a year of patient reviews!",
            announce.announce,
            args=(
                Arg("member", ArgType.MEMBER, "the Hero"),
                Arg(
                    "message",
                    ArgType.TEXT,
                    "a few words from the maintainers",
                    required=False,
                    rest=True,
                    max_length=1000,
                ),
            ),
            options=(
                Arg(
                    "cycle",
                    ArgType.WORD,
                    "announce this cycle's Hero (default: the current one)",
                    False,
                ),
            ),
            permission=Permission.MAINTAINER,
            confirm=announce.preview,
        )
    )
    registry.add(
        CommandSpec(
            GROUP,
            ("hall",),
            "past Heroes",
            "/hero hall",
            commands.hall,
            audited=False,
            read_only=True,
        )
    )
    registry.action(ACTION, commands.review_button, Permission.MAINTAINER)
    registry.home_section(
        HomeSection("Nominate a Community Hero", "hero nominate", run=False, usage="@name reason")
    )
    schedule.register_kinds(kinds)
    kinds.add(DeliveryKind(announce.ANNOUNCE_KIND, announce.render_announcement))


FEATURE = Feature("heroes", register)
