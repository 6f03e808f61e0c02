"""How fast the bot acknowledges Slack slash commands, next to a bare bolt app.

    .venv/bin/python bench/slack_ack.py [--seconds 10] [--rate 200] [--clients 20]
                                        [--db sqlite|postgres] [--commands help,nominate]
                                        [--modes open,closed]

Starts, as separate processes: `communitybot run` (HTTP mode, on a fresh database: a SQLite
file, or with --db postgres a scratch database on the server named by
COMMUNITYBOT_TEST_POSTGRES_URL or --database-url, dropped afterwards) and a bare slack_bolt
AsyncApp that acks "hello", both served by aiohttp and pointed at the in-process Slack fake.
Signed slash commands then go to each, in the same run: an open loop at a steady --rate
requests/s (latency measured from each request's scheduled time, so a stall is not hidden by
the sender waiting) and a closed loop of --clients concurrent clients. `/communitybot help` (a
read) and `/hero nominate` (a database write; a different nominator each time) are measured
separately; --commands and --modes pick some of them.

Targets (issue 16): p99 < 100 ms in a closed loop of 20 clients on 2 cores; p50 within 2x of
the bare app (bolt's defaults). The bare app is also shown with process_before_response=True,
the mode the bot uses (persist, then ack). PostgreSQL nominate at 200/s: p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processes import stop_process  # noqa: E402

from tests.fakes.slack_api import SlackFake  # noqa: E402
from tests.fakes.slack_signing import (  # noqa: E402
    encode_slash_command,
    signed_headers,
    slash_command_payload,
)

BOT_TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
CONFIG = """
[community]
name = "Bench Community"
timezone = "UTC"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- bare bolt app


