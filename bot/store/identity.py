"""One person on every platform: link codes, merging persons, unlinking, export and forget.

Data rows keep pointing at the member (the account) that made them; what makes two accounts
one person is `members.person_id`, and the features' queries read through it. So linking
moves accounts, never their rows, and is one short transaction: a crash leaves either two
persons or one. Person-level state (the zone, the survey mute) is merged by rules that are
associative, so the order in which three accounts are linked does not change the result.

Link codes and export tokens are stored as SHA-256 hashes only: the database alone cannot
be used to link an account or read someone's data.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.invocation import Platform
from bot.core.targets import Target
from bot.store.announcements import Announcement
from bot.store.heroes import HeroHallEntry, HeroNomination, HeroReview
from bot.store.meetings import AgendaItem, Meeting, Recap, Subscription
from bot.store.members import MemberRow
from bot.store.models import AuditEntry, Base, Confirmation, Delivery, Member, Person
from bot.store.surveys import Survey, SurveyLink, SurveyMute

CODE_TTL = timedelta(minutes=15)
EXPORT_TTL = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(hours=1)
MAX_FAILURES = 5
# Kept a day, so the hour the rate limit looks at is always there and little else is.
FAILURE_RETENTION = timedelta(days=1)
# No 0/O or 1/I look-alikes would be kinder, but the contract says capitals and digits.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
CODE_SHAPE = re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$")
DELETED = "a deleted member"


class LinkCode(Base):
    """A one-time code an account made to be linked from another account."""

    __tablename__ = "identity_link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LinkFailure(Base):
    """One wrong code typed by a member: five within an hour stop their attempts."""

    __tablename__ = "identity_link_failures"
    __table_args__ = (Index("ix_identity_link_failures_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(index=True)


class ExportToken(Base):
    """A short-lived token for GET /me/<token>, which serves the person's data."""

    __tablename__ = "identity_export_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # The Slack workspace the asker typed mydata in, shown beside Slack user ids.
    team_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_code(typed: str) -> str | None:
    """`abcd-1234`, `ABCD1234` → `ABCD-1234`; None for anything that is not a code's shape."""
    text = typed.strip().upper()
    if not CODE_SHAPE.match(text):
        return None
    text = text.replace("-", "")
    return f"{text[:4]}-{text[4:]}"


# -- accounts of a person --


async def accounts_of(session: AsyncSession, person_id: int) -> list[Member]:
    rows = await session.scalars(
        select(Member).where(Member.person_id == person_id).order_by(Member.id)
    )
    return list(rows.all())


def dm_target(member: Member) -> Target:
    return Target.dm(Platform(member.platform), member.platform_user_id)


# -- link codes --


