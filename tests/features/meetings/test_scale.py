"""Issue 16: config sync by hash, precomputed next occurrences, planning caught up in batches.

Each test checks the incremental path against the brute-force answer (every meeting's series
expanded), on SQLite and PostgreSQL, with an explicit clock (no sleeps).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from bot.features.meetings import config_sync
from bot.features.meetings.background import catch_up
from bot.features.meetings.feature import suggest_meetings
from bot.features.meetings.lookup import merged_upcoming, upcoming_or_current
from bot.features.meetings.records import load_series
from bot.features.meetings.upcoming import candidates, next_meeting, with_series
from bot.store.meetings import LONG_AGO, Meeting
from bot.store.models import Delivery
from tests.support.console_bot import ConsoleBot as MeetingBot
from tests.support.meetings_bot import community_meeting, meeting_bot
from tests.support.migrations import migrate_to

NOW = datetime(2026, 12, 1, tzinfo=UTC)
COLUMNS = [c.key for c in Meeting.__table__.columns]


def weekly(i: int, **overrides: Any) -> dict[str, Any]:
    day = ("MO", "TU", "WE", "TH", "FR")[i % 5]
    values = community_meeting(
        id=f"wg{i}",
        name=f"WG {i}",
        rrule=f"FREQ=WEEKLY;BYDAY={day}",
        start=f"2026-01-{5 + i % 5:02d}T{8 + i % 7:02d}:00",
        timezone="UTC",
    )
    values.update(overrides)
    return values


async def _rows(bot: MeetingBot) -> dict[str, dict[str, Any]]:
    async with bot.app.db.sessions() as session:
        return {
            m.key: {c: getattr(m, c) for c in COLUMNS}
            for m in await session.scalars(select(Meeting))
        }


async def _deliveries(bot: MeetingBot, key: str) -> set[tuple[str, str, str]]:
    async with bot.app.db.sessions() as session:
        meeting_id = await session.scalar(select(Meeting.id).where(Meeting.key == key))
        rows = await session.execute(
            select(Delivery.occurrence, Delivery.target, Delivery.state).where(
                Delivery.subject == f"meeting:{meeting_id}"
            )
        )
        return {tuple(r) for r in rows.all()}  # type: ignore[misc]


@contextmanager
def writes() -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements any engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE", "DELETE") and "alembic_version" not in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def _truth(bot: MeetingBot) -> None:
    """Every fresh row's stored next occurrence is what expanding its series gives."""
    now = bot.clock.now
    async with bot.app.db.sessions() as session:
        for meeting in await session.scalars(select(Meeting)):
            if meeting.next_stale_at <= now:
                continue  # stale rows are expanded by readers, refreshed by catch_up
            expected = upcoming_or_current(await load_series(session, meeting), now)
            if not meeting.active or expected is None:
                assert meeting.next_start is None, meeting.key
                continue
            assert (meeting.next_date, meeting.next_start, meeting.next_end) == (
                expected.local_date,
                expected.start,
                expected.end,
            ), meeting.key
            assert meeting.next_moved == expected.moved
            assert meeting.next_stale_at == expected.end


async def _brute_next(bot: MeetingBot) -> tuple[datetime, str] | None:
    async with bot.app.db.sessions() as session:
        active = list(await session.scalars(select(Meeting).where(Meeting.state == "active")))
        found = [
            (o.start, m.key)
            for m, s in await with_series(session, active)
            if (o := upcoming_or_current(s, bot.clock.now)) is not None
        ]
    return min(found, default=None)


async def _check_reads(bot: MeetingBot) -> None:
    """next and list N from the stored values agree with expanding every meeting."""
    now = bot.clock.now
    brute_next = await _brute_next(bot)
    async with bot.app.db.sessions() as session:
        community_id = bot.app.services.community_id
        got = await next_meeting(session, community_id, now)
        assert (None if got is None else (got[0].start, got[1].key)) == brute_next
        active = list(await session.scalars(select(Meeting).where(Meeting.state == "active")))
        everything = await with_series(session, active)
        for count in (1, 3, 7):
            brute = list(itertools.islice(merged_upcoming(everything, now), count))
            quick = list(
                itertools.islice(
                    merged_upcoming(await candidates(session, community_id, now, count), now),
                    count,
                )
            )
            assert [(o.start, m.key) for o, m in quick] == [(o.start, m.key) for o, m in brute]


