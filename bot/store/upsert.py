"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike (SQLAlchemy has one per dialect).

The statements are built once per table and shape and run with the row as parameters: building
one (its `excluded` alias copies every column of the table) cost more than running it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _dialect(session: AsyncSession) -> str:
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
    stmt = _ignore_statement(_dialect(session), table, tuple(conflict))
    result = await session.execute(stmt, dict(values))
    return result.first() is not None


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
    stmt = _upsert_statement(_dialect(session), table, tuple(conflict), tuple(update))
    await session.execute(stmt, dict(values))
