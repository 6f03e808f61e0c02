"""A whole bot on the console with its HTTP server, a clock the test moves and a full config,
for the public page's tests (HTTP and browser) and bench/page.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from tests.support.clock import Clock
from tests.support.console_bot import ConsoleBot, console_bot
from tests.support.meetings_bot import COMMUNITY, community_meeting, no_dns

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
) -> AsyncIterator[ConsoleBot]:
    clock = Clock(now.astimezone(UTC))
    async with console_bot(
        db_url,
        config if config is not None else page_config(),
        clock=clock,
        http=True,
        resolver=no_dns,
        bot_options={"buttons": False},
        public_url="https://community.example.org",
    ) as bot:
        yield bot


def page_url(bot: ConsoleBot, path: str = "/") -> str:
    return f"http://127.0.0.1:{bot.app.http_port}{path}"