async def test_a_restart_with_nothing_changed_writes_nothing(any_db_url: str) -> None:
    meetings = [weekly(i) for i in range(6)]
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        before = await _rows(bot)
        assert all(r["declared_hash"] and r["plan_at"] > NOW for r in before.values())
    with writes() as seen:
        async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
            assert await _rows(bot) == before
    # (Stopping releases this process's delivery claims: one UPDATE that matches nothing.)
    touching = [s for s in seen if "meetings" in s or ("deliveries" in s and "claimed_by" not in s)]
    assert touching == []


async def test_a_changed_meeting_is_replanned_and_the_others_are_not_touched(
    any_db_url: str,
) -> None:
    meetings = [weekly(i) for i in range(3)]
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        before = await _rows(bot)
        planned = {key: await _deliveries(bot, key) for key in before}
    later = NOW + timedelta(hours=1)
    changed = [weekly(0), weekly(1, reminders=["2d", "1h"]), weekly(2, join_url=None)]
    async with meeting_bot(any_db_url, meetings=changed, now=later) as bot:
        after = await _rows(bot)
        assert after["wg0"] == before["wg0"]
        assert await _deliveries(bot, "wg0") == planned["wg0"]
        # The ladder changed: new rows for the new step, sequence bumped.
        assert after["wg1"]["sequence"] == 1 and after["wg1"]["updated_at"] == later
        assert any("/2d/" in occ for occ, _, _ in await _deliveries(bot, "wg1"))
        assert after["wg1"]["declared_hash"] != before["wg1"]["declared_hash"]
        # A presentation change: the row is updated, its reminders are the same rows.
        assert after["wg2"]["join_url"] is None and after["wg2"]["sequence"] == 1
        assert await _deliveries(bot, "wg2") == planned["wg2"]
        await _truth(bot)


async def test_next_occurrences_stay_true_through_commands_and_time(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        await _truth(bot)
        await _check_reads(bot)
        said = await bot.say(
            '/meeting create weekly --name "Weekly Sync" --start "2026-12-08 09:00" '
            '--rrule "FREQ=WEEKLY;BYDAY=TU" --duration 30m',
            as_="maya",
        )
        assert said.startswith("Created")
        await bot.say(
            '/meeting create daily --name Daily --start "2026-12-02 07:00" --zone UTC '
            "--rrule FREQ=DAILY",
            as_="maya",
        )
        steps = [
            "/meeting skip weekly 2026-12-08",
            '/meeting move daily 2026-12-02 "2026-12-02 06:00 UTC"',
            '/meeting edit weekly --start "2026-12-09 10:00" --rrule "FREQ=WEEKLY;BYDAY=WE"',
            "/meeting edit daily --duration 90m",
            "/meeting skip daily 2026-12-03",
        ]
        for line in steps:
            await bot.say(line, as_="maya")
            await _truth(bot)
            await _check_reads(bot)
        # Time passes: rows go stale, readers stay right, catch_up brings the rows up to date.
        for hours in (1, 5, 23, 30, 24 * 9, 24 * 40):
            bot.clock.now = NOW + timedelta(hours=hours)
            await _check_reads(bot)
            await catch_up(bot.app.services.views(), bot.clock.now)
            await _truth(bot)
        await bot.say("/meeting cancel daily", as_="maya")
        await _truth(bot)
        await _check_reads(bot)
        said = await bot.say("/meeting next")
        brute = await _brute_next(bot)
        assert brute is not None and brute[1] in ("community", "weekly")


async def test_start_plans_a_bounded_batch_and_the_rest_catches_up(
    any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_sync, "START_BATCH", 2)
    meetings = [weekly(i) for i in range(7)]
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        rows = await _rows(bot)
        waiting = [k for k, r in rows.items() if r["plan_at"] == LONG_AGO]
        assert len(waiting) == 5
        # Commands are right before the background got there.
        await _check_reads(bot)
        assert (await bot.say("/meeting list 3")).startswith("The next 3 meeting occurrences")
        assert await catch_up(bot.app.services.views(), NOW) == 5
        rows = await _rows(bot)
        assert all(r["plan_at"] > NOW for r in rows.values())
        for key in rows:
            assert await _deliveries(bot, key), key
        await _truth(bot)
        assert await catch_up(bot.app.services.views(), NOW) == 0


async def test_a_missed_chain_is_replanned_after_downtime(any_db_url: str) -> None:
    async with meeting_bot(any_db_url, meetings=[weekly(0)], now=NOW) as bot:
        first = (await _rows(bot))["wg0"]
    # Down for three weeks: every planned post passed unsent; the restart plans again.
    later = NOW + timedelta(days=21)
    async with meeting_bot(any_db_url, meetings=[weekly(0)], now=later) as bot:
        again = (await _rows(bot))["wg0"]
        assert again["plan_at"] > later and again["sequence"] == first["sequence"]
        async with bot.app.db.sessions() as session:
            due = await session.scalar(
                select(func.min(Delivery.due_at)).where(
                    Delivery.state == "pending", Delivery.due_at >= later
                )
            )
        assert due is not None and due == again["plan_at"]
        await _truth(bot)


async def test_discord_autocomplete_reads_keys_by_prefix(any_db_url: str) -> None:
    meetings = [weekly(i) for i in range(12)] + [community_meeting()]
    async with meeting_bot(any_db_url, meetings=meetings, now=NOW) as bot:
        services = bot.app.services
        assert await suggest_meetings(services, "wg1") == ["wg1", "wg10", "wg11"]
        assert await suggest_meetings(services, "CO") == ["community"]
        assert await suggest_meetings(services, "wg%") == []
        assert len(await suggest_meetings(services, "")) == 13


async def test_the_calendar_feed_is_rebuilt_only_when_a_meeting_changed(sqlite_url: str) -> None:
    import aiohttp

    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW, http=True) as bot:
        url = f"http://127.0.0.1:{bot.app.http_port}/calendar.ics"
        async with aiohttp.ClientSession() as http:

            async def fetch() -> str:
                async with http.get(url) as resp:
                    assert resp.status == 200
                    return await resp.text()

            first = await fetch()
            assert await fetch() == first
            await bot.say("/meeting skip community 2026-12-31", as_="maya")
            skipped = await fetch()
            assert skipped != first and "EXDATE" in skipped
            await bot.say(
                '/meeting create weekly --name "Weekly Sync" --start "2026-12-08 09:00" '
                '--rrule "FREQ=WEEKLY;BYDAY=TU"',
                as_="maya",
            )
            assert "Weekly Sync" in await fetch()


