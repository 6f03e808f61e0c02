"""Issue 15, items 16 and 17: VTIMEZONE onsets and DTSTAMP in /calendar.ics.

Every observance the feed writes is checked against zoneinfo: its DTSTART, read in
TZOFFSETFROM's offset as RFC 5545 §3.6.5 says, must be the UTC instant of a real change,
and every change zoneinfo knows in the feed's range must have its observance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest

from bot.features.meetings.calendar_feed import FeedEntry, build_calendar
from bot.features.meetings.recurrence import Series, make_series
from tests.support.meetings_bot import community_meeting, meeting_bot

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ZONES = [
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Sydney",  # southern hemisphere: DAYLIGHT starts in October
    "America/St_Johns",  # half-hour offset
    "Asia/Tokyo",  # no DST since 1951
    "Asia/Kolkata",  # no DST since 1945
]


def _series(zone: str) -> Series:
    return make_series(
        local_start=datetime(2026, 1, 6, 9),
        zone=zone,
        duration=timedelta(hours=1),
        rrule="FREQ=WEEKLY;BYDAY=TU",
    )


def _feed(zones: list[str]) -> icalendar.Calendar:
    entries = [
        FeedEntry(uid=f"m{i}", name="Meeting", series=_series(zone), stamp=NOW)
        for i, zone in enumerate(zones)
    ]
    return icalendar.Calendar.from_ical(build_calendar(entries, name="Example", now=NOW))


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta | None, str | None, bool]:
    local = instant.astimezone(zone)
    return local.utcoffset(), local.tzname(), bool(local.dst())


def _changes_hour_by_hour(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The hours (UTC, exclusive start) in which zoneinfo's state changes, found naively."""
    found, instant, before = [], start, _state(zone, start)
    while instant < end:
        instant += timedelta(hours=1)
        now = _state(zone, instant)
        if now != before:
            found.append(instant)
        before = now
    return found


@pytest.mark.parametrize("key", ZONES)
def test_every_onset_is_a_real_zoneinfo_transition(key: str) -> None:
    calendar = _feed([key])
    (timezone,) = calendar.timezones
    assert timezone["TZID"] == key
    zone = ZoneInfo(key)
    onsets: list[datetime] = []
    kinds = set()
    for observance in timezone.subcomponents:
        kinds.add(observance.name)
        local = observance.decoded("DTSTART")
        offset_from = observance.decoded("TZOFFSETFROM")
        offset_to = observance.decoded("TZOFFSETTO")
        assert local.tzinfo is None
        instant = (local - offset_from).replace(tzinfo=UTC)
        before, after = _state(zone, instant - SECOND), _state(zone, instant)
        # A change happens exactly at this instant, from TZOFFSETFROM to TZOFFSETTO.
        assert before != after, (observance.name, local)
        assert before[0] == offset_from and after[0] == offset_to, (observance.name, local)
        assert str(observance["TZNAME"]) == after[1]
        assert observance.name == ("DAYLIGHT" if after[2] else "STANDARD")
        onsets.append(instant)
    assert onsets == sorted(onsets)
    # Complete: the first observance is in force on Jan 1 of the meeting's first year, and
    # each change zoneinfo has from then to 20 years ahead has its observance.
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2047, 1, 1, tzinfo=UTC)
    assert onsets[0] <= start < (onsets[1] if len(onsets) > 1 else end)
    expected = _changes_hour_by_hour(zone, start, end)
    assert len(onsets[1:]) == len(expected)
    for onset, hour in zip(onsets[1:], expected, strict=True):
        assert hour - timedelta(hours=1) < onset <= hour
    if key in ("Asia/Tokyo", "Asia/Kolkata"):
        assert kinds == {"STANDARD"} and len(onsets) == 1
    else:
        assert kinds == {"STANDARD", "DAYLIGHT"} and len(onsets) == 2 * 21 + 1


def test_the_issue_s_example_daylight_onset() -> None:
    """2026-03-08: Los Angeles springs forward at 02:00 PST, 10:00 UTC (not 03:00)."""
    (timezone,) = _feed(["America/Los_Angeles"]).timezones
    text = timezone.to_ical().decode()
    assert "BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZNAME:PDT\r\n" in text
    # Sydney springs forward on 2026-10-04 at 02:00 AEST and falls back on 2026-04-05 at 03:00 AEDT.
    (sydney,) = _feed(["Australia/Sydney"]).timezones
    text = sydney.to_ical().decode()
    assert "DTSTART:20261004T020000\r\nTZNAME:AEDT\r\nTZOFFSETFROM:+1000" in text
    assert "DTSTART:20260405T030000\r\nTZNAME:AEST\r\nTZOFFSETFROM:+1100" in text


def test_a_zone_that_never_changed_still_has_one_observance() -> None:
    """RFC 5545 wants at least one; with no change to point at, the conventional 1601 onset."""
    (timezone,) = _feed(["Etc/GMT-3"]).timezones
    (observance,) = timezone.subcomponents
    assert observance.name == "STANDARD"
    assert observance.decoded("DTSTART") == datetime(1601, 1, 1)
    assert observance.decoded("TZOFFSETFROM") == observance.decoded("TZOFFSETTO")
    assert observance.decoded("TZOFFSETTO") == timedelta(hours=3)


def test_dtstamp_is_the_generation_time_and_last_modified_the_change() -> None:
    edited = NOW - timedelta(days=30)
    entry = FeedEntry(uid="m", name="M", series=_series("Europe/Berlin"), stamp=edited, sequence=3)
    later = NOW + timedelta(days=2, hours=5)
    event = icalendar.Calendar.from_ical(build_calendar([entry], name="E", now=later)).events[0]
    assert event.decoded("DTSTAMP") == later
    assert event.decoded("LAST-MODIFIED") == edited
    assert event["SEQUENCE"] == 3


async def test_over_http_dtstamp_follows_the_clock_and_the_etag_the_meetings(
    sqlite_url: str,
) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=start, http=True) as bot:
        url = f"http://127.0.0.1:{bot.app.http_port}/calendar.ics"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                etag = response.headers["ETag"]
                first = icalendar.Calendar.from_ical(await response.read()).events[0]
            assert first.decoded("DTSTAMP") == start
            created = first.decoded("LAST-MODIFIED")
            assert created <= start

            bot.clock.now = start + timedelta(hours=3)
            async with http.get(url) as response:
                assert response.headers["ETag"] == etag  # same meetings, same tag
                again = icalendar.Calendar.from_ical(await response.read()).events[0]
            assert again.decoded("DTSTAMP") == start + timedelta(hours=3)
            assert again.decoded("LAST-MODIFIED") == created
            assert again["SEQUENCE"] == first["SEQUENCE"]
            async with http.get(url, headers={"If-None-Match": etag}) as response:
                assert response.status == 304

            await bot.say("/meeting skip community 2026-12-31", as_="maya")
            bot.clock.now = start + timedelta(hours=4)
            async with http.get(url) as response:
                assert response.headers["ETag"] != etag
                edited = icalendar.Calendar.from_ical(await response.read()).events[0]
            assert edited["SEQUENCE"] == first["SEQUENCE"] + 1
            assert edited.decoded("LAST-MODIFIED") == start + timedelta(hours=3)
            assert edited.decoded("DTSTAMP") == start + timedelta(hours=4)
