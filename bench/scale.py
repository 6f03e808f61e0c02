"""A foundation's scale: 1,000 config-declared meetings (and optionally a year of history).

    .venv/bin/python bench/scale.py [--meetings 1000] [--runs 3] [--db sqlite|postgres]
                                    [--year] [--requests 100]

Each run, on a fresh database: `communitybot run` (HTTP mode, against the in-process Slack
fake) with `--meetings` weekly meetings of 4 reminders each in its config file is started
(first start: spawn to /healthz answering 200), left to finish its background planning,
stopped, and started again with nothing changed (restart: spawn to /healthz). Then
`/meeting next` and `/meeting list 10` are sent one at a time as signed slash commands (p50
and max), and the process's resident memory is read. The floor, in the same run: a bare
bolt AsyncApp served by aiohttp (bench/slack_ack.py's) started the same way and sent the
same number of commands.

--year fills the database, between the first start and the restart, with a year of a big
community's history: 100,000 members, 10,000 Hero nominations, 1,000,000 sent deliveries
and 50,000 survey opens (bulk inserts). --db postgres uses a fresh database on the server
named by COMMUNITYBOT_TEST_POSTGRES_URL (or --database-url), dropped afterwards.

Targets (issue 16): first start < 10 s, restart < 3 s, /meeting next p50 < 50 ms and max <
200 ms, RSS < 150 MB. Figures printed are the median of --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processes import stop_process  # noqa: E402
from slack_ack import BOT_TOKEN, SECRET, free_port, wait_http  # noqa: E402

from tests.fakes.slack_api import SlackFake  # noqa: E402
from tests.fakes.slack_signing import (  # noqa: E402
    encode_slash_command,
    signed_headers,
    slash_command_payload,
)

ZONES = ("America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "UTC", "America/New_York")
DAYS = ("MO", "TU", "WE", "TH", "FR")


def config_text(meetings: int) -> str:
    lines = [
        "[community]",
        'name = "Bench Foundation"',
        'timezone = "UTC"',
        "",
        "[slack]",
        'announce_channels = ["C0BENCH001"]',
        "",
    ]
    for i in range(meetings):
        hour = 6 + i % 12
        day = DAYS[i % len(DAYS)]
        # A start on the rule: the first such weekday of January 2026.
        first = 5 + DAYS.index(day)  # 2026-01-05 is a Monday
        lines += [
            "[[meetings]]",
            f'id = "wg{i:04d}"',
            f'name = "Working Group {i:04d}"',
            f'rrule = "FREQ=WEEKLY;BYDAY={day}"',
            f'start = "2026-01-{first:02d}T{hour:02d}:00"',
            f'timezone = "{ZONES[i % len(ZONES)]}"',
            "duration_minutes = 60",
            f'join_url = "https://example.org/wg{i:04d}"',
            'reminders = ["7d", "1d", "1h", "0m"]',
            "",
        ]
    return "\n".join(lines)


@dataclass
class Figures:
    first_start: float = 0.0
    restart: float = 0.0
    next_ms: list[float] = field(default_factory=list)
    list_ms: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    floor_start: float = 0.0
    floor_ms: list[float] = field(default_factory=list)
    floor_rss_mb: float = 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def spawn(
    args: list[str], env: dict[str, str], port: int, log: Path
) -> tuple[asyncio.subprocess.Process, float]:
    """Start a process and return it with the seconds until its /healthz answered 200."""
    began = time.monotonic()
    with log.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=sink, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", within=120.0)
    except RuntimeError:
        proc.kill()
        tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
        raise RuntimeError(f"{args[0]} failed to start: {tail}") from None
    return proc, time.monotonic() - began


async def slash(
    session: aiohttp.ClientSession,
    fake: SlackFake,
    port: int,
    command: str,
    text: str,
    **place: str,
) -> tuple[float, str]:
    """One signed slash command; `place` may name its team_id and channel_id."""
    payload = slash_command_payload(command, text, user_id="UBENCH0001", **place)
    payload["response_url"] = fake.mint_response_url()
    delivery = encode_slash_command(payload)
    headers = signed_headers(SECRET, delivery.body, delivery.content_type)
    began = time.monotonic()
    async with session.post(
        f"http://127.0.0.1:{port}/slack/events", data=delivery.body, headers=headers
    ) as resp:
        body = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"{command} {text} answered {resp.status}: {body[:200]}")
    return (time.monotonic() - began) * 1000, body


@asynccontextmanager
async def fresh_database(kind: str, work: Path, url: str | None) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{work / f'bench-{secrets.token_hex(3)}.db'}"
        return
    from tests.support.postgres import scratch_database

    base = url or os.environ.get("COMMUNITYBOT_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("--db postgres needs --database-url or COMMUNITYBOT_TEST_POSTGRES_URL")
    async with scratch_database(base, "cbbench") as scratch:
        yield scratch


async def wait_settled(database_url: str, within: float = 300.0) -> float:
    """Wait until the bot's background planning has caught up; returns the seconds waited."""
    from sqlalchemy import func, or_, select

    from bot.store.db import Database
    from bot.store.meetings import Meeting

    db = Database(database_url)
    began = time.monotonic()
    try:
        while time.monotonic() - began < within:
            now = datetime.now(UTC)
            async with db.sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(Meeting)
                    .where(
                        Meeting.state == "active",
                        or_(Meeting.next_stale_at <= now, Meeting.plan_at <= now),
                    )
                )
            if not left:
                return time.monotonic() - began
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()
    raise RuntimeError("background planning did not catch up")


