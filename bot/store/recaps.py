"""The latest recaps of a community's meetings, for the public page."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.meetings import Meeting, Recap


async def latest_recaps(
    session: AsyncSession, community_id: int, limit: int, *, leave_out: Collection[str] = ()
) -> list[tuple[Recap, Meeting]]:
    """The newest recaps (by occurrence date), each with its meeting; `leave_out`: meeting keys."""
    query = (
        select(Recap, Meeting)
        .join(Meeting, Meeting.id == Recap.meeting_id)
        .where(Meeting.community_id == community_id)
        .order_by(Recap.occurrence_date.desc(), Recap.id.desc())
        .limit(limit)
    )
    if leave_out:
        query = query.where(Meeting.key.not_in(list(leave_out)))
    rows = await session.execute(query)
    return [(recap, meeting) for recap, meeting in rows.all()]
