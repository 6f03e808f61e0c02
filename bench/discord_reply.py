"""Discord reply latency: bursts of INTERACTION_CREATE to the moment the answer's content
arrives (callback or follow-up), for a real command against a bare discord.py handler.

Both run in the same process against one fake Discord (tests/fakes), each on its own shard of
two, so every burst goes to the bot and to the bare handler under the same conditions:

- bot:  the whole communitybot App (dispatcher, SQLite or PostgreSQL, dedup by interaction id,
        persist-then-respond) answering `/communitybot timezone` (a real command that writes:
        the member row and the interaction id, before it answers);
- bare: a discord.py CommandTree command that answers "pong" with nothing else.

Targets (issue 4): bot p99 < 50 ms, bot p50 within 1.5x of the bare handler's p50.

Where the time goes (one interaction at a time, measured with timestamps at each step):
gateway -> adapter 0.2 ms, dispatcher (one SQLite transaction, committed before the answer)
2.0 ms, answer -> Discord 0.3 ms; the bare handler does the first and last only. In a burst,
SQLite's single writer makes the 20th command wait for the 19 before it.

Run by hand: python bench/discord_reply.py [--bursts 10] [--burst-size 20] [--db URL] [--freeze-gc]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
from pathlib import Path

import discord
import yarl
from discord import app_commands

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import App
from bot.config import Settings, parse_file_config
from bot.core.invocation import Platform
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeMember

# (id >> 22) % 2: the bare client's guild on shard 0, the bot's on shard 1.
BARE_GUILD, BOT_GUILD = 2000 << 22, 2001 << 22


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def burst(fake: DiscordFake, command: str, guild_id: int, users: list[int]) -> list[float]:
    """Send one interaction per user at once; seconds from each send to its answer."""
    ids = await asyncio.gather(
        *(fake.send_interaction(command, user_id=u, guild_id=guild_id) for u in users)
    )
    records = [fake.interactions[i] for i in ids]
    await fake.wait_for(lambda: all(r.answered_at for r in records), within=30)
    return [r.answered_at - r.sent_at for r in records]  # type: ignore[operator]


async def start_bare(fake: DiscordFake) -> tuple[discord.Client, asyncio.Task[None]]:
    client = discord.Client(
        intents=discord.Intents.none(), shard_id=0, shard_count=2, guild_ready_timeout=0
    )
    tree = app_commands.CommandTree(client)

    @tree.command(name="bare", description="answers at once")
    async def bare(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    await client.login(fake.token)
    fake.guild_commands[BARE_GUILD] = [
        {"id": "1", "name": "bare", "type": 1, "description": "answers at once"}
    ]
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.wait_until_ready(), 30)
    return client, task


async def main(bursts: int, size: int, db_url: str | None, freeze_gc: bool) -> int:
    async with DiscordFake() as fake:
        # The same endpoints the bot applies from DISCORD_API_URL / DISCORD_GATEWAY_URL.
        discord.http.Route.BASE = fake.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        people = [fake.add_user(f"user{i}") for i in range(size)]
        for guild_id in (BARE_GUILD, BOT_GUILD):
            fake.add_guild(
                id=guild_id,
                members=[FakeMember(user=p) for p in people],
                channels=[FakeChannel(id=guild_id + 1, name="general")],
            )
        bare, bare_task = await start_bare(fake)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                file=parse_file_config({"community": {"name": "Bench", "timezone": "UTC"}}),
                database_url=db_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                discord_token=fake.token,
                discord_api_url=fake.api_url,
                discord_gateway_url=fake.gateway_url,
                discord_shard_ids=[1],
                discord_shard_count=2,
            )
            app = App(settings, http=False, timer=False)
            await app.start()
            try:
                await app.adapters[Platform.DISCORD].tree.sync()  # type: ignore[attr-defined]
                users = [p.id for p in people]
                if freeze_gc:
                    # What a deployment can do after start: keep the long-lived objects out
                    # of the collector's way (its pauses show as tens of ms on both sides).
                    gc.collect()
                    gc.freeze()
                # One warm-up burst each (imports, first connections, SQLite file creation).
                await burst(fake, "bare", BARE_GUILD, users)
                await burst(fake, "communitybot timezone", BOT_GUILD, users)
                bot_samples: list[float] = []
                bare_samples: list[float] = []
                for _ in range(bursts):
                    bare_samples += await burst(fake, "bare", BARE_GUILD, users)
                    bot_samples += await burst(fake, "communitybot timezone", BOT_GUILD, users)
            finally:
                await app.stop()
                await bare.close()
                await bare_task
    ms = 1000
    print(
        f"{bursts} bursts of {size} interactions each (after a warm-up burst), "
        f"database {'PostgreSQL' if db_url and 'postgres' in db_url else 'SQLite'}"
    )
    print(f"{'':6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}   (ms, send -> answer content)")
    for name, samples in (("bare", bare_samples), ("bot", bot_samples)):
        row = [percentile(samples, q) * ms for q in (0.5, 0.95, 0.99, 1.0)]
        print(f"{name:6} " + " ".join(f"{v:8.1f}" for v in row))
    p50_ratio = statistics.median(bot_samples) / statistics.median(bare_samples)
    p99 = percentile(bot_samples, 0.99) * ms
    print(f"bot p99 {p99:.1f} ms (target < 50): {'met' if p99 < 50 else 'MISSED'}")
    print(
        f"bot p50 / bare p50 = {p50_ratio:.2f} (target <= 1.5): "
        f"{'met' if p50_ratio <= 1.5 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    parser.add_argument("--freeze-gc", action="store_true", help="gc.freeze() after start")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.bursts, args.burst_size, args.db, args.freeze_gc)))
