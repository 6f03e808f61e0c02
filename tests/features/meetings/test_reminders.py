"""The reminder ladder, agenda call and change notices, sent through the real delivery runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.store.models import Delivery
from tests.support.meetings_bot import community_meeting, meeting_bot


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def about(posts: list[str], name: str = "Community Meeting") -> list[str]:
    return [p for p in posts if name in p]


# Thursday 31 December 2026, 09:00 PST = 17:00 UTC.
DEC31 = utc("2026-12-31T17:00")


async def test_the_ladder_goes_out_at_each_step_and_only_then(sqlite_url: str) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        assert about(await bot.deliver()) == []
        seven = about(await bot.deliver(DEC31 - timedelta(days=7)))
        assert len(seven) == 1
        assert seven[0].startswith("#main: Reminder: Community Meeting starts in 7 days:")
        assert "Thu 31 Dec 2026, 09:00 PST (17:00 UTC)" in seven[0]
        assert "Join: https://example.org/zoom" in seven[0]
        agenda_call = about(await bot.deliver(DEC31 - timedelta(days=3)))
        assert len(agenda_call) == 1 and "Call for agenda items" in agenda_call[0]
        assert "/meeting agenda add community" in agenda_call[0]
        assert about(await bot.deliver(DEC31 - timedelta(days=1, minutes=1))) == []
        assert len(about(await bot.deliver(DEC31 - timedelta(days=1)))) == 1
        assert "starts in 1 hour" in about(await bot.deliver(DEC31 - timedelta(hours=1)))[0]
        starting = about(await bot.deliver(DEC31))
        assert len(starting) == 1
        assert "Community Meeting is starting now" in starting[0]
        assert "Join: https://example.org/zoom" in starting[0]
        assert "Register" not in starting[0]
        # Nothing is sent twice, and the next occurrence (28 Jan) is already planned.
        assert about(await bot.deliver(DEC31 + timedelta(minutes=5))) == []
        async with bot.app.db.sessions() as session:
            planned = set(
                await session.scalars(
                    select(Delivery.occurrence).where(Delivery.state == "pending")
                )
            )
        assert "2027-01-28/7d/20270128T1700Z" in planned


async def test_subscribers_get_the_ladder_by_direct_message_until_they_unsubscribe(
    sqlite_url: str,
) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        said = await bot.say("/meeting subscribe community", as_="ana")
        assert "Subscribed" in said
        assert "already subscribed" in await bot.say("/meeting subscribe community", as_="ana")
        posts = about(await bot.deliver(DEC31 - timedelta(days=7)))
        assert sorted(p.partition(":")[0] for p in posts) == ["#main", "direct message to @ana"]
        dm = next(p for p in posts if p.startswith("direct message"))
        assert "/meeting unsubscribe community stops them" in dm
        assert "Unsubscribed" in await bot.say("/meeting unsubscribe community", as_="ana")
        posts = about(await bot.deliver(DEC31 - timedelta(days=1)))
        assert [p.partition(":")[0] for p in posts] == ["#main"]
        assert "were not subscribed" in await bot.say("/meeting unsubscribe community", as_="ana")


async def test_a_skipped_occurrence_is_announced_and_never_reminded(sqlite_url: str) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        await bot.say("/meeting subscribe community", as_="ana")
        said = await bot.say("/meeting skip community 2026-12-31", as_="maya")
        assert said.startswith("Skipped Community Meeting on Thu 31 Dec 2026, 09:00 PST")
        assert "The one after it is Thu 28 Jan 2027" in said
        notices = about(await bot.deliver())
        assert sorted(p.partition(":")[0] for p in notices) == ["#main", "direct message to @ana"]
        assert all("is skipped" in p for p in notices)
        for step in (
            timedelta(days=7),
            timedelta(days=3),
            timedelta(days=1),
            timedelta(hours=1),
            timedelta(0),
        ):
            assert about(await bot.deliver(DEC31 - step)) == []
        # January's ladder still runs.
        jan28 = utc("2027-01-28T17:00")
        assert len(about(await bot.deliver(jan28 - timedelta(days=7)))) == 2
        again = await bot.say("/meeting skip community 2026-12-31", as_="maya")
        assert "already skipped" in again


async def test_a_moved_occurrence_is_reminded_at_its_new_time_only(sqlite_url: str) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        # Reminders for the old time are planned already; the move must withdraw them.
        said = await bot.say('/meeting move community 2026-12-31 "2027-01-05 10:00"', as_="maya")
        assert "Moved the 2026-12-31 occurrence" in said
        assert "Tue 5 Jan 2027, 10:00 PST (18:00 UTC)" in said
        notice = about(await bot.deliver())
        assert len(notice) == 1 and "moves to Tue 5 Jan 2027, 10:00 PST" in notice[0]
        new = utc("2027-01-05T18:00")
        assert about(await bot.deliver(DEC31 - timedelta(days=7))) == []
        week_before = about(await bot.deliver(new - timedelta(days=7)))
        assert len(week_before) == 1 and "starts in 7 days: Tue 5 Jan 2027" in week_before[0]
        for at in (DEC31 - timedelta(days=1), DEC31 - timedelta(hours=1), DEC31):
            assert about(await bot.deliver(at)) == []
        assert "starts in 1 day" in about(await bot.deliver(new - timedelta(days=1)))[0]
        assert "starting now" in about(await bot.deliver(new))[0]


async def test_moving_twice_keeps_only_the_latest_time(sqlite_url: str) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        await bot.say('/meeting move community 2026-12-31 "2027-01-05 10:00"', as_="maya")
        await bot.say('/meeting move community 2026-12-31 "2027-01-06 10:00"', as_="maya")
        notices = about(await bot.deliver())
        assert len(notices) == 1 and "Wed 6 Jan 2027" in notices[0]  # the first is stale
        assert about(await bot.deliver(utc("2027-01-05T18:00") - timedelta(hours=1))) == []
        assert len(about(await bot.deliver(utc("2027-01-06T18:00") - timedelta(hours=1)))) == 1


async def test_reminders_planned_while_down_are_not_sent_late(sqlite_url: str) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        # The process was down for the whole day before the meeting: only "starting now" goes.
        posts = about(await bot.deliver(DEC31 + timedelta(minutes=2)))
        assert len(posts) == 1 and "starting now" in posts[0]


async def test_a_cancelled_meeting_is_announced_and_falls_silent(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, now=utc("2026-12-01T00:00")) as bot:
        created = await bot.say(
            '/meeting create apac --name "APAC Hours" --start "2026-12-03 18:00 Asia/Kolkata" '
            '--rrule "FREQ=WEEKLY;BYDAY=TH" --duration 45m --join https://example.org/apac',
            as_="maya",
        )
        assert "Created APAC Hours (apac, repeats FREQ=WEEKLY;BYDAY=TH)" in created
        assert "Thu 3 Dec 2026, 18:00 IST (12:30 UTC)" in created
        assert "cancel" in (await bot.say("/meeting cancel apac", as_="maya")).lower()
        posts = about(await bot.deliver(), "APAC Hours")
        assert posts == ["#main: APAC Hours is cancelled: there will be no more meetings."]
        assert about(await bot.deliver(utc("2026-12-03T12:30") - timedelta(hours=1)), "APAC") == []
        assert "No meetings are coming up" in await bot.say("/meeting next")
        assert "was cancelled" in await bot.say("/meeting subscribe apac")


async def test_recap_is_posted_to_the_channels_and_kept_with_the_occurrence(
    sqlite_url: str,
) -> None:
    async with meeting_bot(
        sqlite_url, meetings=[community_meeting()], now=utc("2026-12-01T00:00")
    ) as bot:
        said = await bot.say(
            "/meeting recap community https://example.org/recording Thanks, everyone!", as_="mo"
        )
        assert "Saved the recap of Community Meeting on Thu 26 Nov 2026" in said
        posts = about(await bot.deliver())
        assert len(posts) == 1
        assert "Recording: https://example.org/recording" in posts[0]
        assert "> Thanks, everyone!" in posts[0]
        # A corrected recap replaces it and is posted again.
        await bot.say("/meeting recap community https://example.org/recording-v2", as_="mo")
        again = about(await bot.deliver())
        assert len(again) == 1 and "recording-v2" in again[0]
        refused = await bot.say("/meeting recap community https://example.org/x", as_="olu")
        assert refused.startswith("Only maintainers can use")


async def test_the_chain_keeps_planning_week_after_week_across_dst(any_db_url: str) -> None:
    """No restart for two months: each week's posts come from rows planned by earlier sends.

    Thursdays 09:00 in Los Angeles: 16:00 UTC until 1 November 2026, 17:00 UTC after.
    """
    weekly = community_meeting(
        rrule="FREQ=WEEKLY;BYDAY=TH", start="2026-10-01T09:00", reminders=["1d", "0m"]
    )
    async with meeting_bot(any_db_url, meetings=[weekly], now=utc("2026-09-25T00:00")) as bot:
        async with bot.app.db.sessions() as session:
            planned = set(
                await session.scalars(
                    select(Delivery.occurrence).where(Delivery.kind == "meeting_reminder")
                )
            )
        assert {key[:10] for key in planned} == {"2026-10-01", "2026-10-08"}  # the rest: chained
        starts = []
        thursday = datetime(2026, 10, 1, 16, tzinfo=UTC)
        while thursday < utc("2026-12-01T00:00"):
            starts.append(thursday)
            thursday += timedelta(days=7)
            if thursday.month == 11 and thursday.hour == 16:
                thursday += timedelta(hours=1)  # clocks went back on 1 November
        for start in starts:
            day_before = about(await bot.deliver(start - timedelta(days=1)))
            assert len(day_before) == 1 and "starts in 1 day" in day_before[0], start
            assert about(await bot.deliver(start - timedelta(minutes=1))) == []
            now = about(await bot.deliver(start))
            assert len(now) == 1 and "starting now" in now[0], start
            assert "09:00 PDT" in now[0] or "09:00 PST" in now[0]
        assert len(starts) == 9
