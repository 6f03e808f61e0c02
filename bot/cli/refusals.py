"""The one sentence the CLI prints when the bot cannot start, naming the real cause.

`communitybot run`, `console` and `db upgrade` refuse with exit code 2 and no traceback when
the database cannot be opened, the HTTP port is taken or the config fails a check made at
start; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.adapters.web import CannotListen
from bot.config import ConfigError
from bot.store.migrate import SchemaTooNew
from bot.store.sqlite_file import DatabaseFileError


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _database_error(exc: BaseException) -> BaseException | None:
    """The driver's own error behind `exc`, when `exc` comes from opening the database."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            return current.orig if current.orig is not None else current
        if isinstance(current, sqlite3.Error):
            return current
        module = type(current).__module__
        if module.startswith("asyncpg"):
            return current
        current = current.__cause__ or current.__context__
    return None


def explain(exc: BaseException, database_url: str) -> str | None:
    """Why the bot cannot start, as one sentence (no final period), or None for a bug."""
    if isinstance(exc, CannotListen | DatabaseFileError | SchemaTooNew):
        return str(exc)
    if isinstance(exc, ConfigError):
        return f"the configuration is invalid: {'; '.join(exc.problems)}"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        where = f"the SQLite database {url.database}"
    else:
        where = f"the PostgreSQL database {url.database} on {url.host}:{url.port or 5432}"
    driver_error = _database_error(exc)
    if driver_error is not None:
        return f"cannot open {where}: {_first_line(driver_error)}"
    if isinstance(exc, OSError):
        # A connection refused or a host that does not resolve, before any driver error.
        return f"cannot reach {where}: {exc.strerror or _first_line(exc)}"
    return None