async def fill_year(database_url: str) -> float:
    """A year of a big community's history, in bulk inserts; returns the seconds it took."""
    from sqlalchemy import insert, select

    from bot.store.db import Database
    from bot.store.heroes import HeroNomination
    from bot.store.models import Community, Delivery, Member, Person
    from bot.store.surveys import Survey, SurveyLink

    began = time.monotonic()
    db = Database(database_url)
    now = datetime.now(UTC)
    chunk = 2000
    try:
        async with db.session() as session:
            community_id = await session.scalar(select(Community.id))
            persons = [{"community_id": community_id, "created_at": now}] * 100_000
            for i in range(0, len(persons), chunk):
                await session.execute(insert(Person), persons[i : i + chunk])
            person_ids = list(await session.scalars(select(Person.id).order_by(Person.id)))
            members = [
                {
                    "community_id": community_id,
                    "person_id": pid,
                    "platform": "slack",
                    "platform_user_id": f"UY{n:08d}",
                    "display_name": f"member {n}",
                    "timezone": None,
                    "is_bot": False,
                    "known": True,
                    "first_seen_at": now - timedelta(days=365),
                    "last_seen_at": now,
                }
                for n, pid in enumerate(person_ids)
            ]
            for i in range(0, len(members), chunk):
                await session.execute(insert(Member), members[i : i + chunk])
            ids = list(await session.scalars(select(Member.id).order_by(Member.id)))
            nominations = [
                {
                    "community_id": community_id,
                    "cycle": f"{now - timedelta(days=30 * (n % 12)):%Y-%m}",
                    "nominee_id": ids[(n * 13 + 1) % len(ids)],
                    "nominator_id": ids[n * 7 % len(ids)],
                    "reason": f"helped with release {n}",
                    "anonymous": False,
                    "created_at": now - timedelta(hours=n),
                    "updated_at": now - timedelta(hours=n),
                }
                for n in range(10_000)
            ]
            for i in range(0, len(nominations), chunk):
                await session.execute(insert(HeroNomination), nominations[i : i + chunk])
            survey = Survey(
                community_id=community_id,
                key="year-survey",
                name="Year survey",
                url="https://example.org/survey",
                opens_at=now - timedelta(days=30),
                closes_at=now + timedelta(days=30),
                remind_every_minutes=7 * 24 * 60,
                max_nudges=2,
                channels=[],
                created_at=now,
                updated_at=now,
            )
            session.add(survey)
            await session.flush()
            links = [
                {
                    "survey_id": survey.id,
                    "member_id": ids[n],
                    "token": f"tok{n:08d}",
                    "created_at": now,
                    "handed_at": now,
                    "opened_at": now,
                }
                for n in range(50_000)
            ]
            for i in range(0, len(links), chunk):
                await session.execute(insert(SurveyLink), links[i : i + chunk])
        for start in range(0, 1_000_000, 50_000):
            async with db.session() as session:
                rows = [delivery_values(community_id, n, now) for n in range(start, start + 50_000)]
                for i in range(0, len(rows), chunk):
                    await session.execute(insert(Delivery), rows[i : i + chunk])
    finally:
        await db.dispose()
    return time.monotonic() - began


