"""The async engine and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from bot.store import sqlite_inline
from bot.store.sqlite_file import ensure_private_file
from bot.store.write_health import PROBE_KEY, WriteHealth

log = logging.getLogger(__name__)

_in_write: ContextVar[bool] = ContextVar("sqlite_write_transaction", default=False)

# Any constant works; it names our migration lock among other advisory locks on the server.
MIGRATION_LOCK_KEY = 0x636F6D6D  # "comm"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """Owns the engine. `session()` gives a unit of work that commits or rolls back whole."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            # sqlite3 on the loop's thread instead of aiosqlite's worker (see sqlite_inline).
            args, params = self.url.get_dialect()().create_connect_args(self.url)
            kwargs["async_creator"] = _private_file(
                self.sqlite_path(), sqlite_inline.connector(args, params, busy_timeout=busy_timeout)
            )
        else:
            # Sized for bursts of concurrent commands: connections past pool_size are closed
            # after use, and reopening them costs more than the query. No pool_pre_ping: on
            # asyncpg it is three round trips (BEGIN, a ping, ROLLBACK) per checkout, as many
            # as a command's own work; _drop_closed_connections costs none.
            kwargs.update(pool_size=20, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            _drop_closed_connections(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Sessions that only read: on SQLite a plain BEGIN, a snapshot that neither takes nor
        # waits for the write lock (see _on_begin). On PostgreSQL no transaction at all: each
        # statement reads its own snapshot either way (READ COMMITTED), and BEGIN and COMMIT
        # would be two more round trips for a command that reads one row.
        reading = {"read_only": True} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        self.reads = async_sessionmaker(
            self.engine.execution_options(**reading), expire_on_commit=False
        )
        # SQLite has one writer at a time. This process's write transactions queue here, where
        # waiting costs nothing, instead of in SQLite's busy handler, which sleeps in steps of
        # up to 100 ms: a burst of 20 commands then takes tens of ms, not hundreds.
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None
        self.writes = WriteHealth()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        try:
            async with self._session() as session:
                yield session
        except Exception as exc:
            self.writes.failed(exc)  # /healthz reports a disk full or a lock held elsewhere
            raise

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        if self._sqlite_writer is None or _in_write.get():
            # (A transaction opened inside another keeps SQLite's own waiting, as before.)
            async with self._unit_of_work() as session:
                yield session
            return
        async with self._sqlite_writer:
            token = _in_write.set(True)
            try:
                async with self._unit_of_work() as session:
                    yield session
            finally:
                _in_write.reset(token)

    @asynccontextmanager
    async def _unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction begins with its first statement and is committed and
        closed in one hand-off to SQLAlchemy's greenlet (`session.begin()` and the close would
        be three, each costing about as much as a statement on SQLite)."""
        session = self.sessions()
        try:
            yield session
            await session.run_sync(_commit_and_close)
        except BaseException:
            # Rolls back and returns the connection; shielded, so that a cancellation cannot
            # leave the connection checked out.
            await asyncio.shield(session.close())
            raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                # A plain read: on SQLite it must not queue behind a writer for the lock.
                conn = await conn.execution_options(read_only=True)
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            return True
        except Exception:  # any failure means "not healthy"; the reason is logged
            log.warning("database ping failed", exc_info=True)
            return False

    async def writes_failing(self) -> str | None:
        """Why writes fail (disk full, locked, read-only), or None while they work."""
        return await self.writes.check(self._probe_write)

    async def _probe_write(self, value: str) -> None:
        from bot.store.models import BotState

        async with self.session() as session:
            await session.merge(BotState(key=PROBE_KEY, value=value, updated_at=datetime.now(UTC)))

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[None]:
        """Replicas starting together run start-up work one at a time (PostgreSQL)."""
        if not self.is_postgres:
            yield
            return
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                await conn.commit()

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)


def _commit_and_close(session: Session) -> None:
    session.commit()
    session.close()


def _private_file(path: Path | None, creator: Any) -> Any:
    """The connector, after creating the database file 0600 (SQLite would make it 0644)."""
    if path is None or str(path).startswith("file:"):
        return creator

    async def connect() -> Any:
        ensure_private_file(path)
        return await creator()

    return connect


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """Never hand out a pooled connection the server has closed (a restart, an admin's kill).

    The driver notices the server closing the socket as soon as the event loop runs, so a
    look at it on checkout replaces the pre-ping's round trips.
    """

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.driver_connection.is_closed():  # asyncpg, the one PostgreSQL driver we allow
            # Every connection opened before this one is as dead: reconnect them all.
            raise exc.InvalidatePoolError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The connection was opened in autocommit mode (sqlite_inline.connector), so
        # SQLAlchemy, not the driver, decides when transactions begin (see _on_begin). Its busy
        # timeout stays 0: waiting for another process's lock happens in sqlite_inline, which
        # does not block the event loop.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # fails with "database is locked" at once under contention, busy timeout or not.
        # Connections marked read_only (health checks) read a WAL snapshot without waiting.
        read_only = conn.get_execution_options().get("read_only", False)
        # Straight to the driver: exec_driver_sql would build a whole execution context (and
        # fire statement events) for a statement that returns nothing, on every transaction.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
        finally:
            cursor.close()
