"""Surveys' tables and their repository functions.

What is stored about a member is deliberately small: a random token per member and survey,
when their link was handed to them, when it was first opened, and what they answered to a
nudge (done / not interested / later). Never answers, addresses or browser details.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.store.models import Base, Delivery, DeliveryState, Member
from bot.store.upsert import insert_ignore

# 24 random bytes: 192 bits, far beyond guessing, and 32 URL-safe characters.
TOKEN_BYTES = 24
NUDGE_KIND = "survey_nudge"
REMINDER_KIND = "survey_reminder"


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("community_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # The name case-folded: "2026 Survey" and "2026 survey" are one survey.
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    opens_at: Mapped[datetime | None]
    # The end of the `closes` day in the community's zone.
    closes_at: Mapped[datetime | None]
    remind_every_minutes: Mapped[int]
    max_nudges: Mapped[int]
    # Delivery targets ("slack:channel:C1") for the channel reminders; empty: every
    # announce channel.
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    from_config: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Closed early by a maintainer; a config sync never reopens it.
    closed_at: Mapped[datetime | None]

    def is_open(self, now: datetime) -> bool:
        return (
            self.closed_at is None
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )

    def is_over(self, now: datetime) -> bool:
        return self.closed_at is not None or (self.closes_at is not None and now >= self.closes_at)

    @property
    def subject(self) -> str:
        """The deliveries' subject for this survey."""
        return f"survey:{self.id}"


