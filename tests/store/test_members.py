"""Members created on first sight, on SQLite and PostgreSQL: once each, however many requests
meet them at the same moment, with one person each and nothing left behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.invocation import MemberRef, Platform
from bot.store.db import Database
from bot.store.identity import set_person_zone
from bot.store.members import (
    LAST_SEEN_RESOLUTION,
    ensure_community,
    ensure_member,
    member_key,
    members_seen_in,
)
from bot.store.models import Member, Person

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _community(db: Database) -> int:
    async with db.session() as session:
        return (await ensure_community(session, "Example", "UTC", NOW)).id


async def _counts(db: Database) -> tuple[int, int]:
    async with db.sessions() as session:
        members = await session.scalar(select(func.count(Member.id)))
        persons = await session.scalar(select(func.count(Person.id)))
    return int(members or 0), int(persons or 0)


async def test_a_new_member_is_created_with_a_person_of_their_own(db: Database) -> None:
    cid = await _community(db)
    ref = MemberRef(Platform.SLACK, "UOLU", "olu")
    async with db.session() as session:
        olu = await ensure_member(session, cid, ref, NOW, acting=True)
        ana = await ensure_member(session, cid, MemberRef(Platform.SLACK, "UANA", "ana"), NOW)
        # What a command sees is a snapshot of the row; the store writes changes itself and
        # keeps the snapshot in step.
        await set_person_zone(session, olu, "Europe/Berlin", NOW)
        assert olu.timezone == "Europe/Berlin"
    assert (olu.platform, olu.platform_user_id, olu.display_name) == ("slack", "UOLU", "olu")
    assert olu.known and not ana.known
    assert olu.first_seen_at == olu.last_seen_at == NOW
    assert olu.person_id != ana.person_id
    async with db.sessions() as session:
        again = await ensure_member(session, cid, ref, NOW)
        assert (again.id, again.person_id) == (olu.id, olu.person_id)
        assert again.timezone == "Europe/Berlin"
        person = await session.get(Person, olu.person_id)
        assert person is not None and person.community_id == cid and person.created_at == NOW
    assert await _counts(db) == (2, 2)


async def test_seen_again_renames_and_marks_them_known(db: Database) -> None:
    cid = await _community(db)
    async with db.session() as session:
        await ensure_member(session, cid, MemberRef(Platform.DISCORD, "42", "olu"), NOW)
    later = NOW + LAST_SEEN_RESOLUTION + timedelta(seconds=1)
    async with db.session() as session:
        ref = MemberRef(Platform.DISCORD, "42", "olu_renamed")
        row = await ensure_member(session, cid, ref, later, acting=True)
    assert (row.display_name, row.known, row.last_seen_at) == ("olu_renamed", True, later)
    assert await _counts(db) == (1, 1)
    # Written, not only shown: the next command reads the same.
    async with db.reads() as session:
        stored = await session.get(Member, row.id)
        assert stored is not None
        assert (stored.display_name, stored.known, stored.last_seen_at) == (
            "olu_renamed",
            True,
            later,
        )


@pytest.mark.parametrize("acting", [True, False])
async def test_many_requests_meeting_a_new_member_at_once_make_one(
    db: Database, acting: bool
) -> None:
    cid = await _community(db)
    ref = MemberRef(Platform.SLACK, "UNEW", "new")

    async def meet() -> tuple[int, int]:
        async with db.session() as session:
            row = await ensure_member(session, cid, ref, NOW, acting=acting)
            return row.id, row.person_id

    seen = await asyncio.gather(*(meet() for _ in range(20)))
    assert len(set(seen)) == 1
    # The requests that lost the race left no person behind.
    assert await _counts(db) == (1, 1)


async def test_members_seen_reads_the_asker_and_whom_they_name_as_one_look_up_each(
    db: Database,
) -> None:
    cid = await _community(db)
    olu, ana = MemberRef(Platform.SLACK, "UOLU", "olu"), MemberRef(Platform.SLACK, "UANA", "ana")
    dee = MemberRef(Platform.DISCORD, "UOLU", "dee")  # the same id on another platform
    new = MemberRef(Platform.SLACK, "UNEW", "new")
    async with db.session() as session:
        await ensure_member(session, cid, olu, NOW, workspace="T1")
        await ensure_member(session, cid, olu, NOW, workspace="T2")  # another person
        await ensure_member(session, cid, ana, NOW)  # from before workspaces: ''
        await ensure_member(session, cid, dee, NOW)
    wanted = [(olu, "T2"), (ana, "T1"), (dee, ""), (new, "T1")]
    async with db.session() as session:
        seen = await session.run_sync(members_seen_in, cid, wanted)
        for ref, workspace in wanted:
            looked_up = await ensure_member(session, cid, ref, NOW, workspace=workspace)
            row = seen[member_key(ref, workspace)]
            if ref is new:
                assert row is None
            else:
                assert row is not None, ref
                assert (row.id, row.person_id) == (looked_up.id, looked_up.person_id), ref
        # What ensure_member creates with `seen` is recorded there, not created twice.
        again = MemberRef(Platform.SLACK, "UAGAIN", "again")
        seen = await session.run_sync(members_seen_in, cid, [(again, "T1")])
        first = await ensure_member(session, cid, again, NOW, workspace="T1", seen=seen)
        assert await ensure_member(session, cid, again, NOW, workspace="T1", seen=seen) is first
    assert await _counts(db) == (6, 6)
