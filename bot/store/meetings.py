"""Meetings' tables and their repository functions.

A meeting row holds the series (first start as local wall-clock text, zone, RRULE,
duration) and its presentation; occurrence-level facts (skips, moves, agenda items, recaps)
are rows keyed by the occurrence's scheduled local date, the name CONTRACT gives it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Member

LOCAL_START_FORMAT = "%Y-%m-%dT%H:%M"
# "Long ago": a row whose next occurrence or plan is due at this time is worked on at once.
# The default of new rows and of the rows migration 0006 found, so nothing is ever missed.
LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


class MeetingSource(StrEnum):
    CONFIG = "config"  # declared in [[meetings]]: declared fields are read-only via commands
    COMMAND = "command"


class MeetingState(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # by a maintainer's /meeting cancel
    ARCHIVED = "archived"  # removed from the config file; kept, never deleted


class OverrideKind(StrEnum):
    SKIP = "skip"
    MOVE = "move"


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("community_id", "key"),
        Index("ix_meetings_next", "community_id", "state", "next_start"),
        Index("ix_meetings_stale", "state", "next_stale_at"),
        Index("ix_meetings_plan", "state", "plan_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))  # the short id people type
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    rrule: Mapped[str | None] = mapped_column(String(300))
    # Naive local wall-clock time "YYYY-MM-DDTHH:MM" in `timezone` (not an instant: the
    # series is expanded in local time).
    local_start: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int]
    join_url: Mapped[str | None] = mapped_column(String(2000))
    register_url: Mapped[str | None] = mapped_column(String(2000))
    agenda_url: Mapped[str | None] = mapped_column(String(2000))
    reminders: Mapped[list[str]] = mapped_column(JSON, default=list)
    agenda_call: Mapped[str | None] = mapped_column(String(16))
    # None: the announce channels of that platform.
    slack_channels: Mapped[list[str] | None] = mapped_column(JSON)
    discord_channels: Mapped[list[str] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.ACTIVE)
    # Bumped whenever what calendars show changes (the feed's SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The hash of the config entry last applied: a restart compares hashes, not rows.
    declared_hash: Mapped[str | None] = mapped_column(String(64))
    # The occurrence in progress or next (precomputed, see features/meetings/upcoming.py),
    # true until `next_stale_at` (its end; far ahead when there is none).
    next_date: Mapped[date | None] = mapped_column(Date)
    next_start: Mapped[datetime | None]
    next_end: Mapped[datetime | None]
    next_moved: Mapped[bool] = mapped_column(default=False)
    next_stale_at: Mapped[datetime] = mapped_column(default=LONG_AGO)
    # When the reminder chain needs planning again (its soonest planned post); None: nothing
    # left to plan.
    plan_at: Mapped[datetime | None] = mapped_column(default=LONG_AGO)

    @property
    def active(self) -> bool:
        return self.state == MeetingState.ACTIVE


class MeetingOverride(Base):
    """One occurrence skipped or moved, named by its scheduled local date."""

    __tablename__ = "meeting_overrides"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    new_start: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AgendaItem(Base):
    __tablename__ = "meeting_agenda_items"
    __table_args__ = (
        Index("ix_meeting_agenda_items_occurrence", "meeting_id", "occurrence_date"),
        Index("ix_meeting_agenda_items_member_at", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Recap(Base):
    __tablename__ = "meeting_recaps"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    url: Mapped[str] = mapped_column(String(2000))
    notes: Mapped[str] = mapped_column(Text, default="")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # How many times it was posted: each (re)post is its own delivery.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    __tablename__ = "meeting_subscriptions"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


def local_start_of(meeting: Meeting) -> datetime:
    """The first start: a naive local wall-clock time in the meeting's zone."""
    return datetime.strptime(meeting.local_start, LOCAL_START_FORMAT)


def format_local_start(local: datetime) -> str:
    return local.strftime(LOCAL_START_FORMAT)


# --- queries ------------------------------------------------------------------------------------


async def get_meeting(session: AsyncSession, community_id: int, key: str) -> Meeting | None:
    return await session.scalar(
        select(Meeting).where(Meeting.community_id == community_id, Meeting.key == key)
    )


