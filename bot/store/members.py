"""The community row, and members: created on first sight, keyed by (platform, workspace,
user id)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    delete,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.config import DEFAULT_COMMUNITY_KEY
from bot.core.invocation import MemberRef, Place, Platform
from bot.store.models import Community, Member, Person

LAST_SEEN_RESOLUTION = timedelta(minutes=10)


async def ensure_community(
    session: AsyncSession,
    name: str,
    timezone: str,
    now: datetime,
    key: str = DEFAULT_COMMUNITY_KEY,
) -> Community:
    """A community of the deployment (by its key), created or updated from config."""
    row = await session.scalar(select(Community).where(Community.key == key))
    if row is None:
        row = Community(key=key, name=name, timezone=timezone, created_at=now)
        session.add(row)
        await session.flush()
    else:
        row.name, row.timezone = name, timezone
    return row


def workspace_of(place: Place) -> str:
    """The workspace part of a member's key for someone acting at `place`: the Slack team id
    (Slack user ids are unique only within their workspace), else ''."""
    return (place.guild_id or "") if place.platform is Platform.SLACK else ""


def named_workspace(place: Place, ref: MemberRef) -> str:
    """The workspace of someone named in a command at `place`: taken to be the asker's."""
    return workspace_of(place) if ref.platform is place.platform else ""


# (platform, workspace, user id): a member as a command names them.
MemberKey = tuple[str, str, str]


def member_key(ref: MemberRef, workspace: str) -> MemberKey:
    return (str(ref.platform), workspace, ref.user_id)


@dataclass(slots=True, eq=False)
class MemberRow:
    """A member as a command sees it: the row's columns, read with Core.

    Not an ORM `Member`: loading one into the session cost as much as the look-up itself, on
    every command. The store's functions that change a member (`ensure_member`, time zones,
    linking) write with UPDATEs and keep this object in step with what they wrote.
    `id` and `person_id` are None for a stand-in (someone never seen, for reading).
    """

    id: int | None
    community_id: int
    person_id: int | None
    platform: str
    platform_user_id: str
    workspace: str
    display_name: str
    timezone: str | None
    is_bot: bool
    known: bool
    first_seen_at: datetime | None
    last_seen_at: datetime | None


_MEMBERS, _PERSONS = Member.__table__, Person.__table__
_KEY_COLUMNS = ("community_id", "platform", "workspace", "platform_user_id")
# The columns a MemberRow holds, in its order (a row of them is MemberRow(*row)).
_ROW_COLUMNS = tuple(_MEMBERS.c[f.name] for f in fields(MemberRow))


def _member_row(row: Any) -> MemberRow:
    return MemberRow(*row)


def _by_key(suffix: str = "") -> Select[Any]:
    """One member by key, parameters community_id, p/u/w + suffix (platform, user id,
    workspace). A row from before migration 0011 has workspace '' and still answers for its
    workspace's member (the exact row first); ensure_member then records the workspace on it.
    """
    return (
        select(*_ROW_COLUMNS)
        .where(
            _MEMBERS.c.community_id == bindparam("community_id"),
            _MEMBERS.c.platform == bindparam(f"p{suffix}"),
            _MEMBERS.c.platform_user_id == bindparam(f"u{suffix}"),
            or_(_MEMBERS.c.workspace == bindparam(f"w{suffix}"), _MEMBERS.c.workspace == ""),
        )
        .order_by(_MEMBERS.c.workspace.desc())
        .limit(1)
    )


# Built once: every command looks its asker up, and building the query cost more than running it.
_MEMBER_BY_KEY = _by_key()


def _key(community_id: int, ref: MemberRef, workspace: str) -> dict[str, Any]:
    return {"community_id": community_id, "p": str(ref.platform), "u": ref.user_id, "w": workspace}


async def ensure_member(
    session: AsyncSession,
    community_id: int,
    ref: MemberRef,
    now: datetime,
    *,
    acting: bool = False,
    workspace: str = "",
    seen: dict[MemberKey, MemberRow | None] | None = None,
) -> MemberRow:
    """The member row for `ref`, created with its own person on first sight.

    `acting` marks that they used the bot themselves (only such members get personal nudges).
    `workspace`: see workspace_of. `seen`: what members_seen_in found in this transaction, where
    the row is then taken from (and a new one recorded) instead of looked up again.
    """
    held = seen.get(member_key(ref, workspace)) if seen is not None else None
    if held is not None and not _changes(held, ref, now, acting, workspace):
        # Read already and nothing to write: no hand-off to SQLAlchemy's greenlet at all.
        return held
    return await session.run_sync(
        ensure_member_in, community_id, ref, now, acting=acting, workspace=workspace, seen=seen
    )