def serve_bare(port: int, api_url: str, before_response: bool) -> None:
    """A bare bolt AsyncApp that acks every command with "hello" (the baseline)."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    async def main() -> None:
        app = AsyncApp(
            client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
            signing_secret=SECRET,
            process_before_response=before_response,
        )

        async def hello(ack: Any) -> None:
            await ack("hello")

        for command in ("/communitybot", "/hero"):
            app.command(command)(hello)

        async def endpoint(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await app.async_dispatch(await to_bolt_request(request))
            )

        async def healthz(_request: web.Request) -> web.Response:
            return web.Response(text="ok")

        web_app = web.Application()
        web_app.router.add_post("/slack/events", endpoint)
        web_app.router.add_get("/healthz", healthz)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


# ----------------------------------------------------------------------------- load


@dataclass
class Result:
    target: str
    command: str
    mode: str
    latencies: list[float]
    errors: int
    seconds: float
    # CPU seconds the target process used while measured (its work per request, whatever
    # else the machine is doing), and the database server's for it (PostgreSQL only).
    cpu: float = float("nan")
    db_cpu: float = float("nan")

    def per_request(self, seconds: float) -> float:
        return seconds / len(self.latencies) * 1000 if self.latencies else float("nan")

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class Load:
    def __init__(self, fake: SlackFake, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session
        self.counter = 0

    def request(self, command: str) -> tuple[bytes, dict[str, str]]:
        self.counter += 1
        n = self.counter
        if command == "help":
            payload = slash_command_payload("/communitybot", "help", user_id="UBENCH0001")
        else:
            # A new nominator each time: every request writes a nomination.
            payload = slash_command_payload(
                "/hero",
                f"nominate <@UHERO0001> kept the build green, round {n}",
                user_id=f"U{n:09d}",
                user_name=f"member{n}",
            )
        # A real response_url each time: help is two messages, the second follows through it.
        payload["response_url"] = self.fake.mint_response_url()
        delivery = encode_slash_command(payload)
        return delivery.body, signed_headers(SECRET, delivery.body, delivery.content_type)

    async def one(self, url: str, command: str) -> bool:
        body, headers = self.request(command)
        try:
            async with self.session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def open_loop(self, url: str, command: str, rate: float, seconds: float) -> Result:
        latencies: list[float] = []
        errors = 0
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        total = int(rate * seconds)

        async def fire(scheduled: float) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            ok = await self.one(url, command)
            if ok:
                latencies.append(loop.time() - scheduled)
            else:
                errors += 1

        await asyncio.gather(*(fire(start + i / rate) for i in range(total)))
        return Result("", command, f"open {rate:.0f}/s", latencies, errors, seconds)

    async def closed_loop(self, url: str, command: str, clients: int, seconds: float) -> Result:
        latencies: list[float] = []
        errors = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def client() -> None:
            nonlocal errors
            while loop.time() < end:
                sent = loop.time()
                if await self.one(url, command):
                    latencies.append(loop.time() - sent)
                else:
                    errors += 1

        began = loop.time()
        await asyncio.gather(*(client() for _ in range(clients)))
        return Result("", command, f"closed {clients}", latencies, errors, loop.time() - began)


async def wait_http(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {within}s")


async def start_process(
    args: list[str], env: dict[str, str], health: str, log: Path
) -> asyncio.subprocess.Process:
    # Logs go to a file: an unread pipe fills up and blocks the process mid-run.
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=sink, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await wait_http(health)
    except RuntimeError:
        proc.kill()
        tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
        raise RuntimeError(f"{args[0]} failed to start: {tail}") from None
    return proc


@asynccontextmanager
async def fresh_database(args: argparse.Namespace, work: Path) -> AsyncIterator[str]:
    if args.db == "sqlite":
        yield f"sqlite+aiosqlite:///{work / 'bench.db'}"
        return
    from tests.support.postgres import scratch_database

    base = args.database_url or os.environ.get("COMMUNITYBOT_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("--db postgres needs --database-url or COMMUNITYBOT_TEST_POSTGRES_URL")
    async with scratch_database(base, "cbslack") as url:
        yield url


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="slack-ack-bench-"))
    config = work / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    async with (
        SlackFake(signing_secret=SECRET, bot_token=BOT_TOKEN) as fake,
        fresh_database(args, work) as database_url,
    ):
        base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
        }
        bot_port = free_port()
        bot_env = {
            **base_env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "COMMUNITYBOT_CONFIG": str(config),
            "COMMUNITYBOT_HTTP_PORT": str(bot_port),
            "COMMUNITYBOT_DATABASE_URL": database_url,
            "COMMUNITYBOT_LOG_LEVEL": "WARNING",
        }
        exe = str(Path(sys.executable).with_name("communitybot"))
        targets: dict[str, tuple[asyncio.subprocess.Process, str]] = {}
        try:
            proc = await start_process(
                [exe, "run"], bot_env, f"http://127.0.0.1:{bot_port}/healthz", work / "bot.log"
            )
            targets["bot"] = (proc, f"http://127.0.0.1:{bot_port}/slack/events")
            for name, flag in (("bare", "0"), ("bare pbr", "1")):
                port = free_port()
                proc = await start_process(
                    [sys.executable, __file__, "--serve-bare", str(port), fake.api_url, flag],
                    base_env,
                    f"http://127.0.0.1:{port}/healthz",
                    work / f"{name.replace(' ', '-')}.log",
                )
                targets[name] = (proc, f"http://127.0.0.1:{port}/slack/events")
            results = await measure(fake, targets, args, await server_cpu_of(database_url))
        finally:
            for proc, _ in targets.values():
                await stop_process(proc)
    report(results, args)
    print(f"\nlogs in {work}")
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_cpu_of(database_url: str) -> Callable[[str], Awaitable[float]]:
    """For PostgreSQL on this machine: the CPU time of the server processes serving the bot's
    database so far (the bare apps use none). Connections closed meanwhile are missed."""
    from sqlalchemy.engine import make_url

    if not database_url.startswith("postgresql"):
        return _no_server

    import asyncpg

    url = make_url(database_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    seen: dict[int, float] = {}

    async def server(target: str) -> float:
        if target != "bot":
            return 0.0
        conn = await asyncpg.connect(admin)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                url.database,
            )
        finally:
            await conn.close()
        for row in rows:
            seen[row["pid"]] = cpu_seconds(row["pid"])
        return sum(seen.values())

    return server


async def _no_server(_target: str) -> float:
    return float("nan")


async def measure(
    fake: SlackFake,
    targets: dict[str, tuple[Any, str]],
    args: argparse.Namespace,
    server_cpu: Callable[[str], Awaitable[float]],
) -> list[Result]:
    results: list[Result] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        load = Load(fake, session)
        # Is /hero nominate there yet, and does it write? (Heroes may not have landed.)
        probe = await load_text(session, load, targets["bot"][1], "nominate")
        print(f"bot answers /hero nominate with: {probe[:160]!r}", file=sys.stderr)
        for command in args.commands.split(","):
            for mode in args.modes.split(","):
                for name, (_, url) in targets.items():
                    runner: Callable[..., Awaitable[Result]]
                    if mode == "open":
                        runner, knob = load.open_loop, args.rate
                    else:
                        runner, knob = load.closed_loop, args.clients
                    await runner(url, command, knob, args.warmup)  # warm up, not counted
                    pid = targets[name][0].pid
                    cpu, db_cpu = cpu_seconds(pid), await server_cpu(name)
                    result = await runner(url, command, knob, args.seconds)
                    result.cpu = cpu_seconds(pid) - cpu
                    result.db_cpu = await server_cpu(name) - db_cpu
                    result.target = name
                    results.append(result)
                    print(f"  measured {name:9} {command:9} {result.mode}", file=sys.stderr)
    return results


async def load_text(session: aiohttp.ClientSession, load: Load, url: str, command: str) -> str:
    body, headers = load.request(command)
    async with session.post(url, data=body, headers=headers) as resp:
        return await resp.text()


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\nSlack ack latency, {args.seconds:.0f} s per cell, {os.cpu_count()} CPUs, "
        f"the bot on {args.db}"
    )
    head = f"{'command':10} {'mode':11} {'target':9} {'n':>6} {'err':>4} {'req/s':>7}"
    print(f"{head} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'cpu ms/req':>10} {'db ms/req':>9}")
    for r in results:
        print(
            f"{r.command:10} {r.mode:11} {r.target:9} {len(r.latencies):6d} {r.errors:4d} "
            f"{r.rate:7.1f} {r.pct(50):8.2f} {r.pct(99):8.2f} {r.pct(100):8.2f} "
            f"{r.per_request(r.cpu):10.2f} {r.per_request(r.db_cpu):9.2f}"
        )
    print("\nratios bot / bare (p50, p99):")
    cells = {(r.command, r.mode, r.target): r for r in results}
    for (command, mode, target), bot in cells.items():
        if target != "bot":
            continue
        parts = []
        for bare_name in ("bare", "bare pbr"):
            bare = cells.get((command, mode, bare_name))
            if bare and bare.latencies:
                p50, p99 = bot.pct(50) / bare.pct(50), bot.pct(99) / bare.pct(99)
                parts.append(f"vs {bare_name}: {p50:.2f}x, {p99:.2f}x")
        verdict = ""
        if mode.startswith("open"):
            verdict = "  p99<100ms: " + ("yes" if bot.pct(99) < 100 else "NO")
        print(f"  {command:9} {mode:11} " + "; ".join(parts) + verdict)


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", default=None, help="the server for --db postgres")
    parser.add_argument("--commands", default="help,nominate")
    parser.add_argument("--modes", default="open,closed")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
