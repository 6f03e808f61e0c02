"""Community rows beyond the config's: those created when a workspace installed the bot or
the bot joined a guild, their own settings, and the places the bot was removed from.

The runtime side (which community a place belongs to, kept in memory) is
bot/runtime/communities.py; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Community, CommunityOrigin, Delivery, DeliveryState


def created_key(origin: CommunityOrigin, place_id: str) -> str:
    """`slack-<team_id>` / `discord-<guild_id>`: lower case, as a URL path segment."""
    return f"{origin.value}-{place_id.lower()}"


def place_name(platform: str, place_id: str) -> str:
    """How a place is written in `left_places`: "slack:T012ABCDEF", "discord:1234…"."""
    return f"{platform}:{place_id}"


async def everyone(session: AsyncSession) -> Sequence[Community]:
    """Every community row, config ones included (read at start)."""
    rows = await session.scalars(select(Community).order_by(Community.id))
    return rows.all()


async def revisions(session: AsyncSession) -> dict[int, int]:
    """Every community's revision by id: what a refresh compares before reading any row."""
    rows = await session.execute(select(Community.id, Community.revision))
    return {row_id: revision for row_id, revision in rows.all()}


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> Sequence[Community]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Community).where(Community.id.in_(ids)).order_by(Community.id)
    )
    return rows.all()


async def by_key(session: AsyncSession, key: str) -> Community | None:
    return await session.scalar(select(Community).where(Community.key == key))


async def join(
    session: AsyncSession,
    origin: CommunityOrigin,
    place_id: str,
    name: str,
    maintainer: str | None,
    now: datetime,
) -> Community:
    """The created community of `place_id`: new, or re-activated as it was when it left.

    `maintainer` (the person who installed) is added to its maintainers. Two replicas
    joining the same place at once make one row: the key is unique.
    """
    key = created_key(origin, place_id)
    row = await by_key(session, key)
    if row is None:
        try:
            async with session.begin_nested():
                row = Community(
                    key=key,
                    name=name.strip()[:100] or place_id,
                    timezone="UTC",
                    created_at=now,
                    origin=origin,
                    place_id=place_id,
                    active=True,
                    left_places=[],
                    own_settings={"maintainers": [maintainer] if maintainer else []},
                    updated_at=now,
                    revision=1,
                )
                session.add(row)
                await session.flush()
                return row
        except IntegrityError:
            row = await by_key(session, key)
            assert row is not None
    own = dict(row.own_settings or {})
    maintainers = list(own.get("maintainers", []))
    if maintainer and maintainer not in maintainers:
        own["maintainers"] = [*maintainers, maintainer]
    if not row.active or own != row.own_settings or (name.strip() and row.name != name[:100]):
        row.active = True
        row.own_settings = own
        row.name = name.strip()[:100] or row.name
        _changed(row, now)
    return row


async def rejoin_place(session: AsyncSession, community_id: int, place: str, now: datetime) -> None:
    """A config community's workspace or guild is back: its sends resume."""
    row = await session.get(Community, community_id)
    if row is not None and place in (row.left_places or []):
        row.left_places = [p for p in row.left_places if p != place]
        _changed(row, now)


async def leave(
    session: AsyncSession,
    community_id: int,
    place: str,
    now: datetime,
    *,
    whole: bool,
    fail: str | None,
) -> int:
    """The bot was removed from `place` ("slack:T012…"): a created community (`whole`) is
    marked inactive, a config one remembers the place. With `fail` (the reason), the
    community's pending deliveries on that platform fail, never to be retried. Returns how
    many failed."""
    row = await session.get(Community, community_id)
    if row is None:
        return 0
    if whole:
        row.active = False
    elif place not in (row.left_places or []):
        row.left_places = [*(row.left_places or []), place]
    _changed(row, now)
    if fail is None:
        return 0
    platform = place.partition(":")[0]
    return await fail_pending(session, community_id, platform, now, fail)


async def fail_pending(
    session: AsyncSession, community_id: int, platform: str, now: datetime, reason: str
) -> int:
    """Fail the pending deliveries of a community on one platform (they cannot be sent)."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.community_id == community_id,
            Delivery.platform == platform,
            Delivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.FAILED, last_error=reason[:1000], updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def own_settings_for_update(session: AsyncSession, community_id: int) -> dict[str, Any]:
    """A community's own settings as stored now, locked until this transaction ends, so a
    change made on another replica a moment ago is built on, not overwritten."""
    own = await session.scalar(
        select(Community.own_settings).where(Community.id == community_id).with_for_update()
    )
    return dict(own or {})


async def save_own_settings(
    session: AsyncSession, community_id: int, own: dict[str, Any], now: datetime
) -> None:
    """Store what a created community's maintainers set; other replicas reload it."""
    await session.execute(
        update(Community)
        .where(Community.id == community_id)
        .values(own_settings=own, updated_at=now, revision=Community.revision + 1)
    )


def _changed(row: Community, now: datetime) -> None:
    row.updated_at = now
    row.revision = Community.revision + 1  # in SQL: two writers both count
