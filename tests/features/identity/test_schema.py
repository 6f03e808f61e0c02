"""Export and forget are complete: the schema is walked, so a future table cannot be missed.

Any table with a member or person column, or a column that can hold a platform user id
(delivery targets, audit details, names, tokens, payloads), must be in
`bot.store.identity.COVERAGE`: exported under a key, or listed with the reason it is not.
Then a person with rows in every such table is exported (every exported table shows up)
and forgotten (no row anywhere still holds their ids, names or user ids, except the
announced Hero's hall entry, kept as published).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.core.invocation import MemberRef, Platform
from bot.store import identity as store
from bot.store.announcements import Announcement
from bot.store.db import Database
from bot.store.heroes import HeroHallEntry, HeroNomination, HeroReview
from bot.store.meetings import AgendaItem, Meeting, Recap, Subscription
from bot.store.members import ensure_community, ensure_member
from bot.store.models import AuditEntry, Confirmation, Delivery, InboundEvent, Member
from bot.store.schema import Base
from bot.store.surveys import Survey, SurveyLink, SurveyMute

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Column names that can hold a platform user id or a person's name.
USER_COLUMNS = {
    "user_id",
    "platform_user_id",
    "target",
    "detail",
    "actor_name",
    "display_name",
    "author_name",
    "announced_by",
    "payload",
    "token",
    "event_id",
}
PERSON_TABLES = {"members", "persons"}


def _touches_people(table: Any) -> bool:
    for column in table.columns:
        if column.name in USER_COLUMNS:
            return True
        if any(fk.column.table.name in PERSON_TABLES for fk in column.foreign_keys):
            return True
    return table.name in PERSON_TABLES


def test_every_table_about_people_is_covered() -> None:
    about_people = {t.name for t in Base.metadata.sorted_tables if _touches_people(t)}
    missing = about_people - set(store.COVERAGE)
    assert not missing, f"tables holding people's data with no export or reason: {missing}"
    stale = set(store.COVERAGE) - {t.name for t in Base.metadata.sorted_tables}
    assert not stale, f"COVERAGE names tables that do not exist: {stale}"


async def _seed(db: Database) -> tuple[int, list[Member], Member]:
    """A person with a Slack and a Discord account and a row in every table about people."""
    async with db.session() as s:
        cid = (await ensure_community(s, "Example", "UTC", NOW)).id
        olu = await ensure_member(s, cid, MemberRef(Platform.SLACK, "UOLU", "olu"), NOW)
        olu_d = await ensure_member(s, cid, MemberRef(Platform.DISCORD, "4242", "olu_d"), NOW)
        ana = await ensure_member(s, cid, MemberRef(Platform.SLACK, "UANA", "ana"), NOW)
        await store.merge_persons(s, olu.person_id, olu_d.person_id)
        await store.set_person_zone(s, olu, "Europe/Berlin", NOW)
        meeting = Meeting(
            community_id=cid,
            key="sync",
            name="Sync",
            local_start="2026-12-10T09:00",
            timezone="UTC",
            duration_minutes=60,
            source="command",
            created_by=olu.id,
            created_at=NOW,
            updated_at=NOW,
        )
        survey = Survey(
            community_id=cid,
            key="s",
            name="S",
            url="https://example.org/s",
            remind_every_minutes=60,
            max_nudges=2,
            created_by=olu_d.id,
            created_at=NOW,
            updated_at=NOW,
        )
        s.add_all([meeting, survey])
        await s.flush()
        day = date(2026, 12, 10)
        s.add_all(
            [
                Subscription(meeting_id=meeting.id, member_id=olu_d.id, created_at=NOW),
                Subscription(meeting_id=meeting.id, member_id=ana.id, created_at=NOW),
                AgendaItem(
                    meeting_id=meeting.id,
                    occurrence_date=day,
                    member_id=olu.id,
                    text="olu's item",
                    created_at=NOW,
                ),
                Recap(
                    meeting_id=meeting.id,
                    occurrence_date=day,
                    url="https://example.org/r",
                    member_id=olu.id,
                    created_at=NOW,
                    updated_at=NOW,
                ),
                SurveyLink(
                    survey_id=survey.id,
                    member_id=olu.id,
                    token="t" * 32,
                    created_at=NOW,
                    opened_at=NOW,
                ),
                SurveyMute(person_id=olu.person_id, community_id=cid, muted_at=NOW),
                HeroNomination(
                    community_id=cid,
                    cycle="2026-11",
                    nominee_id=olu.id,
                    nominator_id=ana.id,
                    reason="great docs",
                    created_at=NOW,
                    updated_at=NOW,
                ),
                HeroNomination(
                    community_id=cid,
                    cycle="2026-11",
                    nominee_id=ana.id,
                    nominator_id=olu_d.id,
                    reason="kind reviews",
                    created_at=NOW,
                    updated_at=NOW,
                ),
                HeroReview(
                    community_id=cid,
                    cycle="2026-11",
                    nominee_id=ana.id,
                    decision="approved",
                    reviewer_id=olu.id,
                    reviewed_at=NOW,
                ),
                HeroReview(
                    community_id=cid,
                    cycle="2026-11",
                    nominee_id=olu.id,
                    decision="shortlisted",
                    reviewer_id=ana.id,
                    reviewed_at=NOW,
                ),
                # An announced Hero: their hall entry stays as published.
                HeroHallEntry(
                    community_id=cid,
                    cycle="2026-10",
                    member_id=olu.id,
                    platform="slack",
                    platform_user_id="UOLU",
                    display_name="olu",
                    citation="docs",
                    announced_at=NOW,
                ),
                Announcement(
                    community_id=cid,
                    author_member_id=olu.id,
                    author_name="olu",
                    platform="slack",
                    text="Hello",
                    due_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                ),
                AuditEntry(
                    community_id=cid,
                    at=NOW,
                    member_id=olu.id,
                    platform="slack",
                    actor_name="olu",
                    action="meeting create",
                    detail="sync",
                ),
                AuditEntry(
                    community_id=cid,
                    at=NOW,
                    member_id=ana.id,
                    platform="slack",
                    actor_name="ana",
                    action="hero announce",
                    detail="@olu for 2026-10",
                ),
                Delivery(
                    community_id=cid,
                    kind="meeting_reminder",
                    subject="meeting:1",
                    occurrence="x",
                    target="discord:dm:4242",
                    platform="discord",
                    due_at=NOW,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                ),
                Delivery(
                    community_id=cid,
                    kind="meeting_reminder",
                    subject="meeting:1",
                    occurrence="x",
                    target="slack:dm:UANA",
                    platform="slack",
                    due_at=NOW,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                ),
                Confirmation(
                    token="c" * 30,
                    community_id=cid,
                    platform="slack",
                    user_id="UOLU",
                    payload={},
                    created_at=NOW,
                    expires_at=NOW + timedelta(minutes=30),
                ),
                store.LinkFailure(community_id=cid, member_id=olu.id, at=NOW),
                InboundEvent(platform="slack", event_id="Ev1", received_at=NOW),
            ]
        )
        await store.new_code(s, cid, olu_d.id, NOW)
        await store.new_export_token(s, cid, olu, NOW, "T1")
        await s.flush()
        members = [olu, olu_d]
        return olu.person_id, members, ana


async def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            out[table.name] = [dict(r) for r in rows]
    return out


async def test_export_shows_every_table_and_forget_leaves_nothing(db: Database) -> None:
    person_id, members, ana = await _seed(db)
    before = await _dump(db)
    async with db.sessions() as s:
        data = await store.export(s, person_id, "T1")
    # Every table the person has rows in is exported under the key COVERAGE names.
    for table, rule in store.COVERAGE.items():
        if not rule.startswith("export:"):
            continue
        key = rule.removeprefix("export:").split(",")[0].split("(")[0].strip()
        assert key in data, (table, key)
        if table not in ("persons", "survey_mutes") and before.get(table):
            assert data[key], f"{table} has rows about the person but {key} is empty"
    assert data["timezone"] == "Europe/Berlin" and data["muted"] is True
    assert data["subscriptions"] == ["sync"] and data["survey_opens"] == ["S"]
    assert {a["user_id"] for a in data["accounts"]} == {"UOLU", "4242"}
    assert [a.get("team_id") for a in data["accounts"]] == ["T1", None]
    assert data["nominations_received"] == [
        {"cycle": "2026-11", "reason": "great docs", "nominator": "ana"}
    ]
    assert [n["reason"] for n in data["nominations_made"]] == ["kind reviews"]
    assert [i["text"] for i in data["agenda_items"]] == ["olu's item"]

    async with db.session() as s:
        assert await store.forget(s, person_id) == 2
    after = await _dump(db)
    ids = {m.id for m in members}
    needles = re.compile(r"\b(UOLU|4242|olu|olu_d)\b")
    for table, rows in after.items():
        for row in rows:
            if table == "hero_hall":
                assert row["member_id"] is None  # kept as published, unlinked
                continue
            for column, value in row.items():
                col = Base.metadata.tables[table].columns[column]
                refs = {fk.column.table.name for fk in col.foreign_keys}
                if "members" in refs:
                    assert value not in ids, (table, column, row)
                if "persons" in refs or (table == "persons" and column == "id"):
                    assert value != person_id, (table, column, row)
                if isinstance(value, str | dict | list):
                    assert not needles.search(str(value)), (table, column, row)
    # Only the other member's rows remain where both had some.
    assert [r["target"] for r in after["deliveries"]] == ["slack:dm:UANA"]
    assert [r["member_id"] for r in after["meeting_subscriptions"]] == [ana.id]
    assert {r["actor_name"] for r in after["audit_log"]} == {"a deleted member", "ana"}
    assert [r["detail"] for r in after["audit_log"] if r["actor_name"] == "ana"] == [
        "a deleted member for 2026-10"
    ]
    assert len(after["hero_hall"]) == 1 and after["hero_hall"][0]["display_name"] == "olu"
    assert after["hero_nominations"] == []
    # Their review of ana stays (it is the maintainers' decision), without the reviewer.
    assert [(r["nominee_id"], r["reviewer_id"]) for r in after["hero_reviews"]] == [(ana.id, None)]
    assert len(after["meetings"]) == 1 and after["meetings"][0]["created_by"] is None
