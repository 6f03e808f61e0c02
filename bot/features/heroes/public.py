"""The Heroes' part of the public page: the hall, each Hero by the name announced.

Only the cycle and the display name snapshot: never the member id, the nominations, their
reasons or the citation (which may quote a nominator's reason)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.heroes.commands import HALL_SHOWN
from bot.features.heroes.rules import named_cycle
from bot.runtime.public import PublicHero, PublicView
from bot.runtime.services import Services
from bot.store import heroes as store


async def fill_public(services: Services, session: AsyncSession, view: PublicView) -> None:
    entries = await store.hall(session, services.community_id, HALL_SHOWN)
    view.heroes += [
        PublicHero(
            cycle_title=named_cycle(services.settings, e.cycle).title,
            display_name=e.display_name,
        )
        for e in entries
    ]
