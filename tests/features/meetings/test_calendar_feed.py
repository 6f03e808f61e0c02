"""The iCalendar feed, checked against an independent reader: recurring-ical-events.

The oracle of issue 6: for every rule x zone below, over ten years, the occurrences the bot
computes are exactly those recurring-ical-events expands from the bot's own feed, at the
meeting's local wall-clock time on both sides of every DST change.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from bot.features.meetings.calendar_feed import FeedEntry, build_calendar, meeting_uid
from bot.features.meetings.recurrence import (
    Move,
    Occurrence,
    Series,
    make_series,
    occurrences_between,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEN_YEARS_END = datetime(2036, 1, 1, tzinfo=UTC)
ZONES = [
    "America/Los_Angeles",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/St_Johns",
    "UTC",
]
# (rule, a first start that falls on it)
RULES = {
    "last Thursday monthly": ("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00"),
    "3rd Thursday monthly": ("FREQ=MONTHLY;BYDAY=3TH", "2026-01-15T09:00"),
    "weekly Tuesday": ("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T09:00"),
    "every 2 weeks Wednesday": ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "2026-01-07T09:00"),
}

Seen = list[tuple[str, datetime, datetime]]  # (occurrence key, start UTC, end UTC)


def entry(series: Series, uid: str = "m1", **kw) -> FeedEntry:
    return FeedEntry(uid=uid, name="Community Meeting", series=series, stamp=NOW, **kw)


def feed(*entries: FeedEntry) -> bytes:
    return build_calendar(entries, name="Example Community", now=NOW)


def ours(series: Series, start: datetime, end: datetime) -> Seen:
    return [(o.key, o.start, o.end) for o in occurrences_between(series, start, end)]


def theirs(document: bytes, start: datetime, end: datetime, zone: str) -> Seen:
    """What recurring-ical-events sees in the feed, keyed like the bot keys occurrences."""
    calendar = icalendar.Calendar.from_ical(document)
    seen = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        recurrence_id = event["RECURRENCE-ID"].dt
        key = recurrence_id.astimezone(ZoneInfo(zone)).date().isoformat()
        seen.append((key, event.start.astimezone(UTC), event.end.astimezone(UTC)))
    return sorted(seen, key=lambda item: item[1])


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("rule_name", list(RULES))
def test_oracle_ten_years_of_occurrences_match_recurring_ical_events(
    rule_name: str, zone: str
) -> None:
    rule, first = RULES[rule_name]
    series = make_series(
        local_start=datetime.fromisoformat(first),
        zone=zone,
        duration=timedelta(minutes=60),
        rrule=rule,
    )
    expected = ours(series, NOW, TEN_YEARS_END)
    assert expected == theirs(feed(entry(series)), NOW, TEN_YEARS_END, zone)

    tz = ZoneInfo(zone)
    local = [start.astimezone(tz) for _, start, _ in expected]
    assert {moment.strftime("%H:%M") for moment in local} == {"09:00"}
    assert all(
        moment.date().isoformat() == key
        for moment, (key, _, _) in zip(local, expected, strict=True)
    )
    # The window really crosses DST changes where the zone has them (so the test can fail).
    offsets = {moment.utcoffset() for moment in local}
    assert len(offsets) == (1 if zone in ("UTC", "Asia/Kolkata") else 2)
    minimum = {"weekly Tuesday": 520, "every 2 weeks Wednesday": 260}.get(rule_name, 120)
    assert len(expected) >= minimum


def test_oracle_also_holds_when_the_reader_must_use_our_vtimezones() -> None:
    """Rename each TZID so the reader cannot look the IANA name up and has to use VTIMEZONE."""
    for zone, (rule, first) in itertools.product(ZONES[:5], RULES.values()):
        series = make_series(
            local_start=datetime.fromisoformat(first),
            zone=zone,
            duration=timedelta(minutes=60),
            rrule=rule,
        )
        document = feed(entry(series))
        private = f"communitybot-oracle-{zone.replace('/', '-')}"
        renamed = document.replace(f"TZID:{zone}".encode(), f"TZID:{private}".encode())
        renamed = renamed.replace(f"TZID={zone}".encode(), f"TZID={private}".encode())
        assert renamed.count(private.encode()) >= 2
        expected = ours(series, NOW, TEN_YEARS_END)
        assert expected == theirs(renamed, NOW, TEN_YEARS_END, zone), (zone, rule)


@pytest.mark.parametrize(
    ("zone", "rule", "first"),
    [
        # Starts inside the spring gap and the autumn repeated hour of each zone.
        ("America/Los_Angeles", "FREQ=WEEKLY;BYDAY=SU", "2026-01-04T02:30"),
        ("America/Los_Angeles", "FREQ=WEEKLY;BYDAY=SU", "2026-01-04T01:30"),
        ("Europe/Berlin", "FREQ=MONTHLY;BYDAY=-1SU", "2026-01-25T02:30"),
        ("Australia/Sydney", "FREQ=MONTHLY;BYDAY=1SU", "2026-01-04T02:30"),
        ("America/St_Johns", "FREQ=WEEKLY;BYDAY=SU", "2026-01-04T02:15"),
        ("America/St_Johns", "FREQ=WEEKLY;BYDAY=SU", "2026-01-04T01:15"),
    ],
)
def test_oracle_agrees_on_starts_inside_dst_gaps_and_repeated_hours(
    zone: str, rule: str, first: str
) -> None:
    series = make_series(
        local_start=datetime.fromisoformat(first),
        zone=zone,
        duration=timedelta(minutes=45),
        rrule=rule,
    )
    end = datetime(2031, 1, 1, tzinfo=UTC)
    expected = ours(series, NOW, end)
    # Starts and names must agree. Ends are compared on our side only: DURATION in hours
    # and minutes is exact time (RFC 5545 section 3.8.2.5), while recurring-ical-events adds
    # it to the wall clock, so on a DST-change day it can even end before it starts.
    seen = theirs(feed(entry(series)), NOW, end, zone)
    assert [(key, start) for key, start, _ in expected] == [(key, start) for key, start, _ in seen]
    assert all(end - start == timedelta(minutes=45) for _, start, end in expected)
    wall_clocks = {start.astimezone(ZoneInfo(zone)).strftime("%H:%M") for _, start, _ in expected}
    assert len(wall_clocks) == (2 if first.endswith(("02:30", "02:15")) else 1)


def _series(rule: str, first: str, zone: str) -> Series:
    return make_series(
        local_start=datetime.fromisoformat(first),
        zone=zone,
        duration=timedelta(minutes=60),
        rrule=rule,
    )


def test_skips_round_trip_as_exdate() -> None:
    series = _series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00", "America/Los_Angeles")
    skipped = series.with_skip(date(2026, 3, 26)).with_skip(date(2026, 12, 31))
    document = feed(entry(skipped))
    unfolded = document.replace(b"\r\n ", b"")
    assert b"EXDATE;TZID=America/Los_Angeles:20260326T090000,20261231T090000" in unfolded
    seen = theirs(document, NOW, datetime(2028, 1, 1, tzinfo=UTC), "America/Los_Angeles")
    keys = [key for key, _, _ in seen]
    assert "2026-03-26" not in keys and "2026-12-31" not in keys and "2026-11-26" in keys
    assert seen == ours(skipped, NOW, datetime(2028, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("zone", ZONES)
def test_moves_round_trip_as_recurrence_id_overrides(zone: str) -> None:
    series = _series("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T09:00", zone)
    # One across a DST change, one pulled before its predecessor, one out of the window.
    moved = (
        series.with_move(date(2026, 3, 24), datetime(2026, 4, 2, 15, 0, tzinfo=UTC))
        .with_move(date(2026, 6, 16), datetime(2026, 6, 8, 6, 0, tzinfo=UTC))
        .with_move(date(2026, 1, 6), datetime(2025, 12, 30, 6, 0, tzinfo=UTC))
    )
    document = feed(entry(moved))
    assert document.count(b"RECURRENCE-ID") == 3
    end = datetime(2027, 1, 1, tzinfo=UTC)
    seen = theirs(document, NOW, end, zone)
    assert seen == ours(moved, NOW, end)
    by_key = {key: start for key, start, _ in seen}
    assert by_key["2026-03-24"] == datetime(2026, 4, 2, 15, 0, tzinfo=UTC)
    assert by_key["2026-06-16"] == datetime(2026, 6, 8, 6, 0, tzinfo=UTC)
    assert "2026-01-06" not in by_key


def test_a_move_into_the_second_repeated_hour_is_written_unambiguously() -> None:
    series = _series("FREQ=WEEKLY;BYDAY=SU", "2026-10-04T10:00", "America/Los_Angeles")
    second_0130 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, after 01:30 PDT
    moved = series.with_move(date(2026, 10, 25), second_0130)
    document = feed(entry(moved))
    assert b"DTSTART:20261101T093000Z" in document
    seen = theirs(document, NOW, datetime(2027, 1, 1, tzinfo=UTC), "America/Los_Angeles")
    assert ("2026-10-25", second_0130, second_0130 + timedelta(hours=1)) in seen


def test_a_skipped_move_is_not_in_the_feed() -> None:
    series = _series("FREQ=WEEKLY", "2026-01-01T09:00", "Europe/Berlin")
    both = Series(
        series.local_start,
        series.zone,
        series.duration,
        series.rrule,
        frozenset({date(2026, 1, 8)}),
        (Move(date(2026, 1, 8), datetime(2026, 1, 9, 9, tzinfo=UTC)),),
    )
    document = feed(entry(both))
    assert b"RECURRENCE-ID" not in document
    assert "2026-01-08" not in [
        k for k, _, _ in theirs(document, NOW, datetime(2026, 3, 1, tzinfo=UTC), "Europe/Berlin")
    ]


def test_one_off_and_count_bounded_meetings_round_trip() -> None:
    one_off = make_series(
        local_start=datetime(2026, 9, 30, 9),
        zone="America/Los_Angeles",
        duration=timedelta(minutes=90),
    )
    bounded = _series("FREQ=WEEKLY;UNTIL=20260301", "2026-01-06T09:00", "Australia/Sydney")
    document = feed(entry(one_off, uid="a"), entry(bounded, uid="b"))
    assert b"RRULE" in document and document.count(b"RRULE") == 1
    calendar = icalendar.Calendar.from_ical(document)
    events = recurring_ical_events.of(calendar).between(NOW, datetime(2030, 1, 1, tzinfo=UTC))
    starts = sorted(e.start.astimezone(UTC) for e in events)
    expected = sorted(o.start for o in _all(one_off) + _all(bounded))
    assert starts == expected and len(expected) == 1 + 8


def _all(series: Series) -> list[Occurrence]:
    return occurrences_between(series, NOW, datetime(2030, 1, 1, tzinfo=UTC))


# --- the document itself --------------------------------------------------------------------


def test_the_feed_is_a_complete_rfc5545_calendar() -> None:
    sydney = _series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T18:00", "Australia/Sydney")
    berlin = _series("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T09:00", "Europe/Berlin")
    utc_one = _series("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T09:00", "UTC")
    document = feed(
        entry(
            sydney,
            uid=meeting_uid("Example Community", "1-community"),
            join_url="https://e.org/zoom",
            register_url="https://e.org/register",
            agenda_url="https://e.org/agenda",
            description="All welcome; bring questions.",
        ),
        entry(
            berlin.with_move(date(2026, 1, 13), datetime(2026, 1, 14, 8, tzinfo=UTC)),
            uid="b",
            sequence=4,
        ),
        entry(utc_one, uid="c", cancelled=True),
    )
    calendar = icalendar.Calendar.from_ical(document)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"] == "-//communitybot//meetings//EN"
    assert calendar.get_missing_tzids() == set()
    assert sorted(tz.tz_name for tz in calendar.timezones) == ["Australia/Sydney", "Europe/Berlin"]
    # VTIMEZONEs come before the events that use them.
    names = [component.name for component in calendar.subcomponents]
    assert names == ["VTIMEZONE", "VTIMEZONE", "VEVENT", "VEVENT", "VEVENT", "VEVENT"]
    first, berlin_series, berlin_override, cancelled = calendar.events
    assert str(first["UID"]) == "1-community.example-community@communitybot"
    assert str(first["URL"]) == "https://e.org/zoom"
    assert first["DESCRIPTION"] == (
        "All welcome; bring questions.\nJoin: https://e.org/zoom\n"
        "Register: https://e.org/register\nAgenda: https://e.org/agenda"
    )
    assert first["DTSTART"].params["TZID"] == "Australia/Sydney"
    assert first.decoded("DTSTAMP") == NOW
    assert berlin_series["UID"] == berlin_override["UID"] == "b"
    assert berlin_series["SEQUENCE"] == berlin_override["SEQUENCE"] == 4
    assert berlin_override["RECURRENCE-ID"].params["TZID"] == "Europe/Berlin"
    assert cancelled["STATUS"] == "CANCELLED" and first["STATUS"] == "CONFIRMED"
    for event in calendar.events:
        assert {"UID", "DTSTAMP", "DTSTART", "DURATION", "SUMMARY"} <= set(event)


def test_the_feed_is_stable_for_the_same_state() -> None:
    series = _series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00", "America/Los_Angeles")
    assert feed(entry(series)) == feed(entry(series))
    edited = _series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T10:00", "America/Los_Angeles")
    later = FeedEntry(
        uid="m1", name="Community Meeting", series=edited, stamp=NOW + timedelta(days=3), sequence=1
    )
    changed = icalendar.Calendar.from_ical(feed(later)).events[0]
    assert changed["UID"] == "m1" and changed["SEQUENCE"] == 1
    # DTSTAMP is when the feed was made (METHOD:PUBLISH); the change is in LAST-MODIFIED.
    assert changed.decoded("DTSTAMP") == NOW
    assert changed.decoded("LAST-MODIFIED") == NOW + timedelta(days=3)


def test_vtimezones_reach_past_the_expansion_window() -> None:
    series = _series("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T09:00", "Europe/Berlin")
    calendar = icalendar.Calendar.from_ical(feed(entry(series)))
    text = calendar.timezones[0].to_ical().decode().replace("\r\n ", "")
    assert "20461028T030000" in text  # the last autumn change before NOW + 20 years


def test_uids_are_tokens_and_distinct_per_meeting_key() -> None:
    assert (
        meeting_uid("Example Community!", "7-community")
        == "7-community.example-community@communitybot"
    )
    assert meeting_uid("x", "1-a") != meeting_uid("x", "2-a")
    assert meeting_uid("", "") == "x.x@communitybot"
