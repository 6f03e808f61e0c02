"""SQLite connections that run on the event loop's own thread, shaped like aiosqlite's.

aiosqlite runs every call on a worker thread: creating a cursor, executing, fetching and
closing each cost one hand-off there and one wake-up of the event loop back, about 100 µs
apiece on a small machine. SQLAlchemy makes four such calls per statement, so a command of ten
statements spent more time handing work between threads than SQLite spent running it (a
statement on an indexed table takes tens of µs). Served from SQLite, the bot's latency is
mostly that overhead; running the calls inline removes it.

What inline execution must not do is block the loop while another process holds SQLite's write
lock, so the connection's own busy timeout is zero and a busy database is waited for here,
with asyncio.sleep between attempts (the same backoff SQLite's busy handler uses, without
holding the thread). Queries on this schema are index look-ups and bounded batches; a WAL
checkpoint on commit is the one longer step that can still run inline.

SQLAlchemy's aiosqlite dialect drives these objects through `create_async_engine(...,
async_creator=...)`: the URL, dialect and SQL stay as they are. It is the dialect of
SQLAlchemy 2.1, which takes `cursor()` as a plain call (2.0's awaits it, as aiosqlite's is a
coroutine there): hence the pin to 2.1 in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# Waiting for another process's write lock: first retry after 1 ms, then doubling up to 50 ms.
FIRST_WAIT, LONGEST_WAIT = 0.001, 0.05


class Cursor:
    """What SQLAlchemy uses of aiosqlite.Cursor: awaitable calls over a sqlite3 cursor."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cursor = conn._conn.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._conn._when_free(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        # A retry re-runs the whole batch: materialise it so a generator isn't half-spent.
        rows = list(parameters)
        await self._conn._when_free(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := self._cursor.fetchmany(64):
            for row in rows:
                yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


class Connection:
    """What SQLAlchemy uses of aiosqlite.Connection, executing on the caller's thread."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = conn
        self.busy_timeout = busy_timeout

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # SQLAlchemy's adapter checks this before commit and rollback, as it does on aiosqlite.
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def _when_free(self, call: Callable[..., T], *args: Any) -> T:
        """Run `call` now; while another connection holds a lock it needs, retry with backoff."""
        wait, deadline = FIRST_WAIT, time.monotonic() + self.busy_timeout
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)

    async def commit(self) -> None:
        await self._when_free(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        # SQLAlchemy's hard terminate: there is no worker thread to stop, only the handle.
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def connector(
    args: Sequence[Any], params: dict[str, Any], busy_timeout: float
) -> Callable[[], Awaitable[Connection]]:
    """An async_creator for SQLAlchemy, from the dialect's own connect arguments for the URL."""
    params = {k: v for k, v in params.items() if k != "timeout"}

    async def connect() -> Connection:
        # isolation_level=None: SQLAlchemy's begin event, not the sqlite3 module, opens
        # transactions (see db._configure_sqlite).
        conn = sqlite3.connect(*args, **params, timeout=0, isolation_level=None)
        return Connection(conn, busy_timeout)

    return connect