class SurveyLink(Base):
    """One member's personal tracked link to one survey."""

    __tablename__ = "survey_links"
    __table_args__ = (UniqueConstraint("survey_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    # When /survey showed it to them (a sent nudge also counts as reaching them).
    handed_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]  # they pressed "Done"
    declined_at: Mapped[datetime | None]  # they pressed "Not interested"
    snoozed_until: Mapped[datetime | None]  # they pressed "Remind me later"


class SurveyMute(Base):
    """A person who muted personal survey nudges: on every platform they are a member of."""

    __tablename__ = "survey_mutes"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    muted_at: Mapped[datetime]


def survey_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# -- surveys --


async def by_name(session: AsyncSession, community_id: int, name: str) -> Survey | None:
    return await session.scalar(
        select(Survey).where(Survey.community_id == community_id, Survey.key == survey_key(name))
    )


async def by_id(session: AsyncSession, community_id: int, survey_id: int) -> Survey | None:
    return await session.scalar(
        select(Survey).where(Survey.community_id == community_id, Survey.id == survey_id)
    )


async def open_surveys(session: AsyncSession, community_id: int, now: datetime) -> list[Survey]:
    """Surveys people can take now, soonest closing first."""
    rows = await session.scalars(
        select(Survey)
        .where(Survey.community_id == community_id, Survey.closed_at.is_(None))
        .order_by(Survey.closes_at.is_(None), Survey.closes_at, Survey.name)
    )
    return [s for s in rows if s.is_open(now)]


async def all_surveys(session: AsyncSession, community_id: int) -> list[Survey]:
    """Every survey, newest first."""
    rows = await session.scalars(
        select(Survey).where(Survey.community_id == community_id).order_by(Survey.id.desc())
    )
    return list(rows.all())


async def live_surveys(
    session: AsyncSession, community_ids: Collection[int], now: datetime
) -> list[Survey]:
    """Surveys of these communities open now or opening later: those whose reminders are
    still to be planned."""
    rows = await session.scalars(
        select(Survey)
        .where(Survey.community_id.in_(list(community_ids)), Survey.closed_at.is_(None))
        .order_by(Survey.id)
    )
    return [s for s in rows if not s.is_over(now)]


# -- links --


async def ensure_links(
    session: AsyncSession, survey_id: int, member_ids: list[int], now: datetime
) -> None:
    """Links for these members (one statement); existing links keep their tokens."""
    if not member_ids:
        return
    table = SurveyLink.__table__
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    await session.execute(
        insert.on_conflict_do_nothing(index_elements=("survey_id", "member_id")),
        [
            {
                "survey_id": survey_id,
                "member_id": member_id,
                "token": secrets.token_urlsafe(TOKEN_BYTES),
                "created_at": now,
            }
            for member_id in member_ids
        ],
    )


async def ensure_link(
    session: AsyncSession, survey_id: int, member_id: int, now: datetime
) -> SurveyLink:
    """The member's link to the survey, created with a fresh random token on first need."""
    await insert_ignore(
        session,
        SurveyLink.__table__,  # type: ignore[arg-type]
        {
            "survey_id": survey_id,
            "member_id": member_id,
            "token": secrets.token_urlsafe(TOKEN_BYTES),
            "created_at": now,
        },
        ("survey_id", "member_id"),
    )
    link = await link_for(session, survey_id, member_id)
    assert link is not None
    return link


async def link_for(session: AsyncSession, survey_id: int, member_id: int) -> SurveyLink | None:
    return await session.scalar(
        select(SurveyLink)
        .where(SurveyLink.survey_id == survey_id, SurveyLink.member_id == member_id)
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True, slots=True)
class Opened:
    url: str
    first: bool


async def open_link(
    session: AsyncSession, token: str, now: datetime, *, record: bool = True
) -> Opened | None:
    """The survey URL behind `token` (None when unknown), recording the first open.

    The conditional UPDATE makes two simultaneous first opens count once.
    """
    row = (
        await session.execute(
            select(SurveyLink.id, Survey.url)
            .join(Survey, Survey.id == SurveyLink.survey_id)
            .where(SurveyLink.token == token)
        )
    ).first()
    if row is None:
        return None
    first = False
    if record:
        result = await session.execute(
            update(SurveyLink)
            .where(SurveyLink.id == row.id, SurveyLink.opened_at.is_(None))
            .values(opened_at=now)
        )
        first = bool(result.rowcount)  # type: ignore[attr-defined]
    return Opened(row.url, first)


# -- mutes --


async def is_muted(session: AsyncSession, person_id: int) -> bool:
    return (
        await session.scalar(select(SurveyMute.person_id).where(SurveyMute.person_id == person_id))
        is not None
    )


async def mute(session: AsyncSession, community_id: int, person_id: int, now: datetime) -> bool:
    """True if this muted them (False: they already were)."""
    return await insert_ignore(
        session,
        SurveyMute.__table__,  # type: ignore[arg-type]
        {"person_id": person_id, "community_id": community_id, "muted_at": now},
        ("person_id",),
    )


async def unmute(session: AsyncSession, person_id: int) -> bool:
    row = await session.get(SurveyMute, person_id)
    if row is None:
        return False
    await session.delete(row)
    return True


# -- nudges and statistics --


async def nudges_sent(session: AsyncSession, survey: Survey, target: str) -> int:
    """How many personal nudges about `survey` went to `target`: the deliveries are the record."""
    count = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.kind == NUDGE_KIND,
            Delivery.subject == survey.subject,
            Delivery.target == target,
            Delivery.state == DeliveryState.SENT,
        )
    )
    return int(count or 0)


async def nudged_targets(session: AsyncSession, survey: Survey) -> set[str]:
    """Targets that already have this survey's nudges planned."""
    rows = await session.scalars(
        select(Delivery.target)
        .where(
            Delivery.kind == NUDGE_KIND,
            Delivery.subject == survey.subject,
            Delivery.occurrence.like("n%"),
        )
        .distinct()
    )
    return set(rows.all())


async def nudge_in_flight(
    session: AsyncSession, survey: Survey, target: str, delivery_id: int, since: datetime
) -> bool:
    """Whether another nudge to `target` is being sent now (lower id wins) or went out recently.

    Two nudges can fall due together (a snooze landing on a planned one); this keeps it to one.
    """
    other = await session.scalar(
        select(Delivery.id)
        .where(
            Delivery.kind == NUDGE_KIND,
            Delivery.subject == survey.subject,
            Delivery.target == target,
            Delivery.id != delivery_id,
            (
                (Delivery.state == DeliveryState.CLAIMED) & (Delivery.id < delivery_id)
                | (Delivery.state == DeliveryState.SENT) & (Delivery.sent_at > since)
            ),
        )
        .limit(1)
    )
    return other is not None


