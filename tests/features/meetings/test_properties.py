"""Property tests for meeting recurrence: random rules, zones, times, skips and moves."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.features.meetings.calendar_feed import FeedEntry, build_calendar
from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.recurrence import (
    Series,
    make_series,
    next_occurrence,
    next_occurrences,
    occurrence_on,
    occurrences_between,
)

# Zones with DST on either hemisphere, half-hour and 45-minute offsets, and none at all.
ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "UTC",
]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def rules(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["daily", "weekly", "monthly-nth", "monthly-day", "yearly"]))
    interval = draw(st.integers(1, 3))
    tail = f";INTERVAL={interval}" if interval > 1 else ""
    if kind == "daily":
        return "FREQ=DAILY" + tail
    if kind == "weekly":
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        return f"FREQ=WEEKLY;BYDAY={','.join(days)}" + tail
    if kind == "monthly-nth":
        nth = draw(st.sampled_from([1, 2, 3, 4, -1, -2]))
        return f"FREQ=MONTHLY;BYDAY={nth}{draw(st.sampled_from(WEEKDAYS))}" + tail
    if kind == "monthly-day":
        return f"FREQ=MONTHLY;BYMONTHDAY={draw(st.sampled_from([1, 15, 28, -1]))}" + tail
    return f"FREQ=YEARLY;BYMONTH={draw(st.integers(1, 12))};BYDAY=1SU"


@st.composite
def meeting_series(draw: st.DrawFn) -> Series:
    rule = draw(rules())
    zone = draw(st.sampled_from(ZONES))
    # Bias towards the small hours, where DST changes happen.
    hour = draw(st.one_of(st.integers(0, 4), st.integers(0, 23)))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    day = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
    wanted = datetime(day.year, day.month, day.day, hour, minute)
    # The first start must fall on the rule: take the rule's first date from `wanted`.
    first = rrulestr(rule, dtstart=wanted)[0]
    minutes = draw(st.sampled_from([30, 45, 60, 90, 180]))
    return make_series(
        local_start=first, zone=zone, duration=timedelta(minutes=minutes), rrule=rule
    )


def _theirs(series: Series, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    entry = FeedEntry(uid="p", name="P", series=series, stamp=start)
    calendar = icalendar.Calendar.from_ical(build_calendar([entry], name="P", now=start))
    tz = ZoneInfo(series.zone)
    seen = [
        (e["RECURRENCE-ID"].dt.astimezone(tz).date().isoformat(), e.start.astimezone(UTC))
        for e in recurring_ical_events.of(calendar).between(start, end)
    ]
    return sorted(seen, key=lambda item: item[1])


WINDOW_START = datetime(2025, 1, 1, tzinfo=UTC)
WINDOW_END = datetime(2029, 1, 1, tzinfo=UTC)


@PROPERTY_SETTINGS
@given(meeting_series())
def test_occurrences_are_ordered_named_by_local_date_and_keep_the_wall_clock(
    series: Series,
) -> None:
    found = occurrences_between(series, WINDOW_START, WINDOW_END)
    assert found, series
    tz = ZoneInfo(series.zone)
    starts = [o.start for o in found]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert len({o.key for o in found}) == len(found)
    for occurrence in found:
        local = occurrence.start.astimezone(tz)
        assert occurrence.end - occurrence.start == series.duration
        wall = datetime.combine(occurrence.local_date, series.local_start.time())
        exists = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
        if exists:
            assert local.replace(tzinfo=None) == wall
        else:  # a spring-forward gap: later the same day by the size of the gap
            assert local.date() == occurrence.local_date and local.replace(tzinfo=None) > wall


@PROPERTY_SETTINGS
@given(meeting_series())
def test_the_feed_expands_to_the_same_occurrences(series: Series) -> None:
    end = datetime(2028, 1, 1, tzinfo=UTC)
    ours = [(o.key, o.start) for o in occurrences_between(series, WINDOW_START, end)]
    assert ours == _theirs(series, WINDOW_START, end)


@PROPERTY_SETTINGS
@given(meeting_series(), st.data())
def test_skips_and_moves_round_trip_through_the_feed(series: Series, data: st.DataObject) -> None:
    end = series.start + timedelta(days=400)
    held = occurrences_between(series, WINDOW_START, end)
    picked = data.draw(st.lists(st.sampled_from(held), max_size=4, unique_by=lambda o: o.key))
    changed = series
    expected_starts = {o.key: o.start for o in held}
    for occurrence in picked:
        if data.draw(st.booleans()):
            changed = changed.with_skip(occurrence.local_date)
            expected_starts.pop(occurrence.key)
        else:
            shift = timedelta(minutes=data.draw(st.integers(-20 * 24 * 60, 20 * 24 * 60)))
            new_start = occurrence.start + shift
            changed = changed.with_move(occurrence.local_date, new_start)
            expected_starts[occurrence.key] = new_start
    ours = occurrences_between(changed, WINDOW_START, end)
    in_window = {k: s for k, s in expected_starts.items() if WINDOW_START <= s < end}
    assert {o.key: o.start for o in ours} == in_window

    # A move can land exactly on another occurrence's start; such ties have no order.
    def by_time(pairs: list[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
        return sorted(pairs, key=lambda pair: (pair[1], pair[0]))

    theirs = _theirs(changed, WINDOW_START, end)
    assert by_time([(o.key, o.start) for o in ours]) == by_time(theirs)
    for occurrence in picked:
        found = occurrence_on(changed, occurrence.local_date)
        assert (found is None) == (occurrence.key not in expected_starts)


@PROPERTY_SETTINGS
@given(meeting_series(), st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31)))
def test_next_agrees_with_the_window_listing(series: Series, after: datetime) -> None:
    after = after.replace(tzinfo=UTC)
    upcoming = occurrences_between(series, after + timedelta(microseconds=1), WINDOW_END)
    first = next_occurrence(series, after)
    if upcoming:
        assert first == upcoming[0]
        within = [o for o in next_occurrences(series, after, 3) if o.start < WINDOW_END]
        assert within == upcoming[:3]
    else:
        assert first is None or first.start >= WINDOW_END


_PART_VALUES = {
    "FREQ": ["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "SECONDLY", "FORTNIGHTLY"],
    "INTERVAL": ["1", "2", "0", "-1", "x", "367"],
    "COUNT": ["1", "5", "0", "1001"],
    "UNTIL": ["20270101", "20270101T000000Z", "20250101", "2027-01-01", "20270230"],
    "BYDAY": ["TH", "-1TH", "6MO", "MO,WE", "XX", "1SU"],
    "BYMONTHDAY": ["1", "31", "-1", "32", "0", "30"],
    "BYMONTH": ["2", "13", "1,7", "0"],
    "BYSETPOS": ["1", "-1", "9", "0"],
    "BYWEEKNO": ["1", "53", "-1", "54"],
    "BYYEARDAY": ["1", "366", "-1", "400"],
    "BYHOUR": ["9"],
    "WKST": ["SU", "MO", "ZZ"],
}


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(_PART_VALUES)), st.data()),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(ZONES),
)
def test_arbitrary_rules_either_work_or_fail_with_one_sentence_quickly(
    parts: list[tuple[str, st.DataObject]], zone: str
) -> None:
    text = ";".join(
        f"{name}={data.draw(st.sampled_from(_PART_VALUES[name]))}" for name, data in parts
    )
    began = time.perf_counter()
    try:
        series = make_series(
            local_start=datetime(2026, 1, 29, 9),
            zone=zone,
            duration=timedelta(hours=1),
            rrule=text,
        )
    except ScheduleError as error:
        message = str(error)
        assert message.endswith(".") and "\n" not in message and len(message) < 300
    else:
        # An accepted rule starts on the given start and can be listed without hanging.
        first = next_occurrence(series, datetime(2026, 1, 1, tzinfo=UTC))
        assert first is not None and first.key == "2026-01-29"
        next_occurrences(series, datetime(2026, 1, 1, tzinfo=UTC), 20)
    assert time.perf_counter() - began < 2
