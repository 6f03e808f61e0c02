"""Whether the database takes writes, for /healthz: a database that answers SELECT 1 can still
refuse every write (disk full, a lock held elsewhere, a read-only file or replica).

Cheap while all is well: nothing is probed, the write transactions the bot makes anyway are
watched (`Database.session` reports their failures here). Once one fails for a storage reason,
/healthz reports it until a probe write succeeds; the probe runs only in that state, at most
once per health request.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, OperationalError

PROBE_KEY = "healthz.write_probe"
# The probe writes about two pages, so that it needs space as a real write does, rather than
# fitting into free room on a page that is already there.
PROBE_SIZE = 8192
PROBE_TIMEOUT = 2.0
# SQLSTATE classes that say the server cannot write: 53 insufficient resources (disk full,
# out of memory), 58 system error (I/O), 25006 read-only transaction, 55P03 lock not available.
_PG_STATES = ("53", "58", "25006", "55P03")
_SQLITE = ("is full", "is locked", "readonly", "i/o error", "unable to open")


def storage_reason(exc: BaseException) -> str | None:
    """The reason `exc` says writes fail for want of storage or a lock, or None."""
    # The BEGIN IMMEDIATE that takes SQLite's write lock runs on the driver directly, so a
    # lock held elsewhere arrives as sqlite3's own error, not wrapped by SQLAlchemy.
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig).strip()
    message = text.splitlines()[0] if text else type(orig).__name__
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if state and state.startswith(_PG_STATES):
        return message
    # SQLite: "database or disk is full", "database is locked", "attempt to write a readonly
    # database", "disk I/O error" (other OperationalErrors, like "no such table", are bugs).
    sqlite_error = isinstance(exc, OperationalError) or isinstance(orig, sqlite3.OperationalError)
    if sqlite_error and any(s in message.lower() for s in _SQLITE):
        return message
    return None


class WriteHealth:
    """The last storage failure of a write, cleared by a successful probe write."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self._lock = asyncio.Lock()

    def failed(self, exc: BaseException) -> None:
        reason = storage_reason(exc)
        if reason is not None:
            self.failure = reason

    async def check(self, probe: Callable[[str], Awaitable[None]]) -> str | None:
        """None when writes work; else why they fail (probing again while they failed)."""
        if self.failure is None:
            return None
        async with self._lock:  # concurrent health requests share one probe
            if self.failure is None:
                return None
            try:
                await asyncio.wait_for(probe(_probe_value()), PROBE_TIMEOUT)
            except TimeoutError:
                return self.failure
            except Exception as exc:  # the probe's own failure is the current reason
                self.failure = storage_reason(exc) or self.failure
                return self.failure
            self.failure = None
            return None


def _probe_value() -> str:
    stamp = datetime.now(UTC).isoformat()
    return stamp + "." * (PROBE_SIZE - len(stamp))