async def new_code(session: AsyncSession, community_id: int, member_id: int, now: datetime) -> str:
    """A fresh code for this account (replacing any earlier one it made)."""
    await session.execute(delete(LinkCode).where(LinkCode.member_id == member_id))
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    session.add(
        LinkCode(
            code_hash=digest(code),
            community_id=community_id,
            member_id=member_id,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    await session.flush()
    return code


@dataclass(frozen=True, slots=True)
class Linked:
    maker: Member  # the account that made the code, to be told
    person_id: int


@dataclass(frozen=True, slots=True)
class Refused:
    sentence: str
    # A wrong guess, recorded for the rate limit (so the transaction must commit).
    counted: bool = False


async def failures_since(session: AsyncSession, member_id: int, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(LinkFailure)
        .where(LinkFailure.member_id == member_id, LinkFailure.at >= since)
    )
    return int(count or 0)


async def redeem(
    session: AsyncSession, community_id: int, member: MemberRow, typed: str, now: datetime
) -> Linked | Refused:
    """Link `member` to the account that made the code `typed`, or say why not."""
    if await failures_since(session, member.id, now - FAILURE_WINDOW) >= MAX_FAILURES:
        return Refused("Too many wrong codes from this account in the last hour; try again later.")
    code = normalize_code(typed)
    row = None
    if code is not None:
        row = await session.scalar(
            select(LinkCode).where(
                LinkCode.code_hash == digest(code), LinkCode.community_id == community_id
            )
        )
    if row is None or row.expires_at <= now:
        session.add(LinkFailure(community_id=community_id, member_id=member.id, at=now))
        return Refused(
            "That code is unknown, expired or already used; make a new one with link on "
            "your other account.",
            counted=True,
        )
    if row.member_id == member.id:
        return Refused("That code was made by this account; type it on your other account.")
    maker = await session.get(Member, row.member_id)
    assert maker is not None
    if maker.person_id == member.person_id:
        return Refused("These two accounts are already linked.")
    if len(await accounts_of(session, member.person_id)) > 1:
        return Refused(
            "This account is already linked to another person's accounts; unlink it first."
        )
    # Single use: of two attempts at once, only the one whose DELETE removed the row links.
    gone = await session.execute(delete(LinkCode).where(LinkCode.code_hash == row.code_hash))
    if not gone.rowcount:  # type: ignore[attr-defined]
        session.add(LinkFailure(community_id=community_id, member_id=member.id, at=now))
        return Refused(
            "That code is unknown, expired or already used; make a new one with link on "
            "your other account.",
            counted=True,
        )
    await merge_persons(session, maker.person_id, member.person_id)
    # The person and zone the merge gave this account.
    member.person_id, member.timezone = (
        await session.execute(
            select(Member.person_id, Member.timezone).where(Member.id == member.id)
        )
    ).one()
    return Linked(maker, maker.person_id)


# -- merging --


def _zone_key(person: Person, zone: str | None) -> tuple[datetime, str]:
    # The most recently set zone wins; the zone's name breaks ties, so the rule is a max
    # over a total order and therefore associative and commutative.
    return (person.timezone_set_at or datetime.min.replace(tzinfo=None), zone or "")


def _comparable(key: tuple[datetime, str]) -> tuple[float, str]:
    at, zone = key
    return (at.timestamp() if at.tzinfo is not None else float("-inf"), zone)


async def merge_persons(session: AsyncSession, keep_id: int, gone_id: int) -> None:
    """Make `gone_id`'s accounts part of `keep_id` and delete `gone_id`, in this transaction.

    Zone: the one set most recently. Survey mute: the union. Subscriptions, survey links and
    nominations stay on their accounts (the features read them per person).
    """
    keep = await session.get(Person, keep_id)
    gone = await session.get(Person, gone_id)
    assert keep is not None and gone is not None and keep.community_id == gone.community_id
    keep_zone = await _zone_of_person(session, keep_id)
    gone_zone = await _zone_of_person(session, gone_id)
    best_set_at, best_zone = keep.timezone_set_at, keep_zone
    if _comparable(_zone_key(gone, gone_zone)) > _comparable(_zone_key(keep, keep_zone)):
        best_set_at, best_zone = gone.timezone_set_at, gone_zone
    gone_mute = await session.get(SurveyMute, gone_id)
    keep_mute = await session.get(SurveyMute, keep_id)
    if gone_mute is not None:
        if keep_mute is None:
            session.add(
                SurveyMute(
                    person_id=keep_id, community_id=keep.community_id, muted_at=gone_mute.muted_at
                )
            )
        else:
            keep_mute.muted_at = min(keep_mute.muted_at, gone_mute.muted_at)
        await session.delete(gone_mute)
    await session.execute(
        update(Member)
        .where(Member.person_id.in_((keep_id, gone_id)))
        .values(person_id=keep_id, timezone=best_zone)
        .execution_options(synchronize_session="fetch")
    )
    # A token made before the link would otherwise open the other account's data.
    await session.execute(delete(ExportToken).where(ExportToken.person_id == gone_id))
    keep.timezone_set_at = best_set_at
    await session.flush()
    await session.delete(gone)
    await session.flush()


async def _zone_of_person(session: AsyncSession, person_id: int) -> str | None:
    zones = await session.scalars(
        select(Member.timezone)
        .where(Member.person_id == person_id, Member.timezone.is_not(None))
        .order_by(Member.last_seen_at.desc(), Member.id.desc())
    )
    return zones.first()


# -- unlinking --


async def unlink(session: AsyncSession, member: MemberRow, now: datetime) -> Member | None:
    """Take `member` out of its person; None when it has no other account.

    The person keeps its data: this account's subscriptions, survey links, agenda items and
    nominations move to the person's remaining account seen most recently, and the account
    starts as a new person with no zone, no mute and nothing else.
    """
    others = [m for m in await accounts_of(session, member.person_id) if m.id != member.id]
    if not others:
        return None
    heir = max(others, key=lambda m: (m.last_seen_at, m.id))
    await _reassign(session, Subscription, "member_id", ("meeting_id",), member.id, heir.id)
    await _reassign(session, SurveyLink, "member_id", ("survey_id",), member.id, heir.id)
    await _reassign(session, AgendaItem, "member_id", (), member.id, heir.id)
    await _reassign(
        session,
        HeroNomination,
        "nominator_id",
        ("community_id", "cycle", "nominee_id"),
        member.id,
        heir.id,
    )
    await _reassign(
        session,
        HeroNomination,
        "nominee_id",
        ("community_id", "cycle", "nominator_id"),
        member.id,
        heir.id,
    )
    await _reassign(
        session, HeroReview, "nominee_id", ("community_id", "cycle"), member.id, heir.id
    )
    await session.execute(delete(LinkCode).where(LinkCode.member_id == member.id))
    await session.execute(delete(ExportToken).where(ExportToken.member_id == member.id))
    person = Person(community_id=member.community_id, created_at=now)
    session.add(person)
    await session.flush()
    # The account's row as accounts_of loaded it (no statement: the session holds it).
    held = await session.get(Member, member.id)
    assert held is not None
    held.person_id, held.timezone = person.id, None
    await session.flush()
    member.person_id, member.timezone = person.id, None
    return heir


async def _reassign(
    session: AsyncSession,
    model: type[Base],
    column: str,
    unique: Sequence[str],
    old: int,
    new: int,
) -> None:
    """Point `model.column` from `old` to `new`; a row `new` already has the twin of goes."""
    col = getattr(model, column)
    rows = list((await session.scalars(select(model).where(col == old))).all())
    for row in rows:
        if unique:
            twin = await session.scalar(
                select(model).where(
                    col == new, *(getattr(model, u) == getattr(row, u) for u in unique)
                )
            )
            if twin is not None:
                if isinstance(row, SurveyLink) and isinstance(twin, SurveyLink):
                    for field in ("handed_at", "opened_at", "done_at", "declined_at"):
                        if getattr(twin, field) is None:
                            setattr(twin, field, getattr(row, field))
                await session.delete(row)
                await session.flush()
                continue
        setattr(row, column, new)
        await session.flush()


# -- zone --


_MEMBERS, _PERSONS = Member.__table__, Person.__table__
# Core statements on the tables: the ORM's bulk UPDATE (its synchronize step and the
# compile state it builds per call) cost several times the statement itself.
_SET_ACCOUNTS_ZONE = (
    update(_MEMBERS)
    .where(_MEMBERS.c.person_id == bindparam("person"))
    .values(timezone=bindparam("zone"))
)
_SET_PERSON_ZONE_AT = (
    update(_PERSONS)
    .where(_PERSONS.c.id == bindparam("person"))
    .values(timezone_set_at=bindparam("at"))
)


async def set_person_zone(
    session: AsyncSession, member: MemberRow, zone: str, now: datetime
) -> None:
    """A zone set on one account holds on every account of the person."""
    assert member.person_id is not None, "a stand-in has no person to set a zone on"
    await session.run_sync(_set_person_zone, member.person_id, zone, now)
    member.timezone = zone


def _set_person_zone(session: Session, person_id: int, zone: str, now: datetime) -> None:
    # Both UPDATEs in one hand-off to SQLAlchemy's greenlet, which costs about as much as one.
    conn = session.connection()
    conn.execute(_SET_ACCOUNTS_ZONE, {"person": person_id, "zone": zone})
    conn.execute(_SET_PERSON_ZONE_AT, {"person": person_id, "at": now})
    # The rows this session holds now say what the database says, without another UPDATE.
    for held in session.identity_map.values():
        if isinstance(held, Member) and held.person_id == person_id:
            set_committed_value(held, "timezone", zone)
        elif isinstance(held, Person) and held.id == person_id:
            set_committed_value(held, "timezone_set_at", now)


# -- what the bot holds about a person --


async def subscribed_meetings(session: AsyncSession, person_id: int) -> list[tuple[Meeting, str]]:
    """The meetings the person subscribed to, each with the platform its reminders go to."""
    rows = await session.execute(
        select(Meeting, Member.platform, Subscription.created_at, Subscription.id)
        .join(Subscription, Subscription.meeting_id == Meeting.id)
        .join(Member, Member.id == Subscription.member_id)
        .where(Member.person_id == person_id)
        .order_by(Meeting.key, Subscription.created_at, Subscription.id)
    )
    latest: dict[int, tuple[Meeting, str]] = {}
    for meeting, platform, _at, _id in rows.all():
        latest[meeting.id] = (meeting, platform)  # ordered oldest first: the last one wins
    return list(latest.values())


def _when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _account(member: Member) -> dict[str, Any]:
    account: dict[str, Any] = {
        "platform": member.platform,
        "user_id": member.platform_user_id,
        "display_name": member.display_name,
        "first_seen_at": _when(member.first_seen_at),
        "last_seen_at": _when(member.last_seen_at),
    }
    return account


async def export(session: AsyncSession, person_id: int, team_id: str | None) -> dict[str, Any]:
    """Everything stored about the person, as JSON-ready values (see COVERAGE)."""
    person = await session.get(Person, person_id)
    members = await accounts_of(session, person_id)
    ids = [m.id for m in members]
    targets = [str(dm_target(m)) for m in members]
    accounts = []
    for m in members:
        account = _account(m)
        if m.platform == Platform.SLACK and team_id:
            account["team_id"] = team_id
        accounts.append(account)
    names = {m.id: m.display_name or m.platform_user_id for m in members}

    async def all_of(query: Any) -> list[Any]:
        return list((await session.execute(query)).all())

    made = await all_of(
        select(HeroNomination, Member)
        .join(Member, Member.id == HeroNomination.nominee_id)
        .where(HeroNomination.nominator_id.in_(ids))
        .order_by(HeroNomination.id)
    )
    received = await all_of(
        select(HeroNomination, Member)
        .join(Member, Member.id == HeroNomination.nominator_id)
        .where(HeroNomination.nominee_id.in_(ids))
        .order_by(HeroNomination.id)
    )
    links = await all_of(
        select(SurveyLink, Survey.name)
        .join(Survey, Survey.id == SurveyLink.survey_id)
        .where(SurveyLink.member_id.in_(ids))
        .order_by(SurveyLink.id)
    )
    agenda = await all_of(
        select(AgendaItem, Meeting.key)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.member_id.in_(ids))
        .order_by(AgendaItem.id)
    )
    recaps = await all_of(
        select(Recap, Meeting.key)
        .join(Meeting, Meeting.id == Recap.meeting_id)
        .where(Recap.member_id.in_(ids))
        .order_by(Recap.id)
    )
    subs = await subscribed_meetings(session, person_id)
    muted = await session.get(SurveyMute, person_id) is not None
    zone = members[0].timezone if members else None

    def scalars(query: Any) -> Any:
        return session.scalars(query)

    reviews = (await scalars(select(HeroReview).where(HeroReview.reviewer_id.in_(ids)))).all()
    hall = (await scalars(select(HeroHallEntry).where(HeroHallEntry.member_id.in_(ids)))).all()
    meetings = (await scalars(select(Meeting).where(Meeting.created_by.in_(ids)))).all()
    surveys = (await scalars(select(Survey).where(Survey.created_by.in_(ids)))).all()
    posts = (
        await scalars(select(Announcement).where(Announcement.author_member_id.in_(ids)))
    ).all()
    audit = (
        await scalars(
            select(AuditEntry).where(AuditEntry.member_id.in_(ids)).order_by(AuditEntry.id)
        )
    ).all()
    deliveries = (
        await scalars(select(Delivery).where(Delivery.target.in_(targets)).order_by(Delivery.id))
    ).all()
    confirmations = (
        await scalars(
            select(Confirmation).where(
                or_(
                    *(
                        (Confirmation.platform == m.platform)
                        & (Confirmation.user_id == m.platform_user_id)
                        & (Confirmation.community_id == m.community_id)
                        for m in members
                    ),
                    False,
                )
            )
        )
    ).all()
    codes = (await scalars(select(LinkCode).where(LinkCode.member_id.in_(ids)))).all()
    failures = (await scalars(select(LinkFailure).where(LinkFailure.member_id.in_(ids)))).all()
    tokens = (await scalars(select(ExportToken).where(ExportToken.person_id == person_id))).all()
    return {
        "accounts": accounts,
        "timezone": zone,
        "timezone_set_at": _when(person.timezone_set_at) if person else None,
        "subscriptions": [m.key for m, _ in subs],
        "subscription_platforms": {m.key: p for m, p in subs},
        "muted": muted,
        "nominations_made": [
            {
                "cycle": n.cycle,
                "reason": n.reason,
                "nominee": nominee.display_name or nominee.platform_user_id,
                "anonymous": n.anonymous,
                "from_account": names[n.nominator_id],
            }
            for n, nominee in made
        ],
        "nominations_received": [
            {"cycle": n.cycle, "reason": n.reason}
            | ({} if n.anonymous else {"nominator": who.display_name or who.platform_user_id})
            for n, who in received
        ],
        "survey_opens": [name for link, name in links if link.opened_at is not None],
        "survey_links": [
            {
                "survey": name,
                "handed_at": _when(link.handed_at),
                "opened_at": _when(link.opened_at),
                "done_at": _when(link.done_at),
                "declined_at": _when(link.declined_at),
                "snoozed_until": _when(link.snoozed_until),
            }
            for link, name in links
        ],
        "agenda_items": [
            {
                "meeting": key,
                "date": item.occurrence_date.isoformat(),
                "text": item.text,
                "added_at": _when(item.created_at),
                "removed_at": _when(item.removed_at),
            }
            for item, key in agenda
        ],
        "recaps_posted": [
            {"meeting": key, "date": r.occurrence_date.isoformat(), "url": r.url}
            for r, key in recaps
        ],
        "hero_reviews_made": [
            {"cycle": r.cycle, "decision": r.decision, "at": _when(r.reviewed_at)} for r in reviews
        ],
        "hero_hall": [{"cycle": h.cycle, "citation": h.citation} for h in hall],
        "meetings_created": [m.key for m in meetings],
        "surveys_created": [s.name for s in surveys],
        "announcements_written": [
            {"text": a.text, "at": _when(a.created_at), "state": a.state} for a in posts
        ],
        "audit_log": [
            {"at": _when(a.at), "action": a.action, "detail": a.detail, "outcome": a.outcome}
            for a in audit
        ],
        "messages_to_you": [
            {"kind": d.kind, "due_at": _when(d.due_at), "state": d.state} for d in deliveries
        ],
        "pending_confirmations": [
            {"created_at": _when(c.created_at), "expires_at": _when(c.expires_at)}
            for c in confirmations
        ],
        "link_codes": [
            {"created_at": _when(c.created_at), "expires_at": _when(c.expires_at)} for c in codes
        ],
        "wrong_link_codes": [_when(f.at) for f in failures],
        "data_links": [
            {"created_at": _when(t.created_at), "expires_at": _when(t.expires_at)} for t in tokens
        ],
    }


# Every table that holds something about a member: the export key that shows it, or why it
# is not exported. tests/test_identity_schema.py walks the schema and fails on a table with
# a member, person or user-id column that is missing here.
COVERAGE: dict[str, str] = {
    "persons": "export: timezone, timezone_set_at, muted",
    "members": "export: accounts",
    "meeting_subscriptions": "export: subscriptions",
    "survey_mutes": "export: muted",
    "hero_nominations": "export: nominations_made, nominations_received",
    "survey_links": "export: survey_opens, survey_links (the token itself is not shown)",
    "meeting_agenda_items": "export: agenda_items",
    "meeting_recaps": "export: recaps_posted",
    "hero_reviews": "export: hero_reviews_made (a review of them is the maintainers' note; "
    "it goes with their nominations on forget)",
    "hero_hall": "export: hero_hall",
    "meetings": "export: meetings_created",
    "surveys": "export: surveys_created",
    "announcements": "export: announcements_written",
    "audit_log": "export: audit_log",
    "deliveries": "export: messages_to_you (by target)",
    "confirmations": "export: pending_confirmations",
    "identity_link_codes": "export: link_codes",
    "identity_link_failures": "export: wrong_link_codes",
    "identity_export_tokens": "export: data_links",
    "inbound_events": "not exported: platform event ids and request signatures only, no user "
    "id; pruned within a day",
    "bot_state": "not exported: bot-wide values (command hashes), nothing about a member",
    "slack_installations": "not exported: a workspace's installation of the app (who installed "
    "it, beside the workspace's bot token; no user token, as no user scopes are asked); deleted "
    "when the workspace uninstalls the app",
    "meeting_events": "not exported: a meeting's Discord scheduled event in each guild (event "
    "id, interest count, a replica's lease), nothing about a member",
}


# -- forgetting --


async def forget(session: AsyncSession, person_id: int) -> int:
    """Delete the person and everything about them; returns how many accounts went.

    An announced Hero's hall entry stays as published (it is the community's record); the
    audit log keeps its entries with "a deleted member" in place of who they were.
    """
    members = await accounts_of(session, person_id)
    ids = [m.id for m in members]
    # Pending reminders and every other message addressed to them: withdrawn, and sent ones
    # go too, since their target is the person's user id.
    await session.execute(
        delete(Delivery).where(Delivery.target.in_([str(dm_target(m)) for m in members]))
    )
    for m in members:
        await session.execute(
            delete(Confirmation).where(
                Confirmation.community_id == m.community_id,
                Confirmation.platform == m.platform,
                Confirmation.user_id == m.platform_user_id,
            )
        )
    await session.execute(delete(AgendaItem).where(AgendaItem.member_id.in_(ids)))
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.member_id.in_(ids))
        .values(actor_name=DELETED, member_id=None)
    )
    community_ids = {m.community_id for m in members}
    await _scrub_details(session, community_ids, members)
    await session.execute(
        update(Announcement)
        .where(Announcement.author_member_id.in_(ids))
        .values(author_name=DELETED, author_member_id=None)
    )
    # Hero nominations made and received, reviews of them, mutes, subscriptions, survey
    # links, codes and tokens all go with the accounts (ON DELETE CASCADE); the hall entry
    # and rows they authored for the community (meetings, surveys, recaps) lose the link.
    await session.execute(
        update(HeroHallEntry).where(HeroHallEntry.member_id.in_(ids)).values(member_id=None)
    )
    for model, column in (
        (Meeting, Meeting.created_by),
        (Survey, Survey.created_by),
        (Recap, Recap.member_id),
        (HeroReview, HeroReview.reviewer_id),
    ):
        await session.execute(update(model).where(column.in_(ids)).values({column.key: None}))
    await session.execute(
        delete(HeroNomination).where(
            or_(HeroNomination.nominee_id.in_(ids), HeroNomination.nominator_id.in_(ids))
        )
    )
    await session.execute(delete(HeroReview).where(HeroReview.nominee_id.in_(ids)))
    await session.execute(delete(Subscription).where(Subscription.member_id.in_(ids)))
    await session.execute(delete(SurveyLink).where(SurveyLink.member_id.in_(ids)))
    await session.execute(delete(SurveyMute).where(SurveyMute.person_id == person_id))
    await session.execute(delete(LinkCode).where(LinkCode.member_id.in_(ids)))
    await session.execute(delete(LinkFailure).where(LinkFailure.member_id.in_(ids)))
    await session.execute(delete(ExportToken).where(ExportToken.person_id == person_id))
    await session.execute(
        delete(Member).where(Member.id.in_(ids)).execution_options(synchronize_session=False)
    )
    await session.execute(delete(Person).where(Person.id == person_id))
    return len(ids)


