"""The Hero calendar as deliveries: "nominations are open", "closing in N days", the close note.

Planning is idempotent (`enqueue` ignores rows that exist), so it runs at start, after every
hero command, and whenever one of these posts is sent — each cycle's posts plan the next
cycle's, so a bot left alone for months keeps its calendar without a restart.
Whether a post still applies is decided when it is sent: once a cycle's Hero is announced,
its "closing" posts are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Platform
from bot.core.message import Code, Heading, Message, Strong, Time, message, para
from bot.core.targets import Target
from bot.core.wording import counted
from bot.features.heroes.config import heroes_config
from bot.features.heroes.cycles import Cycle
from bot.features.heroes.rules import calendar_cycle, named_cycle
from bot.features.heroes.views import group_by_nominee
from bot.runtime.services import Services
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.kinds import DeliveryKind, KindRegistry, SendContext
from bot.scheduling.targets import announce_targets, maintainer_target
from bot.store import heroes as store
from bot.store.models import Delivery

SUBJECT = "heroes"
OPEN_KIND = "hero_open"
CLOSING_KIND = "hero_closing"
CLOSED_KIND = "hero_closed"


def maintainer_targets(services: Services) -> list[Target]:
    settings = services.settings
    platforms = set(services.platforms)
    if settings.slack_configured:
        platforms.add(Platform.SLACK)
    if settings.discord_configured:
        platforms.add(Platform.DISCORD)
    found = (maintainer_target(settings, p) for p in sorted(platforms))
    return [t for t in found if t is not None]


def closing_reminder_at(cycle: Cycle, days: int) -> datetime | None:
    """`days` local calendar days before nominations close (None if that is not after the start)."""
    if days <= 0:
        return None
    local_close = cycle.closes_at.astimezone(ZoneInfo(cycle.zone))
    due = (local_close - timedelta(days=days)).astimezone(UTC)
    return due if due > cycle.start else None


def planned_for(services: Services, cycle: Cycle) -> list[Planned]:
    targets = announce_targets(services.settings, services.platforms)
    out = [Planned(OPEN_KIND, SUBJECT, cycle.key, t, cycle.start) for t in targets]
    due = closing_reminder_at(cycle, heroes_config(services.settings).closing_reminder_days)
    if due is not None:
        out += [Planned(CLOSING_KIND, SUBJECT, cycle.key, t, due) for t in targets]
    out += [
        Planned(CLOSED_KIND, SUBJECT, cycle.key, t, cycle.closes_at)
        for t in maintainer_targets(services)
    ]
    return out


# Posts that exist, per community and cycle (the cycle is the delivery's occurrence).
_PLANNED_COUNTS = (
    select(Delivery.community_id, Delivery.occurrence, func.count())
    .where(
        Delivery.subject == SUBJECT,
        Delivery.community_id.in_(bindparam("communities", expanding=True)),
        Delivery.occurrence.in_(bindparam("occurrences", expanding=True)),
    )
    .group_by(Delivery.community_id, Delivery.occurrence)
)


async def plan(session: AsyncSession, services: Services, now: datetime) -> int:
    """Make sure this cycle's and the next cycle's posts exist; returns how many were new."""
    return await plan_all(session, [services], now)


async def plan_all(session: AsyncSession, views: Sequence[Services], now: datetime) -> int:
    """`plan` for each of these communities, with one count of the posts that exist."""
    # Deliveries are never deleted and targets change only with the config (a restart), so
    # once this process has seen a cycle's posts in the database, it need not look again.
    wanted: list[tuple[Services, tuple[str, str], list[Planned], tuple[str, str]]] = []
    for view in views:
        cycle = calendar_cycle(view.settings, now)
        settled = ("heroes planned", cycle.key)
        if settled in view.settled:
            continue
        following = cycle.following()
        planned = planned_for(view, cycle) + planned_for(view, following)
        wanted.append((view, settled, planned, (cycle.key, following.key)))
    if not wanted:
        return 0
    counts = await session.execute(
        _PLANNED_COUNTS,
        {
            "communities": sorted({view.community_id for view, *_ in wanted}),
            "occurrences": sorted({key for *_, keys in wanted for key in keys}),
        },
    )
    existing = {(community_id, cycle): n for community_id, cycle, n in counts.all()}
    new = 0
    for view, settled, planned, keys in wanted:
        if sum(existing.get((view.community_id, key), 0) for key in keys) >= len(planned):
            view.settled.add(settled)
            continue
        new += await enqueue(session, view.community_id, planned, now)
    return new


async def on_start(views: Sequence[Services]) -> None:
    if views:
        async with views[0].db.session() as session:
            await plan_all(session, views, views[0].clock())


async def _roll_forward(ctx: SendContext, cycle: Cycle) -> None:
    # A separate, short transaction before the render reads anything: on SQLite every
    # transaction holds the write lock, so it must not overlap the render's own.
    async with ctx.services.db.session() as session:
        await enqueue(
            session,
            ctx.services.community_id,
            planned_for(ctx.services, cycle.following()),
            ctx.now,
        )


def _nominate_hint(ctx: SendContext) -> Code:
    label = ctx.services.command_label(ctx.target.platform, "hero nominate")
    return Code(f"{label} @name <why>")


async def render_open(ctx: SendContext, row: Delivery) -> Message | None:
    cycle = named_cycle(ctx.services.settings, row.occurrence)
    await _roll_forward(ctx, cycle)
    if ctx.now >= cycle.closes_at or await store.hero_of(ctx.session, row.community_id, cycle.key):
        return None
    zone = ctx.services.settings.community.timezone
    return message(
        Heading(f"Community Hero — {cycle.title}"),
        para(
            "Nominations for the ",
            Strong(f"{cycle.title} Community Hero"),
            " are open until ",
            Time(cycle.open_until, zone),
            ". Who is your Community Hero? Tell the maintainers, privately, with ",
            _nominate_hint(ctx),
            ".",
        ),
    )


async def render_closing(ctx: SendContext, row: Delivery) -> Message | None:
    cycle = named_cycle(ctx.services.settings, row.occurrence)
    await _roll_forward(ctx, cycle)
    if ctx.now >= cycle.closes_at or await store.hero_of(ctx.session, row.community_id, cycle.key):
        return None
    days = max(1, math.ceil((cycle.closes_at - ctx.now) / timedelta(days=1)))
    zone = ctx.services.settings.community.timezone
    return message(
        para(
            f"Nominations for the {cycle.title} Community Hero close in {days} "
            f"day{'s' if days != 1 else ''}, at the end of ",
            Time(cycle.open_until, zone),
            ". There is still time to nominate someone: ",
            _nominate_hint(ctx),
            ".",
        )
    )


async def render_closed(ctx: SendContext, row: Delivery) -> Message | None:
    cycle = named_cycle(ctx.services.settings, row.occurrence)
    await _roll_forward(ctx, cycle)
    if await store.hero_of(ctx.session, row.community_id, cycle.key):
        return None
    rows = await store.nominations_in(ctx.session, row.community_id, cycle.key)
    reviews = await store.reviews_in(ctx.session, row.community_id, cycle.key)
    nominees = group_by_nominee(rows)
    label = ctx.services.command_label(ctx.target.platform, "hero nominations")
    if not nominees:
        return Message.text(
            f"Nominations for the {cycle.title} Community Hero have closed with none received."
        )
    waiting = sum(1 for n in nominees if n.status(reviews) is None)
    return Message.text(
        f"Nominations for the {cycle.title} Community Hero have closed: "
        f"{counted(len(rows), 'nomination')} of {counted(len(nominees), 'member')}, "
        f"{waiting} waiting for review. "
        "See ",
        Code(f"{label} {cycle.key}"),
        ".",
    )


def register_kinds(kinds: KindRegistry) -> None:
    kinds.add(DeliveryKind(OPEN_KIND, render_open))
    # "Closing in 3 days" a day late is still true but stale; later than that, drop it.
    kinds.add(DeliveryKind(CLOSING_KIND, render_closing, max_lateness=timedelta(days=1)))
    kinds.add(DeliveryKind(CLOSED_KIND, render_closed))
