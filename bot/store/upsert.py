"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike (SQLAlchemy has one per dialect)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def insert_ignore(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
) -> bool:
    """Insert unless a row with the same `conflict` columns exists; True if this call inserted."""
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(stmt.returning(*(table.c[c] for c in conflict)))
    return result.first() is not None


async def upsert(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert, or update the `update` columns of the row with the same `conflict` columns."""
    stmt = _insert(session, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=conflict, set_={c: stmt.excluded[c] for c in update}
    )
    await session.execute(stmt)
