"""The console bot as the hero tests use it: monthly cycles, replies rendered as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.core.invocation import Actor, MemberRef, Platform
from bot.runtime.permissions import CONSOLE_MAINTAINER_ROLE
from bot.store.heroes import HeroNomination
from tests.support.clock import Clock
from tests.support.console_bot import MAINTAINERS, ConsoleBot, console_bot

CONFIG: dict[str, Any] = {
    "community": {"name": "Example Community", "timezone": "America/Los_Angeles"},
    "heroes": {"period": "monthly"},
}


def actor(name: str) -> Actor:
    roles = frozenset({CONSOLE_MAINTAINER_ROLE}) if name in MAINTAINERS else frozenset()
    return Actor(Platform.CONSOLE, name, name, roles)


class HeroBot(ConsoleBot):
    async def nomination_count(self) -> int:
        async with self.app.db.sessions() as session:
            return int(await session.scalar(select(func.count(HeroNomination.id))) or 0)


@asynccontextmanager
async def hero_bot(
    db_url: str, now: datetime, config: Mapping[str, Any] | None = None
) -> AsyncIterator[HeroBot]:
    async with console_bot(
        db_url, config or CONFIG, clock=Clock(now), kind=HeroBot, bot_options={"zone": False}
    ) as bot:
        yield bot


def console_ref(name: str, *, is_bot: bool = False) -> MemberRef:
    return MemberRef(Platform.CONSOLE, name, name, is_bot)