@dataclass(frozen=True, slots=True)
class SurveyStats:
    reached: int  # members handed their link, by /survey or a sent nudge
    opened: int  # members who opened their link (once each)
    opt_outs: int  # members who declined this survey or muted every survey nudge
    done: int  # members who pressed "Done"
    nudges: int  # personal nudges sent


async def stats(session: AsyncSession, survey: Survey) -> SurveyStats:
    sent_targets = set(
        (
            await session.scalars(
                select(Delivery.target).where(
                    Delivery.kind == NUDGE_KIND,
                    Delivery.subject == survey.subject,
                    Delivery.state == DeliveryState.SENT,
                )
            )
        ).all()
    )
    nudges = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.kind == NUDGE_KIND,
            Delivery.subject == survey.subject,
            Delivery.state == DeliveryState.SENT,
        )
    )
    rows = (
        await session.execute(
            select(
                Member.person_id,
                SurveyLink.handed_at,
                SurveyLink.opened_at,
                SurveyLink.done_at,
                SurveyLink.declined_at,
                Member.platform,
                Member.platform_user_id,
            )
            .join(Member, Member.id == SurveyLink.member_id)
            .where(SurveyLink.survey_id == survey.id)
        )
    ).all()
    muted = await muted_persons(session, survey.community_id)
    # Counted in persons: linked accounts on two platforms are one member here.
    reached = {
        r.person_id
        for r in rows
        if r.handed_at is not None
        or str(Target.dm(Platform(r.platform), r.platform_user_id)) in sent_targets
    }
    opened = {r.person_id for r in rows if r.opened_at is not None}
    declined = {r.person_id for r in rows if r.declined_at is not None}
    done = {r.person_id for r in rows if r.done_at is not None}
    return SurveyStats(
        len(reached), len(opened), len(declined | muted), len(done), int(nudges or 0)
    )


async def nudge_candidates(
    session: AsyncSession, community_id: int, platforms: list[str]
) -> list[Member]:
    """Members the bot knows (they used it themselves) on `platforms`, bots excluded."""
    rows = await session.scalars(
        select(Member)
        .where(
            Member.community_id == community_id,
            Member.known.is_(True),
            Member.is_bot.is_(False),
            Member.platform.in_(platforms),
        )
        # One order everywhere, so concurrent planners take row locks in the same order.
        .order_by(Member.id)
    )
    return list(rows.all())


def _stopped_persons(survey_id: int) -> Any:
    """Persons who opened, finished or declined this survey on any of their accounts."""
    return (
        select(Member.person_id)
        .join(SurveyLink, SurveyLink.member_id == Member.id)
        .where(
            SurveyLink.survey_id == survey_id,
            (SurveyLink.opened_at.is_not(None))
            | (SurveyLink.done_at.is_not(None))
            | (SurveyLink.declined_at.is_not(None)),
        )
    )


async def stopped_members(session: AsyncSession, survey_id: int) -> set[int]:
    """Members who need no more nudges about this survey: they, or another account of
    their person, opened, finished or declined it (one person, nudged on no platform)."""
    rows = await session.scalars(
        select(Member.id).where(Member.person_id.in_(_stopped_persons(survey_id)))
    )
    return set(rows.all())


async def person_stopped(session: AsyncSession, survey_id: int, person_id: int) -> bool:
    stopped = _stopped_persons(survey_id).where(Member.person_id == person_id).limit(1)
    return await session.scalar(stopped) is not None


async def muted_persons(session: AsyncSession, community_id: int) -> set[int]:
    rows = await session.scalars(
        select(SurveyMute.person_id).where(SurveyMute.community_id == community_id)
    )
    return set(rows.all())
