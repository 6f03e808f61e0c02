"""The config's communities as rows: each created or updated by its key, all of them in a
few statements (a deployment of a thousand communities starts with one read, not a thousand).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Community


class Declared(NamedTuple):
    key: str
    name: str
    timezone: str


class Stored(NamedTuple):
    id: int
    # "<platform>:<id>" of each workspace or guild that removed the bot (see store.communities).
    left_places: frozenset[str]


async def ensure_communities(
    session: AsyncSession, declared: Sequence[Declared], now: datetime
) -> dict[str, Stored]:
    """Each declared community's row id and left places by key: new rows inserted, a changed
    name or zone written, an unchanged row left alone."""
    keys = [d.key for d in declared]
    stored = await _stored(session, keys)
    missing = [d for d in declared if d.key not in stored]
    if missing:
        await session.execute(
            insert(Community),
            [
                {"key": d.key, "name": d.name, "timezone": d.timezone, "created_at": now}
                for d in missing
            ],
        )
        stored.update(await _stored(session, [d.key for d in missing]))
    changed = [
        {"row_id": stored[d.key][0], "name": d.name, "timezone": d.timezone}
        for d in declared
        if stored[d.key][1:3] != (d.name, d.timezone)
    ]
    if changed:
        table = Community.__table__
        conn = await session.connection()
        await conn.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(name=bindparam("name"), timezone=bindparam("timezone")),
            changed,
        )
    return {key: Stored(row[0], frozenset(row[3] or ())) for key, row in stored.items()}


async def _stored(
    session: AsyncSession, keys: list[str]
) -> dict[str, tuple[int, str, str, list[str] | None]]:
    rows = await session.execute(
        select(
            Community.key, Community.id, Community.name, Community.timezone, Community.left_places
        ).where(Community.key.in_(keys))
    )
    return {key: (row_id, name, zone, left) for key, row_id, name, zone, left in rows.all()}
