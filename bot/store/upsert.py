"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike (SQLAlchemy has one per dialect).

The statements are built once per table and shape and run with the row as parameters: building
one (its `excluded` alias copies every column of the table) cost more than running it.

Each has a synchronous form (`…_in`) for callers that run several steps in one hand-off to
SQLAlchemy's greenlet (`AsyncSession.run_sync`); every hand-off costs about as much as a
statement on SQLite. Those run on the session's connection: for a Core statement the
Session's own `execute` adds bookkeeping and nothing else (it autoflushes only for ORM ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def _dialect(session: AsyncSession | Session) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _insert(dialect: str, table: Table) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@cache
def _ignore_statement(dialect: str, table: Table, conflict: tuple[str, ...]) -> Any:
    stmt = _insert(dialect, table).on_conflict_do_nothing(index_elements=conflict)
    return stmt.returning(*(table.c[c] for c in conflict))


@cache
def _upsert_statement(
    dialect: str, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=conflict, set_={c: stmt.excluded[c] for c in update}
    )


async def insert_ignore(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
) -> bool:
    """Insert unless a row with the same `conflict` columns exists; True if this call inserted."""
    return await session.run_sync(insert_ignore_in, table, values, conflict)


def insert_ignore_in(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
) -> bool:
    """insert_ignore on the synchronous session, for a caller already in SQLAlchemy's greenlet
    (`AsyncSession.run_sync`), where several steps share one hand-off."""
    stmt = _ignore_statement(_dialect(session), table, tuple(conflict))
    return session.connection().execute(stmt, dict(values)).first() is not None


async def insert_ignore_many(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
) -> int:
    """`insert_ignore` for many rows in one round trip (SQLAlchemy batches an INSERT …
    RETURNING run with many rows into multi-row statements); returns how many were new."""
    if not rows:
        return 0
    stmt = _ignore_statement(_dialect(session), table, tuple(conflict))
    result = await session.execute(stmt, [dict(row) for row in rows])
    return len(result.all())


async def upsert(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert, or update the `update` columns of the row with the same `conflict` columns."""
    await session.run_sync(upsert_in, table, values, conflict, update)


def upsert_in(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """upsert on the synchronous session (see insert_ignore_in)."""
    stmt = _upsert_statement(_dialect(session), table, tuple(conflict), tuple(update))
    session.connection().execute(stmt, dict(values))