async def test_upgrading_from_0005_fills_next_occurrences_and_changes_nothing_else(
    any_db_url: str,
) -> None:
    from sqlalchemy import text

    from bot.store.db import Database

    # A database of the previous release holding a declared meeting synced by it.
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        before = (await _rows(bot))["community"]
    # Back to the previous release's schema (every later migration undone, data kept).
    await migrate_to(any_db_url, "0005", down=True)
    await migrate_to(any_db_url, "0006")
    db = Database(any_db_url)
    try:
        async with db.sessions() as session:
            row = await session.scalar(select(Meeting))
            assert row is not None
            assert row.next_stale_at == LONG_AGO and row.plan_at == LONG_AGO
            assert row.declared_hash is None and row.next_start is None
        # A pod of the previous release, beside the new ones, creates a meeting: the server
        # defaults mark it for the background to catch up.
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO meetings (community_id, key, name, description, rrule, "
                    "local_start, timezone, duration_minutes, reminders, source, state, "
                    "sequence, created_at, updated_at) SELECT community_id, 'old', 'Old', '', "
                    "rrule, local_start, timezone, 60, reminders, 'command', 'active', 0, "
                    "created_at, updated_at FROM meetings"
                )
            )
        async with db.sessions() as session:
            old = await session.scalar(select(Meeting).where(Meeting.key == "old"))
            assert old is not None and old.next_stale_at == LONG_AGO and old.plan_at == LONG_AGO
    finally:
        await db.dispose()
    async with meeting_bot(any_db_url, meetings=[community_meeting()], now=NOW) as bot:
        after = await _rows(bot)
        row = after["community"]
        assert row["sequence"] == before["sequence"] and row["updated_at"] == before["updated_at"]
        assert row["declared_hash"] == before["declared_hash"]
        assert row["next_start"] == before["next_start"] and row["plan_at"] > NOW
        assert after["old"]["next_start"] is not None and after["old"]["plan_at"] > NOW
        await _truth(bot)
