"""What one statement costs at each layer: the ORM, Core on the session's connection, Core in
one greenlet, and the SQLite driver alone.

    .venv/bin/python bench/statements.py [--count 3000] [--rounds 3]

The statement is the look-up every command makes (`bot.store.members`: the asker by
community, platform, user id and workspace), on a fresh SQLite file at the newest migration,
inside one open transaction, run --count times per layer and round; the figure is the
median over rounds of the mean time per statement. What the layers add:

- orm:        the same look-up for the `Member` entity, `AsyncSession.scalar(select(Member)…)`,
              as the store ran it until it moved to Core rows: the statement's ORM compile
              state, a hand-off to SQLAlchemy's greenlet, a Member loaded into the session;
- core:       the store's own Core select on the session's AsyncConnection: the hand-off and
              SQLAlchemy's execution context, rows not objects;
- one greenlet: the Core select run --count times inside one `run_sync`: no hand-off per
              statement, only the execution context;
- driver:     the compiled SQL on the sqlite3 connection underneath: the floor.

Run by hand; the machine's speed drifts, so compare the layers within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.core.invocation import MemberRef, Platform  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.members import _MEMBER_BY_KEY, ensure_community, ensure_member  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Member  # noqa: E402

CORE = _MEMBER_BY_KEY
# The store's look-up with the entity in place of its columns: the same WHERE, ORDER BY and
# LIMIT, loading Member objects.
ORM = select(Member).from_statement(_MEMBER_BY_KEY.with_only_columns(*Member.__table__.c))


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="statements-") as work:
        db = Database(f"sqlite+aiosqlite:///{Path(work) / 'bench.db'}")
        await upgrade(db)
        now = datetime.now(UTC)
        async with db.session() as session:
            community_id = (await ensure_community(session, "Bench", "UTC", now)).id
            ref = MemberRef(Platform.SLACK, "UBENCH", "bench")
            await ensure_member(session, community_id, ref, now, workspace="T1")
        key = {"community_id": community_id, "p": "slack", "u": "UBENCH", "w": "T1"}
        count = args.count
        results: dict[str, list[float]] = {}
        async with db.session() as session:
            conn = await session.connection()
            compiled = CORE.compile(dialect=db.engine.dialect)
            params = compiled.construct_params(key)
            positional = tuple(params[name] for name in compiled.positiontup or ())

            async def orm() -> None:
                for _ in range(count):
                    await session.scalar(ORM, key)

            async def core() -> None:
                for _ in range(count):
                    (await conn.execute(CORE, key)).first()

            def in_greenlet(sync: Session) -> None:
                sync_conn = sync.connection()
                for _ in range(count):
                    sync_conn.execute(CORE, key).first()

            async def one_greenlet() -> None:
                await session.run_sync(in_greenlet)

            def on_driver(sync: Session) -> None:
                # sqlite_inline's Connection holds the sqlite3 connection as `_conn`.
                raw: Any = sync.connection().connection.driver_connection
                for _ in range(count):
                    cursor = raw._conn.cursor()
                    cursor.execute(compiled.string, positional)
                    cursor.fetchall()
                    cursor.close()

            async def driver() -> None:
                await session.run_sync(on_driver)

            layers: dict[str, Callable[[], Awaitable[None]]] = {
                "orm": orm,
                "core": core,
                "one greenlet": one_greenlet,
                "driver": driver,
            }
            for _ in range(args.rounds):
                for name, layer in layers.items():
                    started = time.perf_counter()
                    await layer()
                    spent = (time.perf_counter() - started) / count
                    results.setdefault(name, []).append(spent)
        await db.dispose()
    print(f"one member look-up on SQLite, {count} times a layer, median of {args.rounds} rounds")
    for name, spent in results.items():
        print(f"  {name:13} {statistics.median(spent) * 1e6:7.1f} µs a statement")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
