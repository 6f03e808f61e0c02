"""The identity store on SQLite and PostgreSQL: merge rules (associative), one code linking
once under concurrency, survey opens and stats per person, the rate limit's hour."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from bot.core.invocation import MemberRef, Platform
from bot.store import identity as store
from bot.store import surveys
from bot.store.db import Database
from bot.store.meetings import Meeting, Subscription
from bot.store.members import MemberRow, ensure_community, ensure_member
from bot.store.models import Community, Member, Person
from bot.store.surveys import Survey, SurveyLink, SurveyMute

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _community(db: Database) -> int:
    async with db.session() as session:
        return (await ensure_community(session, "Example", "UTC", NOW)).id


async def _member(db: Database, community_id: int, name: str, platform: str = "slack") -> MemberRow:
    async with db.session() as session:
        ref = MemberRef(Platform(platform), name, name)
        return await ensure_member(session, community_id, ref, NOW, acting=True)


async def _meetings(db: Database, community_id: int, keys: list[str]) -> dict[str, int]:
    async with db.session() as session:
        rows = [
            Meeting(
                community_id=community_id,
                key=k,
                name=k,
                local_start="2026-12-10T09:00",
                timezone="UTC",
                duration_minutes=60,
                source="command",
                created_at=NOW,
                updated_at=NOW,
            )
            for k in keys
        ]
        session.add_all(rows)
        await session.flush()
        return {r.key: r.id for r in rows}


# -- merging is associative --

ZONES = ["Europe/Berlin", "Asia/Tokyo", "America/Lima"]
person_state = st.fixed_dictionaries(
    {
        "zone": st.none() | st.sampled_from(ZONES),
        "set_minutes": st.none() | st.integers(0, 3),  # small: ties happen
        "muted": st.booleans(),
        "subs": st.sets(st.sampled_from(["a", "b", "c"])),
    }
)


async def _person(
    db: Database, community_id: int, name: str, state: dict[str, Any], meetings: dict[str, int]
) -> int:
    member = await _member(db, community_id, name)
    async with db.session() as session:
        row = await session.get(Member, member.id)
        assert row is not None
        if state["zone"] is not None:
            row.timezone = state["zone"]
        person = await session.get(Person, row.person_id)
        assert person is not None
        if state["set_minutes"] is not None and state["zone"] is not None:
            person.timezone_set_at = NOW + timedelta(minutes=state["set_minutes"])
        if state["muted"]:
            session.add(
                SurveyMute(person_id=row.person_id, community_id=community_id, muted_at=NOW)
            )
        for key in state["subs"]:
            session.add(Subscription(meeting_id=meetings[key], member_id=row.id, created_at=NOW))
        return row.person_id


async def _merge(db: Database, keep: int, gone: int) -> int:
    async with db.session() as session:
        await store.merge_persons(session, keep, gone)
    return keep


async def _shape(db: Database, person_id: int, names: dict[int, str]) -> tuple[Any, ...]:
    """What a person is, without ids: accounts, zone (on every account), mute, subscriptions."""
    async with db.sessions() as session:
        members = await store.accounts_of(session, person_id)
        person = await session.get(Person, person_id)
        assert person is not None
        zones = {m.timezone for m in members}
        assert len(zones) == 1, zones  # one zone on every account
        subs = {
            (names[s.member_id], s.meeting_id)
            for s in (
                await session.scalars(
                    select(Subscription).where(Subscription.member_id.in_([m.id for m in members]))
                )
            ).all()
        }
        return (
            sorted(names[m.id] for m in members),
            zones.pop(),
            person.timezone_set_at,
            await surveys.is_muted(session, person_id),
            sorted(subs),
            await session.scalar(select(Person.id).where(Person.id == person_id)) is not None,
        )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(states=st.tuples(person_state, person_state, person_state))
async def test_merging_is_associative(db: Database, states: tuple[dict[str, Any], ...]) -> None:
    community_id = await _community(db)
    run = f"r{id(states)}{asyncio.get_running_loop().time()}"
    meetings = await _meetings(db, community_id, [f"{run}{k}" for k in "abc"])
    by_key = {k: meetings[f"{run}{k}"] for k in "abc"}
    shapes = []
    for order in ("left", "right"):
        ids = [
            await _person(db, community_id, f"{run}-{order}-{i}", s, by_key)
            for i, s in enumerate(states)
        ]
        async with db.sessions() as session:
            rows = (await session.scalars(select(Member).where(Member.person_id.in_(ids)))).all()
            names = {m.id: m.platform_user_id.rsplit("-", 1)[1] for m in rows}
        a, b, c = ids
        if order == "left":  # (A + B) + C
            top = await _merge(db, await _merge(db, a, b), c)
        else:  # A + (B + C)
            top = await _merge(db, a, await _merge(db, b, c))
        shapes.append(await _shape(db, top, names))
    assert shapes[0] == shapes[1]
    # And the rules themselves: the latest set zone wins, mutes and subscriptions unite.
    _, zone, _, muted, subs, _ = shapes[0]
    assert muted == any(s["muted"] for s in states)
    assert {(str(i), by_key[k]) for i, s in enumerate(states) for k in s["subs"]} == set(subs)
    timed = [s for s in states if s["zone"] and s["set_minutes"] is not None]
    if timed:
        best = max(timed, key=lambda s: (s["set_minutes"], s["zone"]))
        assert zone == best["zone"]


# -- one code links once --


async def test_two_links_of_one_code_at_once_one_wins(db: Database) -> None:
    community_id = await _community(db)
    maker = await _member(db, community_id, "UMAKER")
    first = await _member(db, community_id, "111", "discord")
    second = await _member(db, community_id, "222", "discord")
    async with db.session() as session:
        code = await store.new_code(session, community_id, maker.id, NOW)

    async def link(member: Member) -> Any:
        async with db.session() as session:
            row = await session.get(Member, member.id)
            assert row is not None
            return await store.redeem(session, community_id, row, code, NOW)

    results = await asyncio.gather(link(first), link(second))
    assert sorted(type(r).__name__ for r in results) == ["Linked", "Refused"]
    async with db.sessions() as session:
        maker_row = await session.get(Member, maker.id)
        assert maker_row is not None
        accounts = await store.accounts_of(session, maker_row.person_id)
        assert len(accounts) == 2
        assert await session.scalar(select(store.LinkCode)) is None  # used up


async def test_codes_belong_to_their_community_and_expire(db: Database) -> None:
    community_id = await _community(db)
    async with db.session() as session:
        other = Community(key="other", name="Other", timezone="UTC", created_at=NOW)
        session.add(other)
    maker = await _member(db, community_id, "UMAKER")
    stranger = await _member(db, other.id, "UX")
    late = await _member(db, community_id, "UY")
    async with db.session() as session:
        code = await store.new_code(session, community_id, maker.id, NOW)
    async with db.session() as session:
        row = await session.get(Member, stranger.id)
        assert row is not None
        result = await store.redeem(session, other.id, row, code, NOW)
        assert isinstance(result, store.Refused) and result.counted
    async with db.session() as session:
        row = await session.get(Member, late.id)
        assert row is not None
        result = await store.redeem(session, community_id, row, code, NOW + store.CODE_TTL)
        assert isinstance(result, store.Refused) and "expired" in result.sentence


async def test_the_rate_limit_lasts_an_hour(db: Database) -> None:
    community_id = await _community(db)
    maker = await _member(db, community_id, "UMAKER")
    guesser = await _member(db, community_id, "UGUESS")
    async with db.session() as session:
        code = await store.new_code(session, community_id, maker.id, NOW)
    for _ in range(store.MAX_FAILURES):
        async with db.session() as session:
            row = await session.get(Member, guesser.id)
            assert row is not None
            await store.redeem(session, community_id, row, "AAAA-AAAA", NOW)
    async with db.session() as session:
        row = await session.get(Member, guesser.id)
        assert row is not None
        blocked = await store.redeem(session, community_id, row, code, NOW + timedelta(minutes=59))
        assert isinstance(blocked, store.Refused) and "Too many" in blocked.sentence
    async with db.session() as session:  # the first code expired meanwhile
        code = await store.new_code(session, community_id, maker.id, NOW + timedelta(minutes=60))
    async with db.session() as session:
        row = await session.get(Member, guesser.id)
        assert row is not None
        later = await store.redeem(
            session, community_id, row, code.lower(), NOW + timedelta(minutes=61)
        )
        assert isinstance(later, store.Linked)


# -- survey opens and stats per person --


async def test_an_open_on_one_account_stops_nudges_on_all_and_counts_once(db: Database) -> None:
    community_id = await _community(db)
    slack = await _member(db, community_id, "UOLU")
    discord = await _member(db, community_id, "123", "discord")
    async with db.session() as session:
        await store.merge_persons(session, slack.person_id, discord.person_id)
        survey = Survey(
            community_id=community_id,
            key="s",
            name="S",
            url="https://example.org/s",
            remind_every_minutes=60,
            max_nudges=2,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(survey)
        await session.flush()
        await surveys.ensure_links(session, survey.id, [slack.id, discord.id], NOW)
        survey_id = survey.id
    async with db.session() as session:
        assert await surveys.stopped_members(session, survey_id) == set()
        link = await surveys.link_for(session, survey_id, slack.id)
        assert link is not None
        link.opened_at = link.handed_at = NOW
    async with db.session() as session:
        assert await surveys.stopped_members(session, survey_id) == {slack.id, discord.id}
        assert await surveys.person_stopped(session, survey_id, slack.person_id)
        other = await surveys.link_for(session, survey_id, discord.id)
        assert other is not None
        other.opened_at = other.handed_at = NOW
    async with db.sessions() as session:
        survey_row = await session.get(Survey, survey_id)
        assert survey_row is not None
        stats = await surveys.stats(session, survey_row)
        assert (stats.reached, stats.opened) == (1, 1)
        assert len((await session.scalars(select(SurveyLink))).all()) == 2


async def test_a_zone_set_on_one_account_holds_on_every_account_of_the_person(
    db: Database,
) -> None:
    cid = await _community(db)
    slack = await _member(db, cid, "olu", "slack")
    discord = await _member(db, cid, "olu", "discord")
    async with db.session() as session:
        # Linked: the Discord account joins the Slack account's person.
        row = await session.get(Member, discord.id)
        assert row is not None
        row.person_id = slack.person_id
    statements: list[str] = []
    async with db.session() as session:
        # The asker as a command sees them, and rows an earlier step loaded into the session.
        me = await ensure_member(session, cid, MemberRef(Platform.SLACK, "olu", "olu"), NOW)
        asker = await session.get(Member, slack.id)
        other = await session.get(Member, discord.id)
        held_person = await session.get(Person, slack.person_id)
        assert asker is not None and other is not None and held_person is not None
        sync = db.engine.sync_engine

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement.split(" ", 1)[0])

        event.listen(sync, "before_cursor_execute", record)
        try:
            await store.set_person_zone(session, me, "Asia/Tokyo", NOW)
            # The rows this session holds say it already, and committing writes nothing more.
            assert (me.timezone, asker.timezone, other.timezone) == ("Asia/Tokyo",) * 3
            assert held_person.timezone_set_at == NOW
            assert not session.dirty
            await session.commit()
        finally:
            event.remove(sync, "before_cursor_execute", record)
    assert statements == ["UPDATE", "UPDATE"]
    async with db.session() as session:
        zones = (
            await session.scalars(select(Member.timezone).where(Member.community_id == cid))
        ).all()
        person = await session.get(Person, slack.person_id)
        assert sorted(zones) == ["Asia/Tokyo", "Asia/Tokyo"]
        assert person is not None and person.timezone_set_at == NOW
