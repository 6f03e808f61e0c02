"""`/hero announce`: pick the cycle's Hero, enter the hall, post to every announce channel.

The posts go out as deliveries (one per announce channel on every platform), rendered at send
time from the hall entry, so the command itself only writes rows and answers at once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UserError
from bot.core.invocation import MemberRef, Platform
from bot.core.message import Mention, Message, Text, message, para
from bot.core.targets import Target
from bot.core.wording import counted
from bot.features.heroes import schedule
from bot.features.heroes.cycles import Cycle
from bot.features.heroes.rules import calendar_cycle, named_cycle, nominating_cycle
from bot.features.heroes.views import announcement, member_ref, name_of
from bot.runtime.context import Context
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.kinds import SendContext
from bot.scheduling.targets import announce_targets
from bot.store import heroes as store
from bot.store.members import MemberRow
from bot.store.models import Delivery

ANNOUNCE_KIND = "hero_announcement"


async def _chosen(ctx: Context) -> tuple[Cycle, MemberRow, list[Target]]:
    """The cycle and the Hero the maintainer named, or a sentence saying why not."""
    ref: MemberRef = ctx.args["member"]
    cycle = (
        named_cycle(ctx.settings, ctx.args["cycle"])
        if ctx.args.get("cycle")
        else calendar_cycle(ctx.settings, ctx.now)
    )
    # The next cycle may already collect nominations (once this one's Hero is out); later
    # ones cannot have any, so a Hero for them is a typo.
    if cycle.start > calendar_cycle(ctx.settings, ctx.now).following().start:
        raise UserError(
            f"The {cycle.title} cycle is too far ahead to have a Hero; "
            "name this cycle or the next one."
        )
    hero = await store.hero_of(ctx.session, ctx.community_id, cycle.key)
    if hero is not None:
        raise UserError(
            f"The {cycle.title} Community Hero was already announced ({hero.display_name}); "
            f"to announce another cycle's Hero, add --cycle {cycle.following().key}."
        )
    if ref.is_bot:
        raise UserError("Bots can't be Community Heroes; pick a person.")
    nominee = await ctx.member_for(ref)
    if nominee.is_bot:
        raise UserError("Bots can't be Community Heroes; pick a person.")
    targets = announce_targets(ctx.settings, ctx.services.platforms)
    if not targets:
        raise UserError(
            "No announce channels are configured, so there is nowhere to announce the Hero; "
            "set announce_channels in the config."
        )
    return cycle, nominee, targets


def _where(targets: list[Target]) -> str:
    return ", ".join(f"{t.platform} {t.id}" for t in targets)


async def preview(ctx: Context) -> Message:
    cycle, nominee, targets = await _chosen(ctx)
    rows = await store.nominations_in(ctx.session, ctx.community_id, cycle.key, nominee.id)
    post = announcement(
        cycle, member_ref(nominee), ctx.args.get("message"), rows, ctx.label("hero nominate")
    )
    return message(
        para(
            f"This announces the {cycle.title} Community Hero in {len(targets)} "
            f"channel{'s' if len(targets) != 1 else ''} ({_where(targets)}); ",
            Mention(member_ref(nominee)),
            f" has {counted(len(rows), 'nomination')} this cycle. It will read:",
        ),
        *post.blocks,
    )


async def announce(ctx: Context) -> Message:
    cycle, nominee, targets = await _chosen(ctx)
    rows = await store.nominations_in(ctx.session, ctx.community_id, cycle.key, nominee.id)
    text: str | None = ctx.args.get("message")
    public = [r for r in rows if not r.nomination.anonymous]
    citation = text or (public[0].nomination.reason if public else "")
    entry = await store.add_to_hall(
        ctx.session,
        {
            "community_id": ctx.community_id,
            "cycle": cycle.key,
            "member_id": nominee.id,
            "platform": nominee.platform,
            "platform_user_id": nominee.platform_user_id,
            "display_name": name_of(nominee),
            "citation": citation,
            "message": text,
            "nominators": len({r.nominator.person_id for r in rows}),
            "announced_at": ctx.now,
            "announced_by": ctx.actor.display_name or ctx.actor.user_id,
        },
    )
    if entry is None:
        raise UserError(
            f"The {cycle.title} Community Hero was announced a moment ago by someone else."
        )
    await enqueue(
        ctx.session,
        ctx.community_id,
        [Planned(ANNOUNCE_KIND, schedule.SUBJECT, cycle.key, t, ctx.now) for t in targets],
        ctx.now,
    )
    await schedule.plan(ctx.session, ctx.services, ctx.now)
    ctx.audit(ctx.label("hero announce"), f"@{name_of(nominee)} for {cycle.key}")
    following, _ = await nominating_cycle(ctx.session, ctx.settings, ctx.community_id, ctx.now)
    return message(
        para(
            Mention(member_ref(nominee)),
            f" is the {cycle.title} Community Hero; the announcement is on its way to "
            f"{len(targets)} channel{'s' if len(targets) != 1 else ''}.",
        ),
        para(Text(f"New nominations now count toward {following.title}.")),
    )


async def _rows_for(session: AsyncSession, entry: store.HeroHallEntry) -> list[store.NominationRow]:
    if entry.member_id is None:  # the account is gone; its nominations went with it
        return []
    return await store.nominations_in(session, entry.community_id, entry.cycle, entry.member_id)


async def render_announcement(ctx: SendContext, row: Delivery) -> Message | None:
    entry = await store.hero_of(ctx.session, row.community_id, row.occurrence)
    if entry is None:
        return None
    cycle = named_cycle(ctx.services.settings, entry.cycle)
    hero = MemberRef(Platform(entry.platform), entry.platform_user_id, entry.display_name)
    label = ctx.services.command_label(ctx.target.platform, "hero nominate")
    return announcement(cycle, hero, entry.message, await _rows_for(ctx.session, entry), label)
