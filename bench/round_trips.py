"""How many times one command talks to the database, statement by statement.

    .venv/bin/python bench/round_trips.py [--db sqlite|postgres] [--database-url URL]
                                          [--commands 20] [--show]

Starts the real App in-process (console adapter only, no timer) on a fresh database
(--db postgres: a scratch database on the server named by COMMUNITYBOT_TEST_POSTGRES_URL or
--database-url, dropped afterwards) and sends through the dispatcher what the Slack adapter
sends: `/communitybot help`, then `/hero nominate` by a new member each time, then by members
seen before naming someone seen before, each with a replay key as Slack requests carry one.
What is counted, per command: the statements SQLAlchemy executes (SAVEPOINT and RELEASE
included); on PostgreSQL also what asyncpg sends outside them, as its query loggers report it
(BEGIN, COMMIT, ROLLBACK, the pool's pings), each a round trip to the server (preparing a
statement is one more the first time a connection runs it, which the warm-up commands
absorb); on SQLite the BEGIN and COMMIT that SQLAlchemy issues, which run in-process. --show
prints the last command's statements of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.adapters.console import PLACE  # noqa: E402
from bot.app import App, parse_file_config  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.invocation import Actor, Invocation, Platform  # noqa: E402
from tests.support.postgres import scratch_database  # noqa: E402

CONFIG: dict[str, Any] = {"community": {"name": "Bench Community", "timezone": "UTC"}}
PG_ENV = "COMMUNITYBOT_TEST_POSTGRES_URL"


@dataclass
class Tally:
    """What one command sent to the database."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0  # SQLite: BEGIN and COMMIT/ROLLBACK, which run in-process


class Counter:
    """Tallies into the current command's Tally everything the database is sent."""

    def __init__(self, app: App) -> None:
        self.current = Tally()
        engine = app.db.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.current.statements.append(statement)

        if app.db.is_postgres:
            # asyncpg runs the statements above as prepared statements, which its query
            # loggers do not see; they see the rest.
            @event.listens_for(engine.pool, "connect")
            def _connected(_dbapi_conn: Any, record: Any) -> None:
                record.driver_connection.add_query_logger(self._logged)

            return

        @event.listens_for(engine, "begin")
        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _transaction(_conn: Any) -> None:
            self.current.transactions += 1

    def _logged(self, record: Any) -> None:
        self.current.statements.append(record.query)

    async def take(self) -> Tally:
        # asyncpg calls its query loggers soon after each query, not during it.
        for _ in range(3):
            await asyncio.sleep(0)
        tally, self.current = self.current, Tally()
        return tally


@asynccontextmanager
async def database(args: argparse.Namespace) -> AsyncIterator[str]:
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="round-trips-") as work:
            yield f"sqlite+aiosqlite:///{Path(work) / 'bench.db'}"
        return
    base = args.database_url or os.environ.get(PG_ENV)
    if not base:
        raise SystemExit(f"--db postgres needs --database-url or {PG_ENV}")
    async with scratch_database(base, "cbrt") as url:
        yield url


async def run(args: argparse.Namespace) -> int:
    async with database(args) as url:
        settings = Settings(file=parse_file_config(CONFIG), database_url=url, http_port=0)
        app = App(settings, console_user="bench", http=False, timer=False)
        counter = Counter(app)  # before start, so it sees every connection opened
        await app.start()
        try:
            seq = 0

            async def send(text: str, user: str, command: str = "hero") -> Tally:
                nonlocal seq
                seq += 1
                actor = Actor(Platform.CONSOLE, user, user, frozenset())
                inv = Invocation(command, actor, PLACE, text=text, dedup_key=f"bench:{seq}")
                await counter.take()
                reply = await app.dispatcher.handle(inv)
                assert reply.outcome == "ok", reply
                return await counter.take()

            kinds = {
                "help": lambda i: send("help", "reader", "communitybot"),
                "nominate, new member": lambda i: send(
                    f"nominate @hero{i % 2} kept the build green, round {i}", f"new{i}"
                ),
                # Seen before (the warm-up's nominators), naming someone seen before.
                "nominate, known member": lambda i: send(
                    "nominate @hero kept the build green, again", f"new{i}"
                ),
            }
            what = "round trips" if app.db.is_postgres else "statements"
            print(f"database {what} per command ({args.db}, {args.commands} commands each)")
            for name, one in kinds.items():
                for i in range(5):  # warm-up: statement caches, the cycle's planning
                    await one(-i - 1)
                tallies = [await one(i) for i in range(args.commands)]
                sent = [len(t.statements) + t.transactions for t in tallies]
                last = tallies[-1]
                print(
                    f"  {name:24} median {statistics.median(sent):4.1f} (max {max(sent)})"
                    + (f", of which {last.transactions} BEGIN/COMMIT" if last.transactions else "")
                )
                if args.show:
                    for statement in last.statements:
                        print(f"      {' '.join(statement.split())[:150]}")
        finally:
            await app.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--show", action="store_true")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