def delivery_values(community_id: int, n: int, now: datetime) -> dict[str, object]:
    at = now - timedelta(days=1, minutes=n // 2)  # a year back, two a minute
    return {
        "community_id": community_id,
        "kind": "meeting_reminder",
        "subject": f"meeting:{1 + n % 1000}",
        "occurrence": f"y{n}",
        "target": "slack:channel:C0BENCH001",
        "platform": "slack",
        "due_at": at,
        "state": "sent",
        "attempts": 1,
        "next_attempt_at": at,
        "sent_at": at,
        "message_ref": f"C0BENCH001:{n}",
        "payload": {},
        "created_at": at,
        "updated_at": at,
    }


async def one_run(args: argparse.Namespace, work: Path, fake: SlackFake) -> Figures:
    figures = Figures()
    config = work / "config.toml"
    config.write_text(config_text(args.meetings), encoding="utf-8")
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
    }
    exe = str(Path(sys.executable).with_name("communitybot"))
    async with fresh_database(args.db, work, args.database_url) as database_url:
        port = free_port()
        env = {
            **base_env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "COMMUNITYBOT_CONFIG": str(config),
            "COMMUNITYBOT_HTTP_PORT": str(port),
            "COMMUNITYBOT_DATABASE_URL": database_url,
            "COMMUNITYBOT_LOG_LEVEL": "WARNING",
        }
        log = work / "bot.log"
        proc, figures.first_start = await spawn([exe, "run"], env, port, log)
        settled = await wait_settled(database_url)
        print(
            f"  first start {figures.first_start:.2f} s, settled {settled:.1f} s later",
            file=sys.stderr,
        )
        await stop_process(proc)
        if args.year:
            took = await fill_year(database_url)
            print(f"  one-year history inserted in {took:.1f} s", file=sys.stderr)
        proc, figures.restart = await spawn([exe, "run"], env, port, log)
        try:
            async with aiohttp.ClientSession() as session:
                _, body = await slash(session, fake, port, "/meeting", "next")
                print(f"  /meeting next answers: {body[:120]!r}", file=sys.stderr)
                for _ in range(args.requests):
                    ms = (await slash(session, fake, port, "/meeting", "next"))[0]
                    figures.next_ms.append(ms)
                for _ in range(args.requests // 4):
                    ms = (await slash(session, fake, port, "/meeting", "list 10"))[0]
                    figures.list_ms.append(ms)
            figures.rss_mb = rss_mb(proc.pid)
        finally:
            await stop_process(proc)
    # The floor: a process holding only bolt and aiohttp, started and asked the same way.
    port = free_port()
    bare, figures.floor_start = await spawn(
        [
            sys.executable,
            str(ROOT / "bench" / "slack_ack.py"),
            "--serve-bare",
            str(port),
            fake.api_url,
            "1",
        ],
        base_env,
        port,
        work / "bare.log",
    )
    try:
        async with aiohttp.ClientSession() as session:
            await slash(session, fake, port, "/hero", "next")
            for _ in range(args.requests):
                figures.floor_ms.append((await slash(session, fake, port, "/hero", "next"))[0])
        figures.floor_rss_mb = rss_mb(bare.pid)
    finally:
        await stop_process(bare)
    return figures


def report(runs: list[Figures], args: argparse.Namespace) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    what = f"{args.meetings} meetings, {args.db}" + (", one-year history" if args.year else "")
    print(f"\nScale ({what}), median of {len(runs)} run(s), {os.cpu_count()} CPUs")
    rows = [
        ("first start (s)", med([r.first_start for r in runs]), "< 10", "—"),
        (
            "restart to /healthz (s)",
            med([r.restart for r in runs]),
            "< 3",
            f"{med([r.floor_start for r in runs]):.2f}",
        ),
        (
            "/meeting next p50 (ms)",
            med([pct(r.next_ms, 50) for r in runs]),
            "< 50",
            f"{med([pct(r.floor_ms, 50) for r in runs]):.1f}",
        ),
        (
            "/meeting next max (ms)",
            med([max(r.next_ms) for r in runs]),
            "< 200",
            f"{med([max(r.floor_ms) for r in runs]):.1f}",
        ),
        ("/meeting list 10 p50 (ms)", med([pct(r.list_ms, 50) for r in runs]), "—", "—"),
        ("/meeting list 10 max (ms)", med([max(r.list_ms) for r in runs]), "—", "—"),
        (
            "RSS (MB)",
            med([r.rss_mb for r in runs]),
            "< 150",
            f"{med([r.floor_rss_mb for r in runs]):.0f}",
        ),
    ]
    print(f"{'figure':28} {'measured':>10} {'target':>8} {'floor':>8}")
    for name, value, target, floor in rows:
        print(f"{name:28} {value:10.2f} {target:>8} {floor:>8}")


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    runs = []
    async with SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake:
        for n in range(args.runs):
            print(f"run {n + 1}/{args.runs}", file=sys.stderr)
            runs.append(await one_run(args, work, fake))
    report(runs, args)
    print(f"\nlogs in {work}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--year", action="store_true", help="add a year of history first")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