def ensure_member_in(
    session: Session,
    community_id: int,
    ref: MemberRef,
    now: datetime,
    *,
    acting: bool = False,
    workspace: str = "",
    seen: dict[MemberKey, MemberRow | None] | None = None,
) -> MemberRow:
    """ensure_member on the synchronous session, for a caller already in SQLAlchemy's greenlet
    (`AsyncSession.run_sync`), where several steps share one hand-off."""
    known = member_key(ref, workspace)
    conn = session.connection()
    if seen is not None and known in seen:
        row = seen[known]
    else:
        found = conn.execute(_MEMBER_BY_KEY, _key(community_id, ref, workspace)).first()
        row = _member_row(found) if found is not None else None
    if row is None:
        row = _create_member(conn, community_id, ref, workspace, now, acting)
        if seen is not None:
            seen[known] = row
        return row
    _touch(conn, row, ref, now, acting, workspace)
    return row


def _touch(
    conn: Connection, row: MemberRow, ref: MemberRef, now: datetime, acting: bool, workspace: str
) -> None:
    """Bring `row` up to date with what this sighting tells: one UPDATE, only when something
    differs (on most commands nothing does)."""
    if changes := _changes(row, ref, now, acting, workspace):
        conn.execute(update(_MEMBERS).where(_MEMBERS.c.id == row.id).values(**changes))
        for name, value in changes.items():
            setattr(row, name, value)


