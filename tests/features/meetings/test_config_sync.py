"""`[[meetings]]` synced at start: created or updated by id, archived when removed, idempotent.

Runs on SQLite and PostgreSQL (skipped with a reason without COMMUNITYBOT_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import parse_file_config
from bot.config import ConfigError
from bot.store.meetings import Meeting, MeetingOverride
from bot.store.models import Delivery
from tests.support.clock import Clock
from tests.support.meetings_bot import community_meeting, meeting_bot

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def _rows(bot) -> dict[str, Meeting]:  # type: ignore[no-untyped-def]
    async with bot.app.db.sessions() as session:
        return {m.key: m for m in await session.scalars(select(Meeting))}


async def _pending(bot) -> int:  # type: ignore[no-untyped-def]
    async with bot.app.db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
        )
    return int(count or 0)


async def test_sync_creates_then_changes_nothing_on_a_restart(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        first = (await _rows(bot))["community"]
        planned = await _pending(bot)
        assert first.source == "config" and first.state == "active" and first.sequence == 0
        assert first.rrule == "FREQ=MONTHLY;BYDAY=-1TH" and first.local_start == "2026-01-29T09:00"
        assert planned > 0
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        again = await _rows(bot)
        assert list(again) == ["community"]
        assert again["community"].id == first.id and again["community"].sequence == 0
        assert await _pending(bot) == planned


async def _meeting_rows(bot) -> int:  # type: ignore[no-untyped-def]
    async with bot.app.db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.kind.like("meeting_%"))
        )
    return int(count or 0)


async def test_replicas_starting_together_sync_once(any_db_url: str) -> None:
    meetings = [
        community_meeting(),
        community_meeting(id="apac", name="APAC", start="2026-01-29T18:00"),
    ]
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        alone = await _meeting_rows(bot)  # one start, as `communitybot db upgrade` then run

    async def start() -> None:
        async with meeting_bot(any_db_url, meetings=meetings, now=NOW):
            pass

    await asyncio.gather(start(), start(), start())
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        rows = await _rows(bot)
        assert sorted(rows) == ["apac", "community"]
        assert rows["community"].sequence == rows["apac"].sequence == 0
        assert await _meeting_rows(bot) == alone > 0


async def test_declared_changes_update_the_row_and_replan(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        assert "Skipped" in await bot.say("/meeting skip community 2027-02-25", as_="maya")
        assert "Skipped" in await bot.say("/meeting skip community 2026-12-31", as_="maya")
    moved = community_meeting(
        name="Community Call", rrule="FREQ=MONTHLY;BYDAY=3TH", start="2026-01-15T10:00"
    )
    async with meeting_bot(any_db_url, meetings=[moved], now=NOW) as bot:
        row = (await _rows(bot))["community"]
        assert (row.name, row.rrule, row.local_start, row.sequence) == (
            "Community Call",
            "FREQ=MONTHLY;BYDAY=3TH",
            "2026-01-15T10:00",
            3,  # two skips, then this change
        )
        async with bot.app.db.sessions() as session:
            overrides = list(await session.scalars(select(MeetingOverride)))
            pending = set(
                await session.scalars(
                    select(Delivery.occurrence).where(
                        Delivery.state == "pending", Delivery.kind == "meeting_reminder"
                    )
                )
            )
        assert overrides == []  # last Thursdays are not on the third-Thursday rule
        assert not any(key.startswith("2026-12-31/") for key in pending)
        assert "2026-12-17/1d/20261217T1800Z" in pending
        said = await bot.say("/meeting next")
        assert said.startswith("Community Call — Thu 17 Dec 2026, 10:00 PST")


async def test_removed_meetings_are_archived_but_command_created_ones_stay(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say(
            '/meeting create apac --name "APAC Hours" --start "2026-12-03 18:00" '
            "--zone Asia/Kolkata --rrule FREQ=WEEKLY;BYDAY=TH",
            as_="maya",
        )
    async with meeting_bot(any_db_url, meetings=[], now=NOW) as bot:
        rows = await _rows(bot)
        assert rows["community"].state == "archived" and rows["apac"].state == "active"
        assert "archived" in await bot.say("/meeting subscribe community")
        assert "APAC Hours" in await bot.say("/meeting list")
        async with bot.app.db.sessions() as session:
            live = set(
                await session.scalars(
                    select(Delivery.subject).where(
                        Delivery.state == "pending", Delivery.kind.like("meeting_%")
                    )
                )
            )
        assert live == {f"meeting:{rows['apac'].id}"}
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        assert (await _rows(bot))["community"].state == "active"  # declared again: revived


async def test_declared_fields_are_read_only_through_commands(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        said = await bot.say('/meeting edit community --name "Other"', as_="maya")
        assert said == (
            "The meeting community is managed in the config file, so its --name can only be "
            "changed there."
        )
        assert "remove it there" in await bot.say("/meeting cancel community", as_="maya")
        assert (await _rows(bot))["community"].name == "Community Meeting"
        # Occurrence-level commands still work on a declared meeting.
        assert "Skipped" in await bot.say("/meeting skip community 2026-12-31", as_="maya")
        assert "Added" in await bot.say("/meeting agenda add community Roadmap", as_="olu")


async def test_a_config_entry_takes_over_a_command_created_meeting_of_its_id(
    sqlite_url: str,
) -> None:
    clock = Clock(NOW)
    async with meeting_bot(sqlite_url, now=NOW, clock=clock) as bot:
        await bot.say(
            '/meeting create community --name "Ad hoc" --start "2026-12-10 09:00"', as_="maya"
        )
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        row = (await _rows(bot))["community"]
        assert (row.source, row.name, row.rrule) == (
            "config",
            "Community Meeting",
            "FREQ=MONTHLY;BYDAY=-1TH",
        )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"start": "2026-01-22T09:00"}, "does not fall on the rule"),
        ({"rrule": "FREQ=HOURLY"}, "meetings recur at most daily"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"reminders": ["1y"]}, "not a duration"),
        ({"join_url": "ftp://example.org/x"}, "is not a web link"),
        ({"register_url": "http://192.168.1.5/r"}, "private, loopback or link-local"),
        ({"start": "next thursday"}, "is not a local start time"),
    ],
)
def test_bad_declared_meetings_refuse_the_config_with_one_sentence(
    change: dict[str, object], says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_file_config({"meetings": [community_meeting(**change)]})
    assert len(raised.value.problems) == 1
    problem = raised.value.problems[0]
    assert problem.startswith("meetings.0") and says in problem, problem
