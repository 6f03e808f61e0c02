"""Community Hero tables and the queries over them: nominations, reviews, the hall of fame.

Nominations and reviews point at members. The hall keeps a snapshot of the Hero's name and
platform id as well, so it reads the same after the account is renamed or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    exists,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from bot.store.models import Base, Member
from bot.store.upsert import insert_ignore, upsert, upsert_in


class Decision(StrEnum):
    SHORTLISTED = "shortlisted"
    APPROVED = "approved"
    REJECTED = "rejected"


class HeroNomination(Base):
    """One nominator's nomination of one nominee in one cycle (nominating again replaces it)."""

    __tablename__ = "hero_nominations"
    __table_args__ = (
        UniqueConstraint("community_id", "cycle", "nominee_id", "nominator_id"),
        Index("ix_hero_nominations_nominator_updated", "nominator_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    cycle: Mapped[str] = mapped_column(String(16))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    nominator_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    # Hides the nominator from everything the bot shows or publishes.
    anonymous: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HeroReview(Base):
    """The maintainers' current decision on one nominee in one cycle."""

    __tablename__ = "hero_reviews"
    __table_args__ = (UniqueConstraint("community_id", "cycle", "nominee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    cycle: Mapped[str] = mapped_column(String(16))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime]


class HeroHallEntry(Base):
    """A cycle's announced Hero; its existence is what closes the cycle."""

    __tablename__ = "hero_hall"
    __table_args__ = (UniqueConstraint("community_id", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    cycle: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # Snapshots taken at announcement: the hall must not depend on the account living on.
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    citation: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str | None] = mapped_column(Text)
    nominators: Mapped[int] = mapped_column(default=0)
    announced_at: Mapped[datetime]
    announced_by: Mapped[str] = mapped_column(String(200), default="")


# -- nominations --

# The statements a nomination runs are built once: building one cost more than running it.
_NOMINATOR_STATE = select(
    func.count(HeroNomination.id).filter(
        HeroNomination.updated_at >= bindparam("since"),
        HeroNomination.nominee_id != bindparam("nominee_id"),
    ),
    func.max(
        case(
            (
                and_(
                    HeroNomination.community_id == bindparam("community_id"),
                    HeroNomination.cycle == bindparam("cycle"),
                    HeroNomination.nominee_id == bindparam("nominee_id"),
                ),
                HeroNomination.id,
            )
        )
    ),
    # Asked here, not apart: one round trip to the database fewer for every nomination.
    exists().where(
        HeroHallEntry.community_id == bindparam("community_id"),
        HeroHallEntry.cycle == bindparam("cycle"),
    ),
).where(HeroNomination.nominator_id == bindparam("nominator_id"))


@dataclass(frozen=True, slots=True)
class NominatorState:
    """What a new nomination must know about its nominator and its cycle, read in one query."""

    # Nominations of people other than this nominee, made or replaced since the window began.
    recent_others: int
    # Whether they already nominated this nominee in this cycle (a new one replaces it).
    already: bool
    # Whether the cycle already has its Hero (nominations then count toward a later one).
    announced: bool


@dataclass(frozen=True, slots=True)
class NewNomination:
    community_id: int
    cycle: str
    nominee_id: int
    nominator_id: int
    reason: str
    anonymous: bool
    at: datetime


async def nominate(
    session: AsyncSession,
    nomination: NewNomination,
    since: datetime,
    may_save: Callable[[NominatorState], bool],
) -> tuple[NominatorState, bool]:
    """Read the nominator's state (`since`: the start of their rate window) and, if `may_save`
    says so, insert the nomination or replace its reason; returns the state and whether it was
    saved. Both in one hand-off to SQLAlchemy's greenlet, which costs about as much as either
    statement.

    Saving is one statement (INSERT … ON CONFLICT DO UPDATE), so identical nominations racing
    each other leave one row and none of them fails.
    """
    return await session.run_sync(_nominate, nomination, since, may_save)


def _nominate(
    session: Session,
    nomination: NewNomination,
    since: datetime,
    may_save: Callable[[NominatorState], bool],
) -> tuple[NominatorState, bool]:
    row = (
        session.connection()
        .execute(
            _NOMINATOR_STATE,
            {
                "since": since,
                "nominee_id": nomination.nominee_id,
                "community_id": nomination.community_id,
                "cycle": nomination.cycle,
                "nominator_id": nomination.nominator_id,
            },
        )
        .one()
    )
    state = NominatorState(
        recent_others=int(row[0] or 0), already=row[1] is not None, announced=bool(row[2])
    )
    if not may_save(state):
        return state, False
    upsert_in(
        session,
        HeroNomination.__table__,  # type: ignore[arg-type]
        {
            "community_id": nomination.community_id,
            "cycle": nomination.cycle,
            "nominee_id": nomination.nominee_id,
            "nominator_id": nomination.nominator_id,
            "reason": nomination.reason,
            "anonymous": nomination.anonymous,
            "created_at": nomination.at,
            "updated_at": nomination.at,
        },
        ("community_id", "cycle", "nominee_id", "nominator_id"),
        ("reason", "anonymous", "updated_at"),
    )
    return state, True


@dataclass(frozen=True, slots=True)
class NominationRow:
    nomination: HeroNomination
    nominee: Member
    nominator: Member


async def nominations_in(
    session: AsyncSession, community_id: int, cycle: str, nominee_id: int | None = None
) -> list[NominationRow]:
    """A cycle's nominations (optionally of one nominee), oldest first."""
    nominee, nominator = aliased(Member), aliased(Member)
    query = (
        select(HeroNomination, nominee, nominator)
        .join(nominee, nominee.id == HeroNomination.nominee_id)
        .join(nominator, nominator.id == HeroNomination.nominator_id)
        .where(HeroNomination.community_id == community_id, HeroNomination.cycle == cycle)
        .order_by(HeroNomination.created_at, HeroNomination.id)
    )
    if nominee_id is not None:
        # Every linked account of the nominee's person: one person, one nominee.
        person = select(Member.person_id).where(Member.id == nominee_id).scalar_subquery()
        query = query.where(nominee.person_id == person)
    rows = await session.execute(query)
    return [NominationRow(n, a, b) for n, a, b in rows.all()]


# -- reviews --


async def set_review(
    session: AsyncSession,
    community_id: int,
    cycle: str,
    nominee_id: int,
    decision: Decision,
    reviewer_id: int,
    now: datetime,
) -> None:
    await upsert(
        session,
        HeroReview.__table__,  # type: ignore[arg-type]
        {
            "community_id": community_id,
            "cycle": cycle,
            "nominee_id": nominee_id,
            "decision": str(decision),
            "reviewer_id": reviewer_id,
            "reviewed_at": now,
        },
        ("community_id", "cycle", "nominee_id"),
        ("decision", "reviewer_id", "reviewed_at"),
    )


async def reviews_in(session: AsyncSession, community_id: int, cycle: str) -> dict[int, str]:
    """nominee member id → decision, for one cycle."""
    rows = await session.execute(
        select(HeroReview.nominee_id, HeroReview.decision).where(
            HeroReview.community_id == community_id, HeroReview.cycle == cycle
        )
    )
    return {nominee_id: decision for nominee_id, decision in rows.all()}


# -- the hall of fame --


async def hero_of(session: AsyncSession, community_id: int, cycle: str) -> HeroHallEntry | None:
    return await session.scalar(
        select(HeroHallEntry).where(
            HeroHallEntry.community_id == community_id, HeroHallEntry.cycle == cycle
        )
    )


_ANNOUNCED = select(HeroHallEntry.cycle).where(
    HeroHallEntry.community_id == bindparam("community_id"),
    HeroHallEntry.cycle.in_(bindparam("cycles", expanding=True)),
)


async def announced(session: AsyncSession, community_id: int, cycles: Sequence[str]) -> set[str]:
    """Which of `cycles` already have their Hero."""
    rows = await session.scalars(_ANNOUNCED, {"community_id": community_id, "cycles": list(cycles)})
    return set(rows.all())


async def add_to_hall(session: AsyncSession, values: dict[str, object]) -> HeroHallEntry | None:
    """Enter a cycle's Hero; None when that cycle already has one (someone was faster)."""
    inserted = await insert_ignore(
        session,
        HeroHallEntry.__table__,  # type: ignore[arg-type]
        values,
        ("community_id", "cycle"),
    )
    if not inserted:
        return None
    return await hero_of(session, int(values["community_id"]), str(values["cycle"]))  # type: ignore[call-overload]


async def hall(
    session: AsyncSession, community_id: int, limit: int | None = None
) -> list[HeroHallEntry]:
    """Past Heroes, newest cycle first."""
    query = (
        select(HeroHallEntry)
        .where(HeroHallEntry.community_id == community_id)
        .order_by(HeroHallEntry.cycle.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def all_nominations(session: AsyncSession, community_id: int) -> list[NominationRow]:
    """Every nomination of every cycle, for export."""
    nominee, nominator = aliased(Member), aliased(Member)
    rows = await session.execute(
        select(HeroNomination, nominee, nominator)
        .join(nominee, nominee.id == HeroNomination.nominee_id)
        .join(nominator, nominator.id == HeroNomination.nominator_id)
        .where(HeroNomination.community_id == community_id)
        .order_by(HeroNomination.cycle, HeroNomination.created_at, HeroNomination.id)
    )
    return [NominationRow(n, a, b) for n, a, b in rows.all()]
