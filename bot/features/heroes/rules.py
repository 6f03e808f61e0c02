"""Which cycle a command is about, decided once here from the clock, the config and the hall."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.errors import UserError
from bot.features.heroes.config import heroes_config
from bot.features.heroes.cycles import Cycle, cycle_at, parse_cycle
from bot.store import heroes as store

# A cycle after an announced one is tried at most this far ahead (someone may have announced
# the next cycle's Hero early with --cycle); past that, nominating waits.
LOOKAHEAD = 3


def calendar_cycle(settings: Settings, now: datetime) -> Cycle:
    """The cycle the community's calendar is in at `now`."""
    heroes = heroes_config(settings)
    return cycle_at(now, settings.community.timezone, heroes.period, heroes.window_days)


def named_cycle(settings: Settings, text: str) -> Cycle:
    heroes = heroes_config(settings)
    return parse_cycle(text, settings.community.timezone, heroes.period, heroes.window_days)


async def nominating_cycle(
    session: AsyncSession, settings: Settings, community_id: int, now: datetime
) -> tuple[Cycle, Cycle | None]:
    """The cycle new nominations count toward, and the announced one they moved on from.

    Nominations count toward the calendar's cycle until its Hero is announced; after that,
    toward the next one.
    """
    cycle = calendar_cycle(settings, now)
    chain = [cycle]
    for _ in range(LOOKAHEAD):
        chain.append(chain[-1].following())
    done = await store.announced(session, community_id, [c.key for c in chain])
    moved_from: Cycle | None = None
    for candidate in chain:
        if candidate.key not in done:
            return candidate, moved_from
        moved_from = candidate
    raise UserError(
        f"The Heroes of the next {LOOKAHEAD} cycles are already announced; "
        "nominations reopen after that."
    )


async def cycle_for(
    ctx_session: AsyncSession,
    settings: Settings,
    community_id: int,
    now: datetime,
    text: str | None,
) -> Cycle:
    """The cycle a maintainer named, or the one nominations currently count toward."""
    if text:
        return named_cycle(settings, text)
    cycle, _ = await nominating_cycle(ctx_session, settings, community_id, now)
    return cycle
