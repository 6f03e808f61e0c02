"""Scheduled deliveries at scale: a real `communitybot run` against the Slack fake.

    .venv/bin/python bench/scheduler.py [--minutes 3] [--pending 100000] [--burst 1000]
                                            [--only a|b] [--database-url URL]

(a) --pending deliveries across 1,000 subjects, due times spread evenly over 24 hours, all
    in the database before the process starts. Measures cold start (exec to /readyz 200
    with them all pending), the lateness of every delivery due in the first --minutes
    (arrival at the fake minus due time), and the process's resident memory (peak VmHWM
    and VmRSS at the end, from /proc).
(b) --burst deliveries due in the same second: the time from that second until the last
    one arrives at the fake.

The fake runs in this process (aiohttp on 127.0.0.1, no rate limit); the bot is a separate
process, SQLite by default (a fresh file per scenario) or --database-url (PostgreSQL: a
fresh database is created next to the one named, and dropped after). Targets (issue 5):
p99 lateness < 0.5 s, RSS < 150 MB, cold start < 3 s; the burst sent within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.config import database_url_from  # noqa: E402
from bot.core.invocation import Platform  # noqa: E402
from bot.core.targets import Target  # noqa: E402
from bot.scheduling.notices import NOTICE_KIND  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.members import ensure_community  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Delivery, DeliveryState  # noqa: E402
from tests.fakes.slack_api import SlackFake  # noqa: E402

BOT_TOKEN = "xoxb-bench-scheduler"
SECRET = "bench-scheduler-signing-secret"
CHANNELS = ["C0BENCH1", "C0BENCH2", "C0BENCH3", "C0BENCH4"]
SUBJECTS = 1000
COMMUNITY = "Bench Community"
CONFIG = f'[community]\nname = "{COMMUNITY}"\ntimezone = "UTC"\n'
TAG = re.compile(r"bench-(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def database(url: str | None, workdir: Path, name: str) -> AsyncIterator[str]:
    """A fresh database for one scenario."""
    if url is None:
        yield f"sqlite+aiosqlite:///{workdir / f'{name}.db'}"
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(database_url_from(url))
    fresh = f"cbbench_{secrets.token_hex(4)}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{fresh}"')
    await conn.close()
    try:
        yield base.set(database=fresh).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        await conn.close()


async def fill(db_url: str, dues: list[datetime]) -> None:
    """Rows as features make them (maintainer_notice: a plain post), inserted in bulk."""
    db = Database(db_url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        async with db.session() as session:
            community = await ensure_community(session, COMMUNITY, "UTC", now)
        rows = [
            {
                "community_id": community.id,
                "kind": NOTICE_KIND,
                "subject": f"subject-{i % SUBJECTS:04d}",
                "occurrence": f"{i // SUBJECTS:05d}",
                "target": str(Target.channel(Platform.SLACK, CHANNELS[i % len(CHANNELS)])),
                "platform": "slack",
                "due_at": due,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": due,
                "payload": {"text": f"bench-{i}"},
                "created_at": now,
                "updated_at": now,
            }
            for i, due in enumerate(dues)
        ]
        for start in range(0, len(rows), 5000):
            async with db.session() as session:
                await session.execute(insert(Delivery), rows[start : start + 5000])
    finally:
        await db.dispose()


class Bot:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.peak_rss = 0

    @classmethod
    async def start(cls, workdir: Path, db_url: str, fake: SlackFake) -> Bot:
        (workdir / "bench.toml").write_text(CONFIG, encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
        }
        port = free_port()
        env.update(
            COMMUNITYBOT_CONFIG=str(workdir / "bench.toml"),
            COMMUNITYBOT_DATABASE_URL=db_url,
            COMMUNITYBOT_HTTP_PORT=str(port),
            COMMUNITYBOT_LOG_LEVEL="WARNING",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url,
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
        )
        return cls(proc, port)

    async def ready_within(self, within: float) -> float:
        """Seconds from now until /readyz answers 200."""
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < within:
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as r:
                        if r.status == 200:
                            return time.monotonic() - started
                except aiohttp.ClientError:
                    pass
                if self.proc.returncode is not None:
                    raise SystemExit("the bot exited during start-up")
                await asyncio.sleep(0.01)
        raise SystemExit(f"the bot was not ready within {within} s")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (load-independent, unlike wall time)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return fields["VmRSS"], fields["VmHWM"]

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as r:
            return await r.text()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def arrivals(fake: SlackFake) -> dict[int, float]:
    """Delivery number → wall-clock time its chat.postMessage reached the fake."""
    offset = time.time() - time.monotonic()
    out: dict[int, float] = {}
    for call in fake.calls("chat.postMessage"):
        found = TAG.search(str(call.args.get("text", "")))
        if found and call.ok:
            out.setdefault(int(found.group(1)), call.at + offset)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def posts_per_number(fake: SlackFake) -> dict[int, int]:
    counts: dict[int, int] = {}
    for message in fake.posted():
        found = TAG.search(message.text)
        if found:
            counts[int(found.group(1))] = counts.get(int(found.group(1)), 0) + 1
    return counts


async def scenario_a(args: argparse.Namespace, workdir: Path) -> None:
    n = args.pending
    spacing = 86_400 / n
    # The rows go in first (in bulk; not measured), then the bot starts STARTUP s before
    # the first is due: cold start is measured with every row pending.
    fill_margin, startup = 45.0, 8.0
    async with database(args.database_url, workdir, "a") as db_url:
        empty = await cold_start(workdir, db_url)
        base = datetime.now(UTC) + timedelta(seconds=fill_margin)
        dues = [base + timedelta(seconds=i * spacing) for i in range(n)]
        t0 = time.monotonic()
        await fill(db_url, dues)
        filled = time.monotonic() - t0
        wait = (base - datetime.now(UTC)).total_seconds() - startup
        if wait < 0:
            raise SystemExit(f"inserting took {filled:.0f} s, longer than the margin allowed")
        await asyncio.sleep(wait)
        async with SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake:
            for channel in CHANNELS:
                fake.add_channel(channel, channel.lower())
            bot = await Bot.start(workdir, db_url, fake)
            try:
                cold = await bot.ready_within(30), bot.cpu_seconds()
                window_end = base + timedelta(minutes=args.minutes)
                in_window = [i for i, due in enumerate(dues) if due <= window_end]
                peak = 0.0
                while datetime.now(UTC) < window_end + timedelta(seconds=2):
                    peak = max(peak, bot.rss_mb()[0])
                    await asyncio.sleep(0.5)
                rss, hwm = bot.rss_mb()
                got = arrivals(fake)
                lateness = [got[i] - dues[i].timestamp() for i in in_window if i in got]
                missing = [i for i in in_window if i not in got]
                early = [x for x in lateness if x < 0]
                counts = posts_per_number(fake)
                twice = sum(1 for c in counts.values() if c > 1)
                metrics = await bot.metrics()
            finally:
                await bot.stop()
    print(f"(a) {n:,} pending across {SUBJECTS:,} subjects over 24 h ({filled:.1f} s to insert)")
    print(
        f"    cold start (exec to /readyz 200): {cold[0]:.2f} s wall, {cold[1]:.2f} s CPU with "
        f"all pending; empty database: {empty[0]:.2f} s wall, {empty[1]:.2f} s CPU"
    )
    print(f"    load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"    {len(in_window)} due in the first {args.minutes} min: {len(lateness)} sent, "
        f"{len(missing)} missing, {len(early)} early, {twice} twice"
    )
    if lateness:
        print(
            f"    lateness at the fake: p50 {statistics.median(lateness) * 1000:.0f} ms, "
            f"p99 {percentile(lateness, 99) * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms"
        )
    print(f"    RSS: {rss:.0f} MB at the end, peak sampled {peak:.0f} MB, VmHWM {hwm:.0f} MB")
    for line in metrics.splitlines():
        if line.startswith("communitybot_delivery_lateness_seconds_") and "bucket" not in line:
            print(f"    bot's own histogram: {line}")


async def cold_start(workdir: Path, db_url: str) -> tuple[float, float]:
    """Start-up on an empty (migrated) database, for comparison."""
    db = Database(db_url)
    await upgrade(db)
    await db.dispose()
    async with SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake:
        bot = await Bot.start(workdir, db_url, fake)
        try:
            return await bot.ready_within(30), bot.cpu_seconds()
        finally:
            await bot.stop()


async def scenario_b(args: argparse.Namespace, workdir: Path) -> None:
    n = args.burst
    async with (
        database(args.database_url, workdir, "b") as db_url,
        SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake,
    ):
        for channel in CHANNELS:
            fake.add_channel(channel, channel.lower())
        # All due in one whole second, far enough ahead that the bot is up by then.
        due = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
        await fill(db_url, [due] * n)
        bot = await Bot.start(workdir, db_url, fake)
        try:
            await bot.ready_within(30)
            if datetime.now(UTC) >= due:
                raise SystemExit("the bot was not up before the burst was due; try again")
            cpu_before = bot.cpu_seconds()
            with contextlib.suppress(TimeoutError):
                await fake.wait_for(
                    lambda: len(fake.calls("chat.postMessage")) >= n,
                    within=due.timestamp() + 60 - time.time(),
                )
            got = arrivals(fake)
            counts = posts_per_number(fake)
            cpu = bot.cpu_seconds() - cpu_before
        finally:
            await bot.stop()
    last = max(got.values()) - due.timestamp() if got else float("nan")
    first = min(got.values()) - due.timestamp() if got else float("nan")
    twice = sum(1 for c in counts.values() if c > 1)
    print(f"(b) {n:,} due in the same second: {len(got)} sent, {twice} twice")
    print(f"    first arrived {first:.2f} s after the due second, last {last:.2f} s after")
    print(
        f"    the bot used {cpu:.2f} s of CPU for them ({cpu / max(len(got), 1) * 1000:.1f} ms "
        f"each); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--only", choices=("a", "b"))
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cb-bench-") as tmp:
        workdir = Path(tmp)
        if args.only in (None, "b"):
            (workdir / "b").mkdir()
            await scenario_b(args, workdir / "b")
        if args.only in (None, "a"):
            (workdir / "a").mkdir()
            await scenario_a(args, workdir / "a")


if __name__ == "__main__":
    asyncio.run(main())
