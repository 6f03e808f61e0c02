"""Many communities in one deployment: start, restart, commands, reminders, two replicas.

    .venv/bin/python bench/communities.py [--communities 1000] [--meetings 5] [--runs 3]
        [--db postgres|sqlite] [--requests 100] [--reminders 1000] [--window 60]
        [--burst 1000] [--database-url URL]

Each run, on a fresh database, with a config file of --communities `[[communities]]` tables
(each with its own Slack team id, Discord guild id and announce channel, and --meetings
weekly meetings with reminders 7d, 1d, 1h and 0m before):

1. `communitybot run` (HTTP mode, against the in-process Slack fake) is started (first
   start: spawn to /healthz answering 200), left to plan every meeting, and stopped.
2. Restart with nothing changed: spawn to /healthz 200 (and to /readyz 200).
3. `/meeting next` as signed slash commands, one at a time, each from the workspace and
   channel of one of 10 communities in turn (p50 and max); the resident memory.
4. Reminders due: --reminders of the meeting reminders the bot planned (one per meeting,
   spread across communities) are made due evenly over --window seconds, and --burst more
   all in one second after that (every community's meeting at the same hour), each with its
   meeting's `plan_at`, as when a reminder's time comes; the bot sends them through its real
   render, which re-plans the meeting. Lateness is arrival at the fake minus the due time
   (p50, p99, max of those spread over the window); the burst is done when its last post
   arrives.
5. PostgreSQL only: two replicas on the same database, started together, with the same
   reminders due again; every post the fake receives is counted per delivery (a double
   send is a delivery posted twice), and each replica's share is read from the claims.

The floor, in the same run: a process holding only slack_bolt and aiohttp (bench/slack_ack.py's
bare app), started and asked the same way. The machine may be shared: compare each figure
with the floor from the same run. Figures printed are the median of --runs runs.

Targets (issue 19): restart < 5 s, /meeting next p50 < 50 ms and max < 200 ms, lateness
p99 < 0.5 s, no double sends with two replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processes import stop_process  # noqa: E402
from scale import fresh_database, pct, rss_mb, slash, spawn, wait_settled  # noqa: E402
from slack_ack import BOT_TOKEN, SECRET, free_port, wait_http  # noqa: E402

from tests.fakes.slack_api import SlackFake  # noqa: E402

ZONES = ("America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "UTC", "America/New_York")
DAYS = ("MO", "TU", "WE", "TH", "FR")
# Commands come from this many communities' workspaces in turn.
ASKING = 10
REMINDER_KIND = "meeting_reminder"


def team_id(c: int) -> str:
    return f"TB{c:06d}"


def channel_id(c: int) -> str:
    return f"CB{c:06d}"


def config_text(communities: int, meetings: int) -> str:
    lines: list[str] = []
    for c in range(communities):
        lines += [
            "[[communities]]",
            f'key = "c{c:04d}"',
            f'name = "Community {c:04d}"',
            f'timezone = "{ZONES[c % len(ZONES)]}"',
            "[communities.slack]",
            f'team_ids = ["{team_id(c)}"]',
            f'announce_channels = ["{channel_id(c)}"]',
            "[communities.discord]",
            f"guild_ids = [{900_000_000_000_000_000 + c}]",
        ]
        for m in range(meetings):
            n = c * meetings + m
            day = DAYS[n % len(DAYS)]
            first = 5 + DAYS.index(day)  # 2026-01-05 is a Monday
            lines += [
                "[[communities.meetings]]",
                f'id = "wg{m + 1}"',
                f'name = "Community {c:04d} Working Group {m + 1}"',
                f'rrule = "FREQ=WEEKLY;BYDAY={day}"',
                f'start = "2026-01-{first:02d}T{6 + n % 12:02d}:00"',
                f'timezone = "{ZONES[n % len(ZONES)]}"',
                "duration_minutes = 60",
                f'join_url = "https://example.org/c{c:04d}/wg{m + 1}"',
                'reminders = ["7d", "1d", "1h", "0m"]',
            ]
        lines.append("")
    return "\n".join(lines)


@dataclass
class Sends:
    """How one batch of due reminders went out."""

    # Of the reminders spread over the window; the burst has its own figure.
    lateness: list[float] = field(default_factory=list)
    burst_last: float = float("nan")
    missing: int = 0
    doubles: int = 0
    shares: dict[str, int] = field(default_factory=dict)


@dataclass
class Figures:
    first_start: float = 0.0
    settled: float = 0.0
    restart: float = 0.0
    restart_ready: float = 0.0
    next_ms: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    one: Sends = field(default_factory=Sends)
    two_start: float = float("nan")
    two: Sends | None = None
    floor_start: float = 0.0
    floor_ms: list[float] = field(default_factory=list)
    floor_rss_mb: float = 0.0


async def seconds_to(url: str, within: float = 120.0) -> float:
    began = time.monotonic()
    await wait_http(url, within)
    return time.monotonic() - began


async def pick_reminders(database_url: str, count: int) -> list[int]:
    """Pending reminders the bot planned, one per meeting, spread across communities
    (round-robin)."""
    from sqlalchemy import select

    from bot.store.db import Database
    from bot.store.models import Delivery, DeliveryState

    db = Database(database_url)
    try:
        async with db.sessions() as session:
            rows = (
                await session.execute(
                    select(Delivery.id, Delivery.community_id, Delivery.subject)
                    .where(
                        Delivery.kind == REMINDER_KIND,
                        Delivery.state == DeliveryState.PENDING,
                        Delivery.target.like("slack:channel:%"),
                    )
                    .order_by(Delivery.id)
                )
            ).all()
    finally:
        await db.dispose()
    by_community: dict[int, list[int]] = {}
    meetings: set[str] = set()
    for row_id, community_id, subject in rows:
        if subject not in meetings:
            meetings.add(subject)
            by_community.setdefault(community_id, []).append(row_id)
    picked: list[int] = []
    queues = list(by_community.values())
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} pending reminders to move; {count} asked")
    return picked


async def make_due(database_url: str, dues: dict[int, datetime]) -> None:
    """Set each row pending and due at its time, as if its reminder time had come: its
    meeting's next planning (`plan_at`) is then too, so sending it re-plans the meeting as a
    reminder sent on time does."""
    from sqlalchemy import bindparam, select, update

    from bot.store.db import Database
    from bot.store.meetings import Meeting
    from bot.store.models import Delivery, DeliveryState

    table = Delivery.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            state=DeliveryState.PENDING,
            due_at=bindparam("due"),
            next_attempt_at=bindparam("due"),
            attempts=0,
            claimed_by=None,
            lease_until=None,
            sent_at=None,
            message_ref=None,
        )
    )
    db = Database(database_url)
    try:
        async with db.session() as session:
            conn = await session.connection()
            await conn.execute(stmt, [{"row_id": i, "due": d} for i, d in dues.items()])
            subjects = dict(
                (
                    await conn.execute(
                        select(Delivery.id, Delivery.subject).where(Delivery.id.in_(list(dues)))
                    )
                ).all()
            )
            meetings = Meeting.__table__
            await conn.execute(
                update(meetings)
                .where(meetings.c.id == bindparam("meeting_id"))
                .values(plan_at=bindparam("due")),
                [
                    {"meeting_id": int(subjects[i].removeprefix("meeting:")), "due": d}
                    for i, d in dues.items()
                ],
            )
    finally:
        await db.dispose()


async def sent_rows(database_url: str, ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """Row id → (message ref, the replica that claimed it) for the rows sent."""
    from sqlalchemy import select

    from bot.store.db import Database
    from bot.store.models import Delivery, DeliveryState

    db = Database(database_url)
    try:
        async with db.sessions() as session:
            rows = (
                await session.execute(
                    select(Delivery.id, Delivery.message_ref, Delivery.claimed_by).where(
                        Delivery.id.in_(ids), Delivery.state == DeliveryState.SENT
                    )
                )
            ).all()
    finally:
        await db.dispose()
    return {row_id: (ref, worker) for row_id, ref, worker in rows}


async def reminders_due(
    args: argparse.Namespace, database_url: str, fake: SlackFake, ids: list[int]
) -> Sends:
    """Make `ids` due (spread over the window, then a burst) and see how they go out."""
    spread, burst = ids[: args.reminders], ids[args.reminders :]
    start = datetime.now(UTC) + timedelta(seconds=10)  # the timer looks at least every 5 s
    step = args.window / max(len(spread), 1)
    dues = {row_id: start + timedelta(seconds=i * step) for i, row_id in enumerate(spread)}
    burst_at = (start + timedelta(seconds=args.window + 5)).replace(microsecond=0)
    dues.update({row_id: burst_at for row_id in burst})
    since = time.monotonic()
    await make_due(database_url, dues)
    deadline = time.monotonic() + (burst_at - datetime.now(UTC)).total_seconds() + 60
    sent: dict[int, tuple[str | None, str | None]] = {}
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        sent = await sent_rows(database_url, ids)
        if len(sent) == len(ids):
            break
    # The fake's posts in this phase: (channel, ts) → arrival, and how often each text came.
    offset = time.time() - time.monotonic()
    arrived: dict[tuple[str, str], float] = {}
    texts: Counter[tuple[str, str]] = Counter()
    for call in fake.calls("chat.postMessage"):
        if call.at >= since and call.ok:
            arrived[(str(call.response["channel"]), str(call.response["ts"]))] = call.at + offset
            texts[(str(call.args.get("channel")), str(call.args.get("text")))] += 1
    result = Sends(missing=len(ids) - len(sent))
    result.doubles = sum(n - 1 for n in texts.values() if n > 1)
    burst_arrivals = []
    in_burst = set(burst)
    for row_id, (ref, worker) in sent.items():
        channel, _, stamps = (ref or "").partition("/")
        at = arrived.get((channel, stamps.split(",")[0]))
        if at is None:
            continue
        late = at - dues[row_id].timestamp()
        (burst_arrivals if row_id in in_burst else result.lateness).append(late)
        if worker:
            result.shares[worker] = result.shares.get(worker, 0) + 1
    if burst_arrivals:
        result.burst_last = max(burst_arrivals)
    return result


def bot_env(base: dict[str, str], fake: SlackFake, config: Path, url: str, port: int) -> dict:
    return {
        **base,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "COMMUNITYBOT_CONFIG": str(config),
        "COMMUNITYBOT_HTTP_PORT": str(port),
        "COMMUNITYBOT_DATABASE_URL": url,
        "COMMUNITYBOT_LOG_LEVEL": "WARNING",
    }


async def ask_next(fake: SlackFake, port: int, requests: int, communities: int) -> list[float]:
    asking = [c * max(communities // ASKING, 1) for c in range(min(ASKING, communities))]
    took = []
    async with aiohttp.ClientSession() as session:
        for i in range(requests + 1):
            c = asking[i % len(asking)]
            ms, body = await slash(
                session,
                fake,
                port,
                "/meeting",
                "next",
                team_id=team_id(c),
                channel_id=channel_id(c),
            )
            if f"Community {c:04d}" not in body:
                raise RuntimeError(f"/meeting next in community {c} answered {body[:200]!r}")
            if i:  # the first warms up
                took.append(ms)
    return took


async def one_run(args: argparse.Namespace, work: Path, fake: SlackFake) -> Figures:
    figures = Figures()
    config = work / "config.toml"
    config.write_text(config_text(args.communities, args.meetings), encoding="utf-8")
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
    }
    exe = str(Path(sys.executable).with_name("communitybot"))
    log = work / "bot.log"
    async with fresh_database(args.db, work, args.database_url) as url:
        port = free_port()
        env = bot_env(base_env, fake, config, url, port)
        proc, figures.first_start = await spawn([exe, "run"], env, port, log)
        figures.settled = await wait_settled(url, within=900.0)
        print(
            f"  first start {figures.first_start:.2f} s, all planned {figures.settled:.1f} s later",
            file=sys.stderr,
        )
        await stop_process(proc)
        proc, figures.restart = await spawn([exe, "run"], env, port, log)
        try:
            ready = await seconds_to(f"http://127.0.0.1:{port}/readyz")
            figures.restart_ready = figures.restart + ready
            print(
                f"  restart {figures.restart:.2f} s (/readyz {ready:.2f} s later)", file=sys.stderr
            )
            figures.next_ms = await ask_next(fake, port, args.requests, args.communities)
            figures.rss_mb = rss_mb(proc.pid)
            ids = await pick_reminders(url, args.reminders + args.burst)
            figures.one = await reminders_due(args, url, fake, ids)
            print(f"  one replica: {summary(figures.one)}", file=sys.stderr)
        finally:
            await stop_process(proc)
        if args.db == "postgres":
            figures.two_start, figures.two = await two_replicas(
                args, work, fake, base_env, config, url, ids
            )
    figures.floor_start, figures.floor_ms, figures.floor_rss_mb = await floor(
        fake, base_env, work, args.requests
    )
    return figures


async def two_replicas(
    args: argparse.Namespace,
    work: Path,
    fake: SlackFake,
    base_env: dict[str, str],
    config: Path,
    url: str,
    ids: list[int],
) -> tuple[float, Sends]:
    """Two processes on one database, started together, with the same reminders due again."""
    exe = str(Path(sys.executable).with_name("communitybot"))
    ports = [free_port(), free_port()]
    began = time.monotonic()
    starting = await asyncio.gather(
        *(
            spawn([exe, "run"], bot_env(base_env, fake, config, url, p), p, work / f"r{i}.log")
            for i, p in enumerate(ports)
        ),
        return_exceptions=True,
    )
    both = time.monotonic() - began
    started = [s for s in starting if not isinstance(s, BaseException)]
    try:
        for failed in starting:
            if isinstance(failed, BaseException):
                raise failed
        sends = await reminders_due(args, url, fake, ids)
        print(f"  two replicas (both up in {both:.2f} s): {summary(sends)}", file=sys.stderr)
    finally:
        await asyncio.gather(*(stop_process(proc) for proc, _ in started))
    return both, sends


async def floor(
    fake: SlackFake, base_env: dict[str, str], work: Path, requests: int
) -> tuple[float, list[float], float]:
    """A process holding only bolt and aiohttp, started and asked the same way."""
    port = free_port()
    bare_args = (fake.api_url, "1")  # the Slack API to use; acknowledge before responding
    bare, started = await spawn(
        [
            sys.executable,
            str(ROOT / "bench" / "slack_ack.py"),
            "--serve-bare",
            str(port),
            *bare_args,
        ],
        base_env,
        port,
        work / "bare.log",
    )
    took = []
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(requests + 1):
                ms = (await slash(session, fake, port, "/hero", "next"))[0]
                if i:
                    took.append(ms)
        return started, took, rss_mb(bare.pid)
    finally:
        await stop_process(bare)


def summary(sends: Sends) -> str:
    late = sends.lateness
    text = (
        f"{sends.missing} missing, {sends.doubles} double; lateness p50 "
        f"{pct(late, 50):.3f} s, p99 {pct(late, 99):.3f} s, max {max(late, default=0):.3f} s "
        "(those spread over the window); "
        f"burst's last after {sends.burst_last:.2f} s"
    )
    if len(sends.shares) > 1:
        text += f"; claims per replica {sorted(sends.shares.values())}"
    return text


def report(runs: list[Figures], args: argparse.Namespace) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    what = f"{args.communities} communities x {args.meetings} meetings, {args.db}"
    print(f"\nCommunities ({what}), median of {len(runs)} run(s), {os.cpu_count()} CPUs")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine may be shared)")
    floor_start = f"{med([r.floor_start for r in runs]):.2f}"
    rows: list[tuple[str, float, str, str]] = [
        ("first start (s)", med([r.first_start for r in runs]), "—", floor_start),
        ("all meetings planned (s)", med([r.settled for r in runs]), "—", "—"),
        ("restart to /healthz (s)", med([r.restart for r in runs]), "< 5", floor_start),
        ("restart to /readyz (s)", med([r.restart_ready for r in runs]), "—", "—"),
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
        (
            "RSS (MB)",
            med([r.rss_mb for r in runs]),
            "—",
            f"{med([r.floor_rss_mb for r in runs]):.0f}",
        ),
    ]
    for label, pick in (("1 replica", lambda r: r.one), ("2 replicas", lambda r: r.two)):
        batches = [pick(r) for r in runs if pick(r) is not None]
        if not batches:
            continue
        rows += [
            (f"{label}: lateness p50 (s)", med([pct(b.lateness, 50) for b in batches]), "—", "—"),
            (
                f"{label}: lateness p99 (s)",
                med([pct(b.lateness, 99) for b in batches]),
                "< 0.5",
                "—",
            ),
            (f"{label}: burst's last (s)", med([b.burst_last for b in batches]), "—", "—"),
            (f"{label}: missing", float(max(b.missing for b in batches)), "0", "—"),
            (f"{label}: double sends", float(max(b.doubles for b in batches)), "0", "—"),
        ]
    if any(r.two is not None for r in runs):
        rows.append(
            ("2 replicas: both up (s)", med([r.two_start for r in runs if r.two]), "—", floor_start)
        )
    print(
        f"reminders due: {args.reminders} over {args.window:.0f} s, then {args.burst} in one second"
    )
    print(f"{'figure':32} {'measured':>10} {'target':>8} {'floor':>8}")
    for name, value, target, floor_value in rows:
        print(f"{name:32} {value:10.2f} {target:>8} {floor_value:>8}")


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="communities-bench-"))
    runs = []
    async with SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake:
        for c in range(args.communities):
            fake.add_channel(channel_id(c), f"community-{c:04d}")
        for n in range(args.runs):
            print(f"run {n + 1}/{args.runs}", file=sys.stderr)
            runs.append(await one_run(args, work, fake))
    report(runs, args)
    print(f"\nlogs in {work}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--meetings", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--database-url", default=None)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
