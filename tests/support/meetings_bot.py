"""The console bot as the meetings tests use it: the community's zone, no DNS, replies
rendered in the reader's zone without button labels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from tests.support.clock import Clock
from tests.support.console_bot import ConsoleBot, console_bot

COMMUNITY = {"name": "Example Community", "timezone": "America/Los_Angeles"}


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


@asynccontextmanager
async def meeting_bot(
    db_url: str,
    *,
    meetings: list[dict[str, Any]] | None = None,
    now: datetime,
    http: bool = False,
    clock: Clock | None = None,
) -> AsyncIterator[ConsoleBot]:
    clock = clock or Clock()
    clock.now = now.astimezone(UTC)
    config: dict[str, Any] = {"community": COMMUNITY, "meetings": meetings or []}
    async with console_bot(
        db_url, config, clock=clock, http=http, resolver=no_dns, bot_options={"buttons": False}
    ) as bot:
        yield bot
