"""Discord reply latency: bursts of INTERACTION_CREATE to the moment the answer's content
arrives (callback or follow-up), for a real command against a bare discord.py handler.

One fake Discord (tests/fakes) runs in this process and times every interaction from the moment
it sends it to the moment the answer's content reaches it. The two clients run as separate
processes, each on its own shard of two, as a bot runs apart from Discord:

- bot:  `App` (dispatcher, SQLite or PostgreSQL, dedup by interaction id, persist-then-respond)
        answering, per --command: `/communitybot help` (a read), `/hero nominate` by a new
        member each time (writes the member, the nominee and the nomination), or
        `/communitybot timezone` (writes the member row and the interaction id);
- bare: a discord.py CommandTree command that answers "pong" with nothing else.

Bursts alternate between the two, so both meet the same machine. (Earlier versions ran the
fake inside the bot's event loop: an answer written to the socket was then only seen when
the loop next polled, after the rest of the burst's work, which overstated every answer's
latency but the last.)

Targets (issue 16): bot p99 < 100 ms, bot p50 within 2.5x of the bare handler's p50.

Run by hand: .venv/bin/python bench/discord_reply.py [--command help|nominate|timezone|all]
[--runs 3] [--bursts 30] [--burst-size 20] [--db URL] [--no-freeze-gc]. Each run starts both
clients afresh on a new database; the summary is the median of the runs' figures.
`python bench/cpu_steady.py` shows how steady this machine's CPU is: stalls of the whole
machine show here as outliers on both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from processes import stop_process  # noqa: E402

from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeMember  # noqa: E402

# (id >> 22) % 2: the bare client's guild on shard 0, the bot's on shard 1.
BARE_GUILD, BOT_GUILD = 2000 << 22, 2001 << 22
READY = "ready"


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ----------------------------------------------------------------------------- the clients


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(READY, flush=True)
    await stop.wait()


async def serve_bare(api_url: str, gateway_url: str, token: str, freeze_gc: bool) -> None:
    import discord
    import yarl
    from discord import app_commands

    discord.http.Route.BASE = api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    client = discord.Client(
        intents=discord.Intents.none(), shard_id=0, shard_count=2, guild_ready_timeout=0
    )
    tree = app_commands.CommandTree(client)

    @tree.command(name="bare", description="answers at once")
    async def bare(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    await client.login(token)
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.wait_until_ready(), 30)
    if freeze_gc:
        gc.collect()
        gc.freeze()
    try:
        await _until_stopped()
    finally:
        await client.close()
        await task


async def serve_bot(
    api_url: str, gateway_url: str, token: str, freeze_gc: bool, db_url: str
) -> None:
    from bot.app import App, parse_file_config
    from bot.config import Settings
    from bot.core.invocation import Platform

    settings = Settings(
        file=parse_file_config({"community": {"name": "Bench", "timezone": "UTC"}}),
        database_url=db_url,
        discord_token=token,
        discord_api_url=api_url,
        discord_gateway_url=gateway_url,
        discord_shard_ids=[1],
        discord_shard_count=2,
    )
    app = App(settings, http=False, timer=False)
    await app.start()
    try:
        await app.adapters[Platform.DISCORD].tree.sync()  # type: ignore[attr-defined]
        if freeze_gc:
            # What `communitybot run` does after start: keep long-lived objects out of the
            # collector's way.
            gc.collect()
            gc.freeze()
        await _until_stopped()
    finally:
        await app.stop()


# ----------------------------------------------------------------------------- the load


async def spawn(
    role: str, fake: DiscordFake, args: argparse.Namespace, db_url: str
) -> asyncio.subprocess.Process:
    argv = [sys.executable, __file__, "--serve", role, fake.api_url, fake.gateway_url, fake.token]
    argv += ["--freeze-gc"] if args.freeze_gc else []
    argv += [db_url] if role == "bot" else []
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.decode().strip() != READY:
        proc.kill()
        raise RuntimeError(f"the {role} client did not start (exit {await proc.wait()})")
    return proc


COMMANDS = {
    "help": "communitybot help",
    "nominate": "hero nominate",
    "timezone": "communitybot timezone",
}


def options(command: str, hero: int) -> dict[str, object] | None:
    if command == "nominate":
        return {"member": hero, "reason": "kept the build green all month"}
    return None


async def burst(
    fake: DiscordFake, command: str, guild_id: int, users: list[int], hero: int
) -> list[float]:
    """Send one interaction per user at once; seconds from each send to its answer."""
    ids = await asyncio.gather(
        *(
            fake.send_interaction(
                COMMANDS.get(command, command),
                user_id=u,
                guild_id=guild_id,
                options=options(command, hero),
            )
            for u in users
        )
    )
    records = [fake.interactions[i] for i in ids]
    await fake.wait_for(lambda: all(r.answered_at for r in records), within=30)
    return [r.answered_at - r.sent_at for r in records]  # type: ignore[operator]


@dataclass
class Figures:
    """One command's samples in one run, next to the bare handler's of the same run."""

    bare: list[float]
    bot: list[float]
    bare_cpu: float  # CPU seconds per interaction, over the measured bursts
    bot_cpu: float

    @property
    def ratio(self) -> float:
        return statistics.median(self.bot) / statistics.median(self.bare)

    @property
    def p99(self) -> float:
        return percentile(self.bot, 0.99)


async def one_run(args: argparse.Namespace) -> dict[str, Figures]:
    commands = list(COMMANDS) if args.command == "all" else [args.command]
    async with DiscordFake() as fake:
        # A new member for every interaction of the bot (nominations by new members).
        people = [fake.add_user(f"user{i}") for i in range(args.burst_size)]
        fresh = [
            fake.add_user(f"member{i}")
            for i in range(args.burst_size * (args.bursts + 1) * len(commands))
        ]
        hero = fake.add_user("hero")
        for guild_id in (BARE_GUILD, BOT_GUILD):
            fake.add_guild(
                id=guild_id,
                members=[FakeMember(user=p) for p in (*people, *fresh, hero)],
                channels=[FakeChannel(id=guild_id + 1, name="general")],
            )
        fake.guild_commands[BARE_GUILD] = [
            {"id": "1", "name": "bare", "type": 1, "description": "answers at once"}
        ]
        newcomers = iter(p.id for p in fresh)
        results: dict[str, Figures] = {}
        with tempfile.TemporaryDirectory() as tmp:
            db_url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            clients = [await spawn("bare", fake, args, db_url)]
            try:
                clients.append(await spawn("bot", fake, args, db_url))
                regulars = [p.id for p in people]
                for command in commands:
                    # One warm-up burst each (first connections, SQLite file creation).
                    await burst(fake, "bare", BARE_GUILD, regulars, hero.id)
                    await burst(fake, command, BOT_GUILD, regulars, hero.id)
                    bot_samples: list[float] = []
                    bare_samples: list[float] = []
                    used = [-cpu_seconds(proc.pid) for proc in clients]
                    for _ in range(args.bursts):
                        bare_samples += await burst(fake, "bare", BARE_GUILD, regulars, hero.id)
                        users = [next(newcomers) for _ in range(args.burst_size)]
                        bot_samples += await burst(fake, command, BOT_GUILD, users, hero.id)
                    used = [
                        u + cpu_seconds(proc.pid) for u, proc in zip(used, clients, strict=True)
                    ]
                    results[command] = Figures(
                        bare_samples,
                        bot_samples,
                        used[0] / len(bare_samples),
                        used[1] / len(bot_samples),
                    )
            finally:
                for proc in clients:
                    await stop_process(proc)
    return results


def report(results: dict[str, Figures]) -> None:
    ms = 1000
    print(f"{'':16} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}   (ms, send -> answer content)")
    for command, figures in results.items():
        for name, samples in (("bare", figures.bare), (f"bot {command}", figures.bot)):
            row = [percentile(samples, q) * ms for q in (0.5, 0.95, 0.99, 1.0)]
            print(f"{name:16} " + " ".join(f"{v:8.1f}" for v in row))
        print(
            f"  {command}: p50 / bare p50 = {figures.ratio:.2f}; CPU per interaction: bare "
            f"client {figures.bare_cpu * ms:.2f} ms, bot {figures.bot_cpu * ms:.2f} ms "
            "(/proc clock ticks over every burst)"
        )


async def main(args: argparse.Namespace) -> int:
    print(
        f"{args.runs} run(s) of {args.bursts} bursts of {args.burst_size} interactions each "
        f"(after a warm-up burst), database "
        f"{'PostgreSQL' if args.db and 'postgres' in args.db else 'SQLite'}; every bot "
        "interaction from a member it has not seen before"
    )
    runs = []
    for index in range(args.runs):
        print(f"\nrun {index + 1}")
        runs.append(await one_run(args))
        report(runs[-1])
    ms = 1000
    print(f"\nmedian of {args.runs} run(s), each figure next to the bare handler of its own run:")
    for command in runs[0]:
        per_run = [run[command] for run in runs]
        bare_p50 = statistics.median(statistics.median(f.bare) for f in per_run) * ms
        bot_p50 = statistics.median(statistics.median(f.bot) for f in per_run) * ms
        bare_p99 = statistics.median(percentile(f.bare, 0.99) for f in per_run) * ms
        p99 = statistics.median(f.p99 for f in per_run) * ms
        ratio = statistics.median(f.ratio for f in per_run)
        print(
            f"  {command:9} bot p50 {bot_p50:6.1f} ms, p99 {p99:6.1f} ms "
            f"({'met' if p99 < 100 else 'MISSED'}: < 100); bare p50 {bare_p50:5.1f}, "
            f"p99 {bare_p99:5.1f}; p50 ratio {ratio:.2f} "
            f"({'met' if ratio <= 2.5 else 'MISSED'}: <= 2.5); CPU per interaction: bot "
            f"{statistics.median(f.bot_cpu for f in per_run) * ms:.2f} ms, bare "
            f"{statistics.median(f.bare_cpu for f in per_run) * ms:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        role, api_url, gateway_url, token, *rest = sys.argv[2:]
        freeze = "--freeze-gc" in rest
        rest = [r for r in rest if r != "--freeze-gc"]
        if role == "bare":
            asyncio.run(serve_bare(api_url, gateway_url, token, freeze))
        else:
            asyncio.run(serve_bot(api_url, gateway_url, token, freeze, rest[0]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--command", choices=(*COMMANDS, "all"), default="all")
    parser.add_argument("--bursts", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="fresh clients and database each")
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    parser.add_argument(
        "--no-freeze-gc",
        dest="freeze_gc",
        action="store_false",
        help="leave out the gc.freeze() after start that `communitybot run` does (both clients "
        "freeze by default: without it a full collection scans every object loaded at start, "
        "tens of ms in the middle of a burst)",
    )
    raise SystemExit(asyncio.run(main(parser.parse_args())))
