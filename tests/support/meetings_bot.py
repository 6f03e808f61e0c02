"""A whole bot on the console with a clock the test moves, for the meetings tests."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.core.invocation import Platform
from bot.core.plaintext import render
from tests.conftest import make_settings
from tests.support.clock import Clock

COMMUNITY = {"name": "Example Community", "timezone": "America/Los_Angeles"}
MAINTAINERS = {"maya", "mo"}


def community_meeting(**overrides: Any) -> dict[str, Any]:
    """CONTRACT's example meeting."""
    values: dict[str, Any] = {
        "id": "community",
        "name": "Community Meeting",
        "rrule": "FREQ=MONTHLY;BYDAY=-1TH",
        "start": "2026-01-29T09:00",
        "timezone": "America/Los_Angeles",
        "duration_minutes": 60,
        "join_url": "https://example.org/zoom",
        "register_url": "https://example.org/register",
        "reminders": ["7d", "1d", "1h", "0m"],
    }
    values.update(overrides)
    return values


async def no_dns(host: str) -> list[str]:
    del host
    return []


@dataclass
class MeetingBot:
    app: App
    clock: Clock
    out: io.StringIO
    seen: int = field(default=0)

    @property
    def console(self) -> ConsoleAdapter:
        adapter = self.app.adapters[Platform.CONSOLE]
        assert isinstance(adapter, ConsoleAdapter)
        return adapter

    async def say(self, line: str, as_: str = "olu") -> str:
        actor = self.console.actor(as_, maintainer=as_ in MAINTAINERS)
        reply = await self.console.say(line, actor)
        return render(reply.message, reply.zone, buttons=False)

    async def run_due(self, at: datetime | None = None) -> list[str]:
        """Move the clock to `at`, send what is due, and return the new console posts."""
        if at is not None:
            self.clock.now = at
        await self.app.run_due(self.clock.now)
        return self.new_posts()

    def new_posts(self) -> list[str]:
        text = self.out.getvalue()
        fresh, self.seen = text[self.seen :], len(text)
        chunks = fresh.split("\n[")
        posts = []
        for chunk in chunks:
            chunk = chunk.lstrip("[")
            if not chunk.strip():
                continue
            where, _, body = chunk.partition("]\n")
            posts.append(f"{where}: {body.strip()}")
        return posts


@asynccontextmanager
async def meeting_bot(
    db_url: str,
    *,
    meetings: list[dict[str, Any]] | None = None,
    now: datetime,
    http: bool = False,
    clock: Clock | None = None,
) -> AsyncIterator[MeetingBot]:
    config: dict[str, Any] = {"community": COMMUNITY, "meetings": meetings or []}
    settings = make_settings(db_url, config, http_port=0)
    clock = clock or Clock(now.astimezone(UTC))
    clock.now = now.astimezone(UTC)
    app = App(settings, console_user="olu", http=http, timer=False, resolver=no_dns, clock=clock)
    await app.start()
    out = io.StringIO()
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    adapter.out = out
    try:
        yield MeetingBot(app, clock, out)
    finally:
        await app.stop()
