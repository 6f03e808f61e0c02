"""Which platform event stands for which meeting's occurrence (Discord Scheduled Events).

One row per (meeting, platform, place): the event the bot made there for the meeting's
current occurrence. The unique key makes the row itself the claim on creating that event, and
the row's lease lets exactly one replica change it at a time, so restarts and replicas never
make a second event.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base
from bot.store.upsert import insert_ignore


class MeetingEvent(Base):
    __tablename__ = "meeting_events"
    __table_args__ = (UniqueConstraint("meeting_id", "platform", "place"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    place: Mapped[str] = mapped_column(String(64))  # the guild id
    # The occurrence (its scheduled local date) the event is for; None before the first one.
    occurrence: Mapped[date | None] = mapped_column(Date)
    # None while being created (or if a create was interrupted: see the adoption rule).
    event_id: Mapped[str | None] = mapped_column(String(64))
    # A digest of the fields last written, to tell a hand edit from a change of ours.
    written: Mapped[str | None] = mapped_column(String(64))
    ends_at: Mapped[datetime | None]
    interested: Mapped[int | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


async def events_in(
    session: AsyncSession, community_id: int, platform: str, place: str
) -> list[MeetingEvent]:
    return list(
        (
            await session.scalars(
                select(MeetingEvent)
                .where(
                    MeetingEvent.community_id == community_id,
                    MeetingEvent.platform == platform,
                    MeetingEvent.place == place,
                )
                .order_by(MeetingEvent.meeting_id)
            )
        ).all()
    )


async def event_of(
    session: AsyncSession, meeting_id: int, platform: str, place: str
) -> MeetingEvent | None:
    return await session.scalar(
        select(MeetingEvent).where(
            MeetingEvent.meeting_id == meeting_id,
            MeetingEvent.platform == platform,
            MeetingEvent.place == place,
        )
    )


async def claim_event(
    session: AsyncSession,
    community_id: int,
    meeting_id: int,
    platform: str,
    place: str,
    worker: str,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Take the row for (meeting, platform, place), making it if needed; False if another
    worker holds it. The insert and the conditional update are each atomic."""
    inserted = await insert_ignore(
        session,
        MeetingEvent.__table__,  # type: ignore[arg-type]
        {
            "community_id": community_id,
            "meeting_id": meeting_id,
            "platform": platform,
            "place": place,
            "claimed_by": worker,
            "lease_until": lease_until,
            "created_at": now,
            "updated_at": now,
        },
        ("meeting_id", "platform", "place"),
    )
    if inserted:
        return True
    result = await session.execute(
        update(MeetingEvent)
        .where(
            MeetingEvent.meeting_id == meeting_id,
            MeetingEvent.platform == platform,
            MeetingEvent.place == place,
            or_(
                MeetingEvent.claimed_by.is_(None),
                MeetingEvent.claimed_by == worker,
                MeetingEvent.lease_until < now,
            ),
        )
        .values(claimed_by=worker, lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
