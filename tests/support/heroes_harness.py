"""A hero test bot: the real App on the console, a clock the test sets, replies as text."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.adapters.console import PLACE, ConsoleAdapter
from bot.app import App
from bot.core.invocation import Actor, Invocation, MemberRef, Platform, Press
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.runtime.permissions import CONSOLE_MAINTAINER_ROLE
from bot.store.heroes import HeroNomination
from bot.store.models import Delivery
from tests.conftest import make_settings
from tests.support.clock import Clock

MAINTAINERS = frozenset({"maya", "mo"})
CONFIG: dict[str, Any] = {
    "community": {"name": "Example Community", "timezone": "America/Los_Angeles"},
    "heroes": {"period": "monthly"},
}


def actor(name: str) -> Actor:
    roles = frozenset({CONSOLE_MAINTAINER_ROLE}) if name in MAINTAINERS else frozenset()
    return Actor(Platform.CONSOLE, name, name, roles)


class HeroBot:
    def __init__(self, app: App, clock: Clock, out: io.StringIO) -> None:
        self.app = app
        self.clock = clock
        self.out = out

    async def reply(self, text: str, as_: str = "olu", **options: Any) -> Reply:
        """Typed text, or (with `options`) a structured invocation of `/hero <text>`."""
        head, _, rest = text.lstrip("/").partition(" ")
        if options:
            inv = Invocation(head, actor(as_), PLACE, path=tuple(rest.split()), options=options)
        else:
            inv = Invocation(head, actor(as_), PLACE, text=rest)
        return await self.app.dispatcher.handle(inv)

    async def say(self, text: str, as_: str = "olu", **options: Any) -> str:
        return render((await self.reply(text, as_, **options)).message)

    async def press(self, action_id: str, as_: str) -> Reply:
        return await self.app.dispatcher.press(Press(action_id, actor(as_), PLACE))

    def posts(self) -> list[str]:
        return [c.partition("]\n")[2].strip() for c in self.out.getvalue().split("[#")[1:]]

    async def run_due(self, now: datetime | None = None) -> int:
        if now is not None:
            self.clock.now = now
        return await self.app.run_due(self.clock.now)

    async def nomination_count(self) -> int:
        async with self.app.db.sessions() as session:
            return int(await session.scalar(select(func.count(HeroNomination.id))) or 0)

    async def deliveries(self) -> list[Delivery]:
        async with self.app.db.sessions() as session:
            rows = await session.scalars(select(Delivery).order_by(Delivery.due_at, Delivery.id))
            return list(rows.all())


@asynccontextmanager
async def hero_bot(
    db_url: str, now: datetime, config: Mapping[str, Any] | None = None
) -> AsyncIterator[HeroBot]:
    clock = Clock(now)
    app = App(
        make_settings(db_url, dict(config or CONFIG)),
        console_user="olu",
        http=False,
        timer=False,
        clock=clock,
    )
    await app.start()
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    out = io.StringIO()
    adapter.out = out
    try:
        yield HeroBot(app, clock, out)
    finally:
        await app.stop()


def console_ref(name: str, *, is_bot: bool = False) -> MemberRef:
    return MemberRef(Platform.CONSOLE, name, name, is_bot)
