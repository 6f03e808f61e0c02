"""A whole bot on the console with its HTTP server, a clock the test moves and a full config,
for the public page's tests (HTTP and browser) and bench/page.py."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.core.invocation import Platform
from tests.conftest import make_settings
from tests.meetings_bot import COMMUNITY, Clock, MeetingBot, community_meeting, no_dns

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SURVEY = {
    "name": "2026 Community Survey",
    "url": "https://example.org/survey",
    "closes": "2026-12-31",
}


def page_config(**sections: Any) -> dict[str, Any]:
    """A community with a public and a private meeting and an open survey."""
    config: dict[str, Any] = {
        "community": COMMUNITY,
        "meetings": [
            community_meeting(),
            community_meeting(
                id="steering",
                name="Steering Committee",
                rrule="FREQ=WEEKLY;BYDAY=MO",
                start="2026-01-05T08:00",
                join_url="https://example.org/steering-room",
                register_url=None,
                public=False,
            ),
        ],
        "surveys": [SURVEY],
    }
    config.update(sections)
    return config


@asynccontextmanager
async def page_bot(
    db_url: str, config: dict[str, Any] | None = None, *, now: datetime = NOW
) -> AsyncIterator[MeetingBot]:
    settings = make_settings(
        db_url,
        config if config is not None else page_config(),
        http_port=0,
        public_url="https://community.example.org",
    )
    clock = Clock(now.astimezone(UTC))
    app = App(settings, console_user="olu", http=True, timer=False, resolver=no_dns, clock=clock)
    await app.start()
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    out = io.StringIO()
    adapter.out = out
    try:
        yield MeetingBot(app, clock, out)
    finally:
        await app.stop()


def page_url(bot: MeetingBot, path: str = "/") -> str:
    return f"http://127.0.0.1:{bot.app.http_port}{path}"
