"""Announcements: the text maintainers post to every announce channel, and its posted copies.

The copies themselves are `deliveries` rows (one per target, kind ANNOUNCE_KIND); their
`message_ref` is what edits and deletes act on. An announcement is never changed in place on a
platform by the command itself: edits and deletes are deliveries of their own kinds, so they
are retried and survive restarts like any post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Delivery, DeliveryState

ANNOUNCE_KIND = "announcement"
EDIT_KIND = "announcement_edit"
DELETE_KIND = "announcement_delete"
# The occurrence of the original post of each copy (edits use "edit:<version>").
POST_OCCURRENCE = "post"
DELETE_OCCURRENCE = "delete"


class AnnouncementState(StrEnum):
    ACTIVE = "active"  # scheduled or posted
    CANCELLED = "cancelled"  # called off before any copy went out
    DELETED = "deleted"  # its posted copies are being (or were) removed


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_community_due", "community_id", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    author_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    author_name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    ping: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime]
    # True when a time was given with --at (a scheduled announcement), False for "now".
    scheduled: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default=AnnouncementState.ACTIVE)
    # Bumped by every edit; an edit delivery older than the current version has nothing to do.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


def subject_of(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


def id_of(subject: str) -> int | None:
    prefix, _, ident = subject.partition(":")
    return int(ident) if prefix == "announcement" and ident.isdigit() else None


async def create(
    session: AsyncSession,
    community_id: int,
    *,
    author_member_id: int,
    author_name: str,
    platform: str,
    text: str,
    ping: bool,
    due_at: datetime,
    scheduled: bool,
    now: datetime,
) -> Announcement:
    row = Announcement(
        community_id=community_id,
        author_member_id=author_member_id,
        author_name=author_name[:200],
        platform=platform,
        text=text,
        ping=ping,
        due_at=due_at,
        scheduled=scheduled,
        state=AnnouncementState.ACTIVE,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get(
    session: AsyncSession, community_id: int, announcement_id: int
) -> Announcement | None:
    return await session.scalar(
        select(Announcement).where(
            Announcement.community_id == community_id, Announcement.id == announcement_id
        )
    )


async def get_for_update(
    session: AsyncSession, community_id: int, announcement_id: int
) -> Announcement | None:
    """The row, locked on PostgreSQL so two edits of one announcement queue up."""
    return await session.scalar(
        select(Announcement)
        .where(Announcement.community_id == community_id, Announcement.id == announcement_id)
        .with_for_update()
    )


async def listed(session: AsyncSession, community_id: int, limit: int) -> Sequence[Announcement]:
    """Active and recently ended announcements, newest first (by creation, not due time)."""
    rows = await session.scalars(
        select(Announcement)
        .where(Announcement.community_id == community_id)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(limit)
    )
    return rows.all()


async def copies(session: AsyncSession, announcement_id: int) -> Sequence[Delivery]:
    """The posts of one announcement, one per target."""
    rows = await session.scalars(
        select(Delivery)
        .where(
            Delivery.kind == ANNOUNCE_KIND,
            Delivery.subject == subject_of(announcement_id),
            Delivery.occurrence == POST_OCCURRENCE,
        )
        .order_by(Delivery.id)
    )
    return rows.all()


async def copies_of(
    session: AsyncSession, announcement_ids: Sequence[int]
) -> dict[int, list[Delivery]]:
    """The posts of several announcements at once (for /announce list)."""
    if not announcement_ids:
        return {}
    rows = await session.scalars(
        select(Delivery)
        .where(
            Delivery.kind == ANNOUNCE_KIND,
            Delivery.subject.in_([subject_of(i) for i in announcement_ids]),
            Delivery.occurrence == POST_OCCURRENCE,
        )
        .order_by(Delivery.id)
    )
    out: dict[int, list[Delivery]] = {i: [] for i in announcement_ids}
    for row in rows:
        ident = id_of(row.subject)
        if ident is not None:
            out.setdefault(ident, []).append(row)
    return out


async def copy_at(session: AsyncSession, subject: str, target: str) -> Delivery | None:
    """The original post of `subject` to `target`, whose message_ref edits and deletes use."""
    return await session.scalar(
        select(Delivery).where(
            Delivery.kind == ANNOUNCE_KIND,
            Delivery.subject == subject,
            Delivery.occurrence == POST_OCCURRENCE,
            Delivery.target == target,
        )
    )


async def skip_pending(session: AsyncSession, announcement_id: int, why: str, now: datetime) -> int:
    """Stop copies that have not gone out yet; returns how many were stopped."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.kind == ANNOUNCE_KIND,
            Delivery.subject == subject_of(announcement_id),
            Delivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.SKIPPED, last_error=why, updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Tally:
    """How the copies of one announcement stand."""

    sent: int = 0
    waiting: int = 0  # pending or being sent
    failed: int = 0
    skipped: int = 0
    last_error: str | None = None

    @property
    def total(self) -> int:
        return self.sent + self.waiting + self.failed + self.skipped


def tally(rows: Sequence[Delivery]) -> Tally:
    sent = sum(r.state == DeliveryState.SENT for r in rows)
    waiting = sum(r.state in (DeliveryState.PENDING, DeliveryState.CLAIMED) for r in rows)
    failed = [r for r in rows if r.state == DeliveryState.FAILED]
    skipped = sum(r.state == DeliveryState.SKIPPED for r in rows)
    return Tally(sent, waiting, len(failed), skipped, failed[-1].last_error if failed else None)