async def _scrub_details(
    session: AsyncSession, community_ids: set[int], members: Sequence[Member]
) -> None:
    """Replace the person's user ids and @names in audit details (any actor's) with DELETED."""
    needles: list[str] = []
    for m in members:
        needles.append(m.platform_user_id)
        if m.display_name:
            needles.append(f"@{m.display_name}")
    for needle in needles:
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.community_id.in_(community_ids), AuditEntry.detail.contains(needle)
            )
        )
        for row in rows.all():
            row.detail = re.sub(rf"@?{re.escape(needle.lstrip('@'))}\b", DELETED, row.detail)
    await session.flush()


# -- export tokens --


async def new_export_token(
    session: AsyncSession, community_id: int, member: MemberRow, now: datetime, team_id: str | None
) -> str:
    token = secrets.token_urlsafe(24)
    session.add(
        ExportToken(
            token_hash=digest(token),
            community_id=community_id,
            person_id=member.person_id,
            member_id=member.id,
            team_id=team_id,
            created_at=now,
            expires_at=now + EXPORT_TTL,
        )
    )
    await session.flush()
    return token


async def token_row(session: AsyncSession, token: str, now: datetime) -> ExportToken | None:
    """The live export token behind `token` (gone once expired, or forgotten with the person)."""
    return await session.scalar(
        select(ExportToken).where(
            ExportToken.token_hash == digest(token), ExportToken.expires_at > now
        )
    )