def _changes(
    row: MemberRow, ref: MemberRef, now: datetime, acting: bool, workspace: str
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if row.workspace != workspace:
        changes["workspace"] = workspace  # a row from before 0011: its first workspace takes it
    if ref.display_name and row.display_name != ref.display_name[:200]:
        changes["display_name"] = ref.display_name[:200]
    if acting:
        if not row.known:
            changes["known"] = True
        # Coarse on purpose: an UPDATE on every command is a write the command does not need.
        if row.last_seen_at is None or now - row.last_seen_at > LAST_SEEN_RESOLUTION:
            changes["last_seen_at"] = now
    return changes


@cache
def _members_by_keys(count: int) -> Any:
    """`count` look-ups like _MEMBER_BY_KEY as one statement (UNION ALL), with parameters
    p0, u0, w0 (platform, user id, workspace), p1, …. PostgreSQL plans each part as it plans
    one look-up and reuses the plan; IN lists over the key's columns were planned afresh each
    time, at several times the cost."""
    return union_all(*(_by_key(str(i)).subquery().select() for i in range(count)))


def members_seen_in(
    session: Session, community_id: int, wanted: list[tuple[MemberRef, str]]
) -> dict[MemberKey, MemberRow | None]:
    """The rows of `wanted` (each a ref and its workspace) in one query, None for those never
    seen; each chosen as ensure_member's look-up would (its workspace's row first). On the
    synchronous session: the dispatcher runs it in its opening step (see ensure_member_in)."""
    params: dict[str, Any] = {"community_id": community_id}
    for i, (ref, workspace) in enumerate(wanted):
        params |= {f"p{i}": str(ref.platform), f"u{i}": ref.user_id, f"w{i}": workspace}
    result = session.connection().execute(_members_by_keys(len(wanted)), params)
    rows = [_member_row(row) for row in result]
    found: dict[MemberKey, MemberRow | None] = {}
    for ref, workspace in wanted:
        platform, user_id, spaces = str(ref.platform), ref.user_id, (workspace, "")
        candidates = [
            r
            for r in rows
            if r.platform == platform and r.platform_user_id == user_id and r.workspace in spaces
        ]
        found[member_key(ref, workspace)] = max(candidates, key=_workspace, default=None)
    return found


def _workspace(row: MemberRow) -> str:
    return row.workspace


async def find_member(
    session: AsyncSession, community_id: int, ref: MemberRef, *, workspace: str = ""
) -> MemberRow:
    """The member row for `ref`, or (never seen) a stand-in with no zone: for reading."""
    found = (await session.execute(_MEMBER_BY_KEY, _key(community_id, ref, workspace))).first()
    if found is not None:
        return _member_row(found)
    return stand_in(community_id, ref, workspace=workspace)


def stand_in(community_id: int, ref: MemberRef, *, workspace: str = "") -> MemberRow:
    """Who a command sees when it reads nothing (or the asker was never seen): no row, no
    person, no zone."""
    return MemberRow(
        id=None,
        community_id=community_id,
        person_id=None,
        platform=str(ref.platform),
        platform_user_id=ref.user_id,
        workspace=workspace,
        display_name=ref.display_name[:200],
        timezone=None,
        is_bot=ref.is_bot,
        known=False,
        first_seen_at=None,
        last_seen_at=None,
    )


# -- creating a member: one statement on PostgreSQL, the hot path of a newcomer's command --


def _param(name: str, column: str) -> BindParameter[Any]:
    # Typed, so that PostgreSQL knows what `INSERT … SELECT $1, …` inserts.
    return bindparam(name, type_=_MEMBERS.c[column].type)


_NEW_MEMBER_COLUMNS = (
    *_KEY_COLUMNS,
    "person_id",
    "display_name",
    "is_bot",
    "known",
    "first_seen_at",
    "last_seen_at",
)


def _new_member_row(person_id: ColumnElement[int]) -> Select[Any]:
    """The new member's row, from the statement's parameters, for INSERT … SELECT."""
    return select(
        _param("community_id", "community_id"),
        _param("p", "platform"),
        _param("w", "workspace"),
        _param("u", "platform_user_id"),
        person_id,
        _param("display_name", "display_name"),
        _param("is_bot", "is_bot"),
        _param("known", "known"),
        _param("now", "first_seen_at"),
        _param("now", "last_seen_at"),
    )


_NEW_PERSON = insert(_PERSONS).returning(_PERSONS.c.id)
# SQLite: the person, then the member (no conflict is possible there: see _create_member).
_NEW_MEMBER = (
    insert(_MEMBERS)
    .from_select(_NEW_MEMBER_COLUMNS, _new_member_row(_param("person_id", "person_id")))
    .returning(*_ROW_COLUMNS)
)


def _person_and_member() -> Any:
    """PostgreSQL: the person and the member in one statement (SQLite has no INSERT in WITH).

    Rows: (the member's columns, or NULLs, then the new person's id). A request creating the
    same member at the same moment makes the member's INSERT wait for its commit and then do
    nothing: the statement returns no member, and the id of the person it inserted for nothing.
    """
    person = (
        insert(_PERSONS)
        .from_select(
            ("community_id", "created_at"),
            select(_param("community_id", "community_id"), _param("now", "first_seen_at")),
        )
        .returning(_PERSONS.c.id)
        .cte("new_person")
    )
    member = (
        postgresql.insert(_MEMBERS)
        .from_select(_NEW_MEMBER_COLUMNS, _new_member_row(person.c.id))
        .on_conflict_do_nothing(index_elements=_KEY_COLUMNS)
        .returning(*_ROW_COLUMNS)
        .cte("new_member")
    )
    return select(*member.c, person.c.id).select_from(person.outerjoin(member, true()))


_PERSON_AND_MEMBER = _person_and_member()


def _create_member(
    conn: Connection,
    community_id: int,
    ref: MemberRef,
    workspace: str,
    now: datetime,
    acting: bool,
) -> MemberRow:
    key = _key(community_id, ref, workspace)
    values = key | {
        "display_name": ref.display_name[:200],
        "is_bot": ref.is_bot,
        "known": acting,
        "now": now,
    }
    if conn.dialect.name == "sqlite":
        # Every SQLite transaction here holds the write lock from BEGIN IMMEDIATE on (see
        # db._configure_sqlite): nobody can insert them between the look-up and here.
        person_id = conn.scalar(_NEW_PERSON, {"community_id": community_id, "created_at": now})
        return _member_row(conn.execute(_NEW_MEMBER, values | {"person_id": person_id}).one())
    *member, person_id = conn.execute(_PERSON_AND_MEMBER, values).one()
    if member[0] is not None:
        return _member_row(member)
    # Another request created them a moment ago: theirs stands, this person goes.
    conn.execute(delete(_PERSONS).where(_PERSONS.c.id == person_id))
    return _member_row(conn.execute(_MEMBER_BY_KEY, key).one())


async def zone_of(
    session: AsyncSession,
    community_id: int,
    platform: str,
    user_id: str,
    workspace: str | None = None,
) -> str | None:
    """The zone this member set, if any. `workspace` None: whichever of the community's
    workspaces they are in (a direct message's target names no workspace)."""
    query = select(Member.timezone).where(
        Member.community_id == community_id,
        Member.platform == platform,
        Member.platform_user_id == user_id,
    )
    if workspace is not None:
        query = query.where(or_(Member.workspace == workspace, Member.workspace == ""))
    return await session.scalar(query.order_by(Member.workspace.desc()).limit(1))
