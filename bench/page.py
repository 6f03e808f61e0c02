"""Requests per second for GET / (the public page) with 1,000 meetings.

    .venv/bin/python bench/page.py [--meetings 1000] [--requests 300] [--concurrency 8]
                                   [--database-url URL]

A real bot (console only, its aiohttp server on 127.0.0.1, port 0) over SQLite by default
(a fresh file) or --database-url; the meetings are written straight into its database,
each weekly with its own weekday and hour. Prints the time of the first (cold) render,
then the rate of a bounded loop of --requests full answers (200; the server reuses a
render for up to 5 s) and of as many revalidations (If-None-Match: 304, no body sent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.console import ConsoleAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store.meetings import Meeting, MeetingSource, MeetingState  # noqa: E402

DAYS = ("MO", "TU", "WE", "TH", "FR")


def _settings(database_url: str) -> Settings:
    from bot.app import parse_file_config

    file = parse_file_config({"community": {"name": "Bench Community", "timezone": "UTC"}})
    return Settings(file=file, database_url=database_url, http_port=0)


async def _add_meetings(app: App, count: int, now: datetime) -> None:
    async with app.services.db.session() as session:
        for n in range(count):
            day = n % len(DAYS)
            session.add(
                Meeting(
                    community_id=app.services.community_id,
                    key=f"m{n:04d}",
                    name=f"Working group {n}",
                    description="A weekly working group.",
                    rrule=f"FREQ=WEEKLY;BYDAY={DAYS[day]}",
                    local_start=f"2026-01-{5 + day:02d}T{8 + n % 10:02d}:{n % 4 * 15:02d}",
                    timezone=("UTC", "Europe/Berlin", "America/Los_Angeles")[n % 3],
                    duration_minutes=60,
                    join_url=f"https://example.org/join/{n}",
                    register_url=None,
                    agenda_url=None,
                    reminders=[],
                    agenda_call=None,
                    slack_channels=None,
                    discord_channels=None,
                    source=MeetingSource.COMMAND,
                    state=MeetingState.ACTIVE,
                    sequence=0,
                    created_at=now,
                    updated_at=now,
                )
            )


async def _loop(url: str, requests: int, concurrency: int, headers: dict[str, str]) -> float:
    """Requests per second over a bounded number of requests."""
    remaining = requests
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with http.get(url, headers=headers) as response:
                    await response.read()
                    assert response.status in (200, 304), response.status

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        now = datetime.now(UTC)
        app = App(_settings(url), console_user="bench", http=True, timer=False)
        await app.start()
        try:
            assert isinstance(app.adapters.get(next(iter(app.adapters))), ConsoleAdapter)
            await _add_meetings(app, args.meetings, now)
            page = f"http://127.0.0.1:{app.http_port}/"
            started = time.perf_counter()
            async with aiohttp.ClientSession() as http, http.get(page) as first:
                body = await first.read()
                etag = first.headers["ETag"]
            cold = time.perf_counter() - started
            full = await _loop(page, args.requests, args.concurrency, {})
            revalidated = await _loop(
                page, args.requests, args.concurrency, {"If-None-Match": etag}
            )
        finally:
            await app.stop()
    print(
        f"GET / with {args.meetings} meetings ({len(body) // 1024} KB page), "
        f"{args.requests} requests at concurrency {args.concurrency}: one render "
        f"{cold * 1000:.0f} ms; {full:.0f} requests/s (200, the render reused for up to 5 s), "
        f"{revalidated:.0f} requests/s revalidated (304)"
    )


if __name__ == "__main__":
    asyncio.run(main())
