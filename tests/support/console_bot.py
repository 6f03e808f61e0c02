"""A whole bot on the console for feature tests: the real App, a clock the test moves,
replies and posts as the text a console user reads.

`await bot.say("/hero nominate @ana …", as_="olu")` answers with the rendered reply;
`await bot.run_due(at)` moves the clock and sends what is due; `bot.posts()` is what the
console printed, post by post. Feature modules subclass it for their own queries.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select

from bot.adapters.console import PLACE, ConsoleAdapter
from bot.app import App
from bot.core.invocation import Actor, Invocation, Platform, Press
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.store.models import Delivery
from tests.conftest import make_settings
from tests.support.clock import Clock

MAINTAINERS = frozenset({"maya", "mo"})
# A console post starts with its place on a line of its own: `[#main]`,
# `[direct message to @ana]`.
_POST_HEAD = re.compile(r"^\[(#\w+|direct message to @\w+)\]\n", flags=re.M)


class ConsoleBot:
    def __init__(
        self,
        app: App,
        clock: Clock,
        out: io.StringIO,
        *,
        maintainers: frozenset[str] = MAINTAINERS,
        zone: bool = True,
        buttons: bool = True,
    ) -> None:
        self.app, self.clock, self.out = app, clock, out
        self.maintainers = maintainers
        # How replies are rendered: in the reader's zone or not, with button labels or not.
        self.zone, self.buttons = zone, buttons
        self._seen = 0

    @property
    def console(self) -> ConsoleAdapter:
        adapter = self.app.adapters[Platform.CONSOLE]
        assert isinstance(adapter, ConsoleAdapter)
        return adapter

    def actor(self, name: str | None = None, *, maintainer: bool | None = None) -> Actor:
        """`name` (the console user by default); a maintainer when listed, unless told."""
        who = name or self.console.user
        if maintainer is None:
            maintainer = who in self.maintainers
        return self.console.actor(who, maintainer=maintainer)

    async def reply(
        self, line: str, as_: str | None = None, *, maintainer: bool | None = None, **options: Any
    ) -> Reply:
        """Typed `line`, or (with `options`) a structured invocation, as Discord sends one."""
        actor = self.actor(as_, maintainer=maintainer)
        if not options:
            return await self.console.say(line, actor)
        head, _, rest = line.lstrip("/").partition(" ")
        inv = Invocation(head, actor, PLACE, path=tuple(rest.split()), options=options)
        return await self.app.dispatcher.handle(inv)

    async def say(
        self, line: str, as_: str | None = None, *, maintainer: bool | None = None, **options: Any
    ) -> str:
        reply = await self.reply(line, as_, maintainer=maintainer, **options)
        return render(reply.message, reply.zone if self.zone else None, buttons=self.buttons)

    async def press(
        self, action_id: str, as_: str | None = None, *, maintainer: bool | None = None
    ) -> Reply:
        actor = self.actor(as_, maintainer=maintainer)
        return await self.app.dispatcher.press(Press(action_id, actor, PLACE))

    async def run_due(self, at: datetime | None = None) -> int:
        """Move the clock to `at` (when given) and send what is due then; returns how many."""
        if at is not None:
            self.clock.now = at
        return await self.app.run_due(self.clock.now)

    async def deliver(self, at: datetime | None = None) -> list[str]:
        """run_due(at), then the posts it printed, as `where: text`."""
        await self.run_due(at)
        return self.new_posts()

    def printed(self) -> str:
        return self.out.getvalue()

    def posts(self) -> list[tuple[str, str]]:
        """(where, text) of everything the console printed as a post, oldest first."""
        parts = _POST_HEAD.split(self.printed())
        return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]

    def channel_posts(self) -> list[str]:
        return [text for where, text in self.posts() if where.startswith("#")]

    def new_posts(self) -> list[str]:
        """`where: text` of the posts printed since the last call."""
        posts = self.posts()
        fresh, self._seen = posts[self._seen :], len(posts)
        return [f"{where}: {text}" for where, text in fresh]

    async def deliveries(self) -> list[Delivery]:
        async with self.app.db.sessions() as session:
            rows = await session.scalars(select(Delivery).order_by(Delivery.due_at, Delivery.id))
            return list(rows.all())


BotT = TypeVar("BotT", bound=ConsoleBot)


@asynccontextmanager
async def console_bot(
    db_url: str,
    config: Mapping[str, Any],
    *,
    clock: Clock,
    kind: type[BotT] = ConsoleBot,  # type: ignore[assignment]
    user: str = "olu",
    console_maintainer: bool = False,
    http: bool = False,
    resolver: Any = None,
    bot_options: Mapping[str, Any] | None = None,
    **env: Any,
) -> AsyncIterator[BotT]:
    """A started App on the console only, its posts captured; stopped afterwards."""
    settings = make_settings(db_url, dict(config), http_port=0, **env)
    extra = {"resolver": resolver} if resolver is not None else {}
    app = App(
        settings,
        console_user=user,
        console_maintainer=console_maintainer,
        http=http,
        timer=False,
        clock=clock,
        **extra,
    )
    await app.start()
    out = io.StringIO()
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    adapter.out = out
    try:
        yield kind(app, clock, out, **(bot_options or {}))
    finally:
        await app.stop()
