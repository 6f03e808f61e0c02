"""The console driver: the in-process console adapter, a person per `as_` name."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.core.invocation import Platform
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.core.urls import Resolver
from bot.runtime.feature import Feature
from tests.conftest import make_settings
from tests.scenarios.driver import MAINTAINERS, Said


class ConsoleDriver:
    platform = Platform.CONSOLE
    structured = False

    def __init__(self, app: App, out: io.StringIO) -> None:
        self.app = app
        self.out = out
        adapter = app.adapters[Platform.CONSOLE]
        assert isinstance(adapter, ConsoleAdapter)
        self.console = adapter

    async def _said(self, reply: Reply, as_: str) -> Said:
        del as_  # the reply carries its reader's zone
        return Said(
            render(reply.message, reply.zone, buttons=False),
            [(b.label, b.action_id) for b in reply.message.actions],
            reply.public,
        )

    async def say(self, text: str, *, as_: str = "olu") -> Said:
        actor = self.console.actor(as_, maintainer=as_ in MAINTAINERS)
        return await self._said(await self.console.say(text, actor), as_)

    async def press(self, said: Said, button: str, *, as_: str = "olu") -> Said:
        actor = self.console.actor(as_, maintainer=as_ in MAINTAINERS)
        return await self._said(await self.console.press(said.button(button), actor), as_)

    async def channel_posts(self) -> list[str]:
        chunks = self.out.getvalue().split("[#")[1:]
        return [c.partition("]\n")[2].strip() for c in chunks]

    async def run_due(self) -> int:
        return await self.app.run_due()


@asynccontextmanager
async def console_driver(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    resolver: Resolver,
    extra_features: Sequence[Feature] = (),
    database: str | None = None,
) -> AsyncIterator[ConsoleDriver]:
    settings = make_settings(database or f"sqlite+aiosqlite:///{tmp_path / 'console.db'}", config)
    out = io.StringIO()
    app = App(
        settings,
        console_user="olu",
        http=False,
        timer=False,
        resolver=resolver,
        extra_features=extra_features,
    )
    await app.start()
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    adapter.out = out
    try:
        yield ConsoleDriver(app, out)
    finally:
        await app.stop()
