"""`/meeting` commands end to end on the console, and GET /calendar.ics over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import icalendar
import recurring_ical_events

from tests.support.meetings_bot import community_meeting, meeting_bot

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_next_shows_name_time_links_and_agenda(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say("/meeting agenda add community Release 2.0 plans", as_="olu")
        said = await bot.say("/meeting next")
        assert said.splitlines() == [
            "Community Meeting — Thu 31 Dec 2026, 09:00 PST (17:00 UTC)",
            "Join: https://example.org/zoom · Register: https://example.org/register",
            "Agenda:",
            "  • 1. Release 2.0 plans",
        ]
        # A reader who set a zone sees their own.
        await bot.say("/communitybot timezone Europe/Berlin", as_="ana")
        assert "Thu 31 Dec 2026, 18:00 CET (17:00 UTC)" in await bot.say("/meeting next", as_="ana")
        bot.clock.now = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
        assert "(happening now)" in await bot.say("/meeting next")


async def test_list_each_meeting_or_the_next_n_occurrences_merged(sqlite_url: str) -> None:
    meetings = [
        community_meeting(),
        community_meeting(
            id="apac",
            name="APAC Hours",
            rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
            start="2026-01-07T18:00",
            timezone="Asia/Kolkata",
            join_url=None,
        ),
    ]
    async with meeting_bot(sqlite_url, meetings=meetings, now=NOW) as bot:
        listing = (await bot.say("/meeting list")).splitlines()
        assert listing == [
            "Meetings and their next occurrence:",
            "  • APAC Hours (apac): next Wed 9 Dec 2026, 18:00 IST (12:30 UTC)",
            "  • Community Meeting (community): next Thu 31 Dec 2026, 09:00 PST (17:00 UTC)",
        ]
        merged = (await bot.say("/meeting list 4")).splitlines()
        assert merged[0] == "The next 4 meeting occurrences:"
        assert [line.split(" — ")[0].strip(" •") for line in merged[1:]] == [
            "APAC Hours",
            "APAC Hours",
            "Community Meeting",
            "APAC Hours",
        ]
        assert "23 Dec 2026" in merged[2] and "6 Jan 2027" in merged[4]
        assert merged[3].endswith("Join: https://example.org/zoom")
        assert "between 1 and 50" in await bot.say("/meeting list 0")


async def test_create_validates_and_edit_changes_the_schedule(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, now=NOW) as bot:
        off_rule = await bot.say(
            '/meeting create weekly --name Weekly --start "2026-12-02 09:00" '
            '--rrule "FREQ=WEEKLY;BYDAY=TU"',
            as_="maya",
        )
        assert off_rule == (
            "The start 2026-12-02 09:00 does not fall on the rule FREQ=WEEKLY;BYDAY=TU; "
            "its first date after that is Tue 2026-12-08."
        )
        hourly = await bot.say(
            '/meeting create weekly --name W --start "2026-12-08 09:00" --rrule FREQ=HOURLY',
            as_="maya",
        )
        assert "meetings recur at most daily" in hourly
        gap = await bot.say(
            '/meeting create weekly --name W --start "2027-03-14 02:30" --rrule FREQ=WEEKLY',
            as_="maya",
        )
        assert "does not exist in America/Los_Angeles" in gap
        assert "needs --name and --start" in await bot.say("/meeting create weekly", as_="maya")
        assert "private, loopback or link-local" in await bot.say(
            '/meeting create w --name W --start "2026-12-08 09:00" --join http://10.0.0.1/',
            as_="maya",
        )
        refused = await bot.say('/meeting create w --name W --start "2026-12-08 09:00"', as_="olu")
        assert refused.startswith("Only maintainers can use")
        assert "no meeting" in (await bot.say("/meeting list")).lower()

        created = await bot.say(
            '/meeting create weekly --name "Weekly Sync" --start "2026-12-08 09:00" '
            '--rrule "FREQ=WEEKLY;BYDAY=TU" --duration 30m',
            as_="maya",
        )
        assert created == (
            "Created Weekly Sync (weekly, repeats FREQ=WEEKLY;BYDAY=TU): "
            "next Tue 8 Dec 2026, 09:00 PST (17:00 UTC)."
        )
        assert "already exists" in await bot.say(
            '/meeting create weekly --name X --start "2026-12-08 09:00"', as_="maya"
        )
        await bot.say("/meeting skip weekly 2026-12-15", as_="maya")
        edited = await bot.say(
            '/meeting edit weekly --start "2026-12-10 10:00 Europe/Berlin" --rrule FREQ=WEEKLY',
            as_="maya",
        )
        assert edited.splitlines() == [
            "Updated Weekly Sync (weekly, repeats FREQ=WEEKLY): next Thu 10 Dec 2026, "
            "10:00 CET (09:00 UTC).",
            "Skips and moves of dates off the new schedule were dropped: 2026-12-15.",
        ]
        assert "Say what to change" in await bot.say("/meeting edit weekly", as_="maya")
        audit = await bot.say("/communitybot audit 10", as_="maya")
        assert "meeting create" in audit and "meeting edit" in audit and "meeting skip" in audit


async def test_skip_and_move_refuse_dates_off_the_rule_or_past(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        off = await bot.say("/meeting skip community 2026-12-24", as_="maya")
        assert off == (
            "The meeting community has no occurrence on 2026-12-24; "
            "the next one after it is on 2026-12-31."
        )
        assert "already past" in await bot.say("/meeting skip community 2026-11-26", as_="maya")
        assert "write it like 2026-12-31" in await bot.say(
            "/meeting skip community Dec-31", as_="maya"
        )
        assert "no meeting “nope”" in await bot.say("/meeting skip nope 2026-12-31", as_="maya")
        past = await bot.say('/meeting move community 2026-12-31 "2026-11-30 09:00"', as_="maya")
        assert "already past" in past
        # Times without a zone are the asker's zone (here Berlin), else the community's.
        await bot.say("/communitybot timezone Europe/Berlin", as_="mo")
        moved = await bot.say('/meeting move community 2026-12-31 "2027-01-04 18:00"', as_="mo")
        assert "Mon 4 Jan 2027, 18:00 CET (17:00 UTC)" in moved


async def test_agenda_add_list_remove_with_a_per_member_rate_limit(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        for n in range(1, 6):
            said = await bot.say(f"/meeting agenda add community Topic {n}", as_="olu")
            assert said.startswith(f"Added as item {n} to the agenda of Community Meeting")
        limited = await bot.say("/meeting agenda add community Topic 6", as_="olu")
        assert "please wait" in limited
        assert "Added as item 6" in await bot.say(
            "/meeting agenda add community From ana", as_="ana"
        )
        bot.clock.now += timedelta(hours=1, seconds=1)
        assert "Added as item 7" in await bot.say("/meeting agenda add community Later", as_="olu")
        assert await bot.say("/meeting agenda remove community 2", as_="olu") == (
            "Only maintainers can use /meeting agenda remove."
        )
        assert "Removed item 2" in await bot.say("/meeting agenda remove community 2", as_="maya")
        assert "no item 9" in await bot.say("/meeting agenda remove community 9", as_="maya")
        listing = (await bot.say("/meeting agenda list community")).splitlines()
        assert listing[2:] == [
            "  • 1. Topic 1",
            "  • 2. Topic 3",
            "  • 3. Topic 4",
            "  • 4. Topic 5",
            "  • 5. From ana",
            "  • 6. Later",
        ]
        # After the meeting, the agenda belongs to the next occurrence.
        bot.clock.now = datetime(2026, 12, 31, 17, 1, tzinfo=UTC)
        after = (await bot.say("/meeting agenda list community")).splitlines()
        assert "Thu 28 Jan 2027" in after[0] and after[1] == "No agenda items yet."


async def test_the_calendar_feed_over_http_follows_skips_and_moves(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW, http=True) as bot:
        url = f"http://127.0.0.1:{bot.app.http_port}/calendar.ics"
        assert "127.0.0.1" in await bot.say("/meeting ics")
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
                etag = response.headers["ETag"]
                before = await response.read()
            async with http.get(url, headers={"If-None-Match": etag}) as response:
                assert response.status == 304
            await bot.say("/meeting skip community 2026-12-31", as_="maya")
            await bot.say('/meeting move community 2027-01-28 "2027-01-29 10:00"', as_="maya")
            async with http.get(url) as response:
                after = await response.read()
        assert before != after
        calendar = icalendar.Calendar.from_ical(after)
        event = calendar.events[0]
        assert event["SEQUENCE"] == 2 and "community" in str(event["UID"])
        window = recurring_ical_events.of(calendar).between(NOW, datetime(2027, 3, 1, tzinfo=UTC))
        starts = [e.start.astimezone(UTC) for e in window]
        assert starts == [
            datetime(2027, 1, 29, 18, tzinfo=UTC),
            datetime(2027, 2, 25, 17, tzinfo=UTC),
        ]
        assert "Join: https://example.org/zoom" in str(event["DESCRIPTION"])


async def test_a_cancelled_meeting_stays_in_the_feed_as_cancelled(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, now=NOW, http=True) as bot:
        await bot.say(
            '/meeting create apac --name "APAC Hours" --start "2026-12-03 18:00 Asia/Kolkata" '
            "--rrule FREQ=WEEKLY",
            as_="maya",
        )
        await bot.say("/meeting cancel apac", as_="maya")
        url = f"http://127.0.0.1:{bot.app.http_port}/calendar.ics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            calendar = icalendar.Calendar.from_ical(await response.read())
        (event,) = calendar.events
        assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
        assert calendar.timezones[0].tz_name == "Asia/Kolkata"
        bot.clock.now = NOW + timedelta(days=91)
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert icalendar.Calendar.from_ical(await response.read()).events == []


async def test_a_moved_occurrence_can_be_managed_until_its_new_time(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        await bot.say('/meeting move community 2026-12-31 "2027-01-05 10:00"', as_="maya")
        bot.clock.now = datetime(2027, 1, 2, tzinfo=UTC)  # after 31 Dec, before 5 Jan
        said = await bot.say("/meeting skip community 2026-12-31", as_="maya")
        assert said.startswith("Skipped Community Meeting on Tue 5 Jan 2027, 10:00 PST")
        revived = await bot.say('/meeting move community 2026-12-31 "2027-01-06 10:00"', as_="maya")
        assert "Wed 6 Jan 2027, 10:00 PST" in revived
        bot.clock.now = datetime(2027, 1, 7, tzinfo=UTC)
        assert "already past" in await bot.say("/meeting skip community 2026-12-31", as_="maya")


async def test_description_and_agenda_link_by_command(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[], now=NOW) as bot:
        created = await bot.say(
            '/meeting create apac --name "APAC hours" --start "2026-12-03 09:00 Asia/Kolkata" '
            '--description "Office hours for Asia-Pacific" --agenda https://example.org/doc',
            as_="maya",
        )
        assert created.startswith("Created"), created
        said = await bot.say("/meeting next")
        assert "Office hours for Asia-Pacific" in said
        assert "Agenda document: https://example.org/doc" in said
        await bot.say('/meeting edit apac --description "Bring questions"', as_="maya")
        said = await bot.say("/meeting next")
        assert "Bring questions" in said and "Office hours" not in said
        refused = await bot.say("/meeting edit apac --agenda http://10.0.0.1/doc", as_="maya")
        assert "private" in refused
        assert "https://example.org/doc" in await bot.say("/meeting next")
