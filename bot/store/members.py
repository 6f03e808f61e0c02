"""The community row, and members: created on first sight, keyed by (platform, workspace,
user id)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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


# Built once: every command looks its asker up, and building the query cost more than running it.
# A row from before migration 0011 has workspace '' and still answers for its workspace's
# member (the exact row first); ensure_member then records the workspace on it.
_MEMBER_BY_KEY = (
    select(Member)
    .where(
        Member.community_id == bindparam("community_id"),
        Member.platform == bindparam("platform"),
        Member.platform_user_id == bindparam("user_id"),
        or_(Member.workspace == bindparam("workspace"), Member.workspace == ""),
    )
    .order_by(Member.workspace.desc())
    .limit(1)
)
_NEW_PERSON = insert(Person.__table__).returning(Person.__table__.c.id)


def _key(community_id: int, ref: MemberRef, workspace: str) -> dict[str, object]:
    return {
        "community_id": community_id,
        "platform": str(ref.platform),
        "user_id": ref.user_id,
        "workspace": workspace,
    }


async def ensure_member(
    session: AsyncSession,
    community_id: int,
    ref: MemberRef,
    now: datetime,
    *,
    acting: bool = False,
    workspace: str = "",
) -> Member:
    """The member row for `ref`, created with its own person on first sight.

    `acting` marks that they used the bot themselves (only such members get personal nudges).
    `workspace`: see workspace_of.
    """
    key = _key(community_id, ref, workspace)
    row = await session.scalar(_MEMBER_BY_KEY, key)
    if row is not None and row.workspace != workspace:
        row.workspace = workspace  # a row from before 0011: its first workspace takes it over
    if row is None:
        if session.bind is not None and session.bind.dialect.name == "sqlite":
            # Every SQLite transaction here holds the write lock from BEGIN IMMEDIATE on (see
            # db._configure_sqlite): nobody can insert them between the look-up and here.
            return await _create_member(session, community_id, ref, now, acting, workspace)
        try:
            async with session.begin_nested():
                return await _create_member(session, community_id, ref, now, acting, workspace)
        except IntegrityError:
            # Another request created them a moment ago.
            row = await session.scalar(_MEMBER_BY_KEY, key)
            assert row is not None
    if ref.display_name and row.display_name != ref.display_name[:200]:
        row.display_name = ref.display_name[:200]
    if acting:
        if not row.known:
            row.known = True
        # Coarse on purpose: an UPDATE on every command is a write the command does not need.
        if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
            row.last_seen_at = now
    return row


async def find_member(
    session: AsyncSession, community_id: int, ref: MemberRef, *, workspace: str = ""
) -> Member:
    """The member row for `ref`, or (never seen) an unsaved one with no zone: for reading."""
    row = await session.scalar(_MEMBER_BY_KEY, _key(community_id, ref, workspace))
    if row is not None:
        return row
    return Member(
        community_id=community_id,
        platform=str(ref.platform),
        platform_user_id=ref.user_id,
        workspace=workspace,
        display_name=ref.display_name[:200],
        timezone=None,
        is_bot=ref.is_bot,
        known=False,
    )


async def _create_member(
    session: AsyncSession,
    community_id: int,
    ref: MemberRef,
    now: datetime,
    acting: bool,
    workspace: str,
) -> Member:
    person_id = await session.scalar(_NEW_PERSON, {"community_id": community_id, "created_at": now})
    assert person_id is not None
    row = Member(
        community_id=community_id,
        person_id=person_id,
        platform=str(ref.platform),
        platform_user_id=ref.user_id,
        workspace=workspace,
        display_name=ref.display_name[:200],
        is_bot=ref.is_bot,
        known=acting,
        first_seen_at=now,
        last_seen_at=now,
    )
    session.add(row)
    await session.flush()
    return row


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