async def meetings_in_state(
    session: AsyncSession, community_id: int, *states: MeetingState
) -> list[Meeting]:
    query = select(Meeting).where(Meeting.community_id == community_id)
    if states:
        query = query.where(Meeting.state.in_([str(s) for s in states]))
    return list((await session.scalars(query.order_by(Meeting.key))).all())


async def overrides_of(
    session: AsyncSession, meeting_ids: list[int]
) -> dict[int, list[MeetingOverride]]:
    by_meeting: dict[int, list[MeetingOverride]] = {i: [] for i in meeting_ids}
    if not meeting_ids:
        return by_meeting
    rows = await session.scalars(
        select(MeetingOverride)
        .where(MeetingOverride.meeting_id.in_(meeting_ids))
        .order_by(MeetingOverride.occurrence_date)
    )
    for row in rows:
        by_meeting[row.meeting_id].append(row)
    return by_meeting


async def set_override(
    session: AsyncSession,
    meeting_id: int,
    day: date,
    kind: OverrideKind,
    new_start: datetime | None,
    now: datetime,
) -> None:
    """Record a skip or a move of one occurrence (replacing an earlier one of that date)."""
    await session.execute(
        delete(MeetingOverride).where(
            MeetingOverride.meeting_id == meeting_id, MeetingOverride.occurrence_date == day
        )
    )
    session.add(
        MeetingOverride(
            meeting_id=meeting_id,
            occurrence_date=day,
            kind=str(kind),
            new_start=new_start,
            created_at=now,
        )
    )
    await session.flush()


async def agenda_items(session: AsyncSession, meeting_id: int, day: date) -> list[AgendaItem]:
    """The occurrence's current agenda, oldest first (its numbering is the list order)."""
    return list(
        (
            await session.scalars(
                select(AgendaItem)
                .where(
                    AgendaItem.meeting_id == meeting_id,
                    AgendaItem.occurrence_date == day,
                    AgendaItem.removed_at.is_(None),
                )
                .order_by(AgendaItem.created_at, AgendaItem.id)
            )
        ).all()
    )


async def agenda_items_since(session: AsyncSession, member_id: int, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AgendaItem)
        .where(AgendaItem.member_id == member_id, AgendaItem.created_at >= since)
    )
    return int(count or 0)


async def get_recap(session: AsyncSession, meeting_id: int, day: date) -> Recap | None:
    return await session.scalar(
        select(Recap).where(Recap.meeting_id == meeting_id, Recap.occurrence_date == day)
    )


async def subscribers(session: AsyncSession, meeting_id: int) -> list[Member]:
    """One account per subscribed person: the one they subscribed from last.

    Linked accounts that both subscribed are one person, who gets each reminder once.
    """
    rows = await session.execute(
        select(Member, Subscription.created_at, Subscription.id)
        .join(Subscription, Subscription.member_id == Member.id)
        .where(Subscription.meeting_id == meeting_id)
        .order_by(Subscription.created_at, Subscription.id)
    )
    latest: dict[int, Member] = {}
    for member, _at, _id in rows.all():
        latest[member.person_id] = member  # oldest first: the last subscription wins
    return sorted(latest.values(), key=lambda m: m.id)


async def person_subscriptions(
    session: AsyncSession, meeting_id: int, person_id: int
) -> list[Member]:
    """The accounts of one person subscribed to the meeting."""
    rows = await session.scalars(
        select(Member)
        .join(Subscription, Subscription.member_id == Member.id)
        .where(Subscription.meeting_id == meeting_id, Member.person_id == person_id)
    )
    return list(rows.all())


async def get_subscription(
    session: AsyncSession, meeting_id: int, member_id: int
) -> Subscription | None:
    return await session.scalar(
        select(Subscription).where(
            Subscription.meeting_id == meeting_id, Subscription.member_id == member_id
        )
    )


def meeting_values(meeting: Meeting) -> dict[str, Any]:
    """The declared fields, for comparing a row with its config entry."""
    return {name: getattr(meeting, name) for name in DECLARED_FIELDS}


DECLARED_FIELDS = (
    "name",
    "description",
    "rrule",
    "local_start",
    "timezone",
    "duration_minutes",
    "join_url",
    "register_url",
    "agenda_url",
    "reminders",
    "agenda_call",
    "slack_channels",
    "discord_channels",
)
