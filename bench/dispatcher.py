"""What one command costs in the dispatcher alone, with no platform in front of it.

    .venv/bin/python bench/dispatcher.py [--commands help,nominate,timezone] [--count 500]
                                         [--runs 5] [--db URL]

Starts the real App in-process (console adapter only, no timer, no HTTP) on a fresh SQLite
file (or --db) and sends through `Dispatcher.handle` what the adapters send, each with a replay
key: `/communitybot help`, `/hero nominate` by a new member each time, and
`/communitybot timezone` by a new member each time. After a warm-up of 200 commands and with
the collector frozen (as `communitybot run` does), it times --count commands one after
another, --runs times, and prints the mean time a command of each run and their median.

This is the part of the bot's CPU that is its own: `bench/slack_ack.py` and
`bench/discord_reply.py` add the platform libraries around it. To compare two versions,
run each from its own checkout (`cd <checkout> && python bench/dispatcher.py`), alternating,
since the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.console import PLACE  # noqa: E402
from bot.app import App, parse_file_config  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.invocation import Actor, Invocation, Platform  # noqa: E402

CONFIG: dict[str, Any] = {"community": {"name": "Bench Community", "timezone": "UTC"}}
WARM_UP = 200


def invocation(command: str, seq: int) -> Invocation:
    """The seq-th command of its kind, by a member seen for the first time."""
    user = f"u{seq}"
    actor = Actor(Platform.CONSOLE, user, user, frozenset())
    text = {
        "help": ("communitybot", "help"),
        "nominate": ("hero", f"nominate @hero{seq % 2} kept the build green, round {seq}"),
        "timezone": ("communitybot", "timezone Europe/Berlin"),
    }[command]
    return Invocation(text[0], actor, PLACE, text=text[1], dedup_key=f"bench:{command}:{seq}")


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="dispatcher-") as work:
        url = args.db or f"sqlite+aiosqlite:///{Path(work) / 'bench.db'}"
        settings = Settings(file=parse_file_config(CONFIG), database_url=url, http_port=0)
        app = App(settings, console_user="bench", http=False, timer=False)
        await app.start()
        try:
            seq = 0

            def sender(command: str) -> Callable[[], Awaitable[None]]:
                async def send() -> None:
                    nonlocal seq
                    seq += 1
                    reply = await app.dispatcher.handle(invocation(command, seq))
                    assert reply.outcome == "ok", reply

                return send

            print(f"the dispatcher alone, {args.count} commands a run, {args.runs} runs")
            for command in args.commands.split(","):
                send = sender(command)
                for _ in range(WARM_UP):
                    await send()
                gc.collect()
                gc.freeze()
                runs = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    for _ in range(args.count):
                        await send()
                    runs.append((time.perf_counter() - started) / args.count * 1e3)
                shown = " ".join(f"{r:.2f}" for r in runs)
                print(f"  {command:9} median {statistics.median(runs):.2f} ms ({shown})")
        finally:
            await app.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default="help,nominate,timezone")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
