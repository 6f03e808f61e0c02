"""Meeting series: validation, local-time expansion across DST, skips and moves."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.recurrence import (
    Move,
    Series,
    make_series,
    next_occurrence,
    next_occurrences,
    occurrence_on,
    occurrences,
    occurrences_between,
    scheduled_occurrence,
)

LA = ZoneInfo("America/Los_Angeles")
HOUR = timedelta(hours=1)


def series(rule: str | None, start: str, zone: str = "America/Los_Angeles", **kw) -> Series:
    return make_series(
        local_start=datetime.fromisoformat(start), zone=zone, duration=HOUR, rrule=rule, **kw
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- validation -------------------------------------------------------------------------


def test_the_contract_example_is_accepted_and_canonical() -> None:
    s = series("rrule:freq=monthly;byday=-1th", "2026-01-29T09:00")
    assert s.rrule == "FREQ=MONTHLY;BYDAY=-1TH"
    assert s.zone == "America/Los_Angeles"
    assert s.start == utc("2026-01-29T17:00")


def test_a_start_off_the_rule_is_refused_naming_the_rules_next_date() -> None:
    with pytest.raises(ScheduleError) as raised:
        series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-22T09:00")
    assert str(raised.value) == (
        "The start 2026-01-22 09:00 does not fall on the rule FREQ=MONTHLY;BYDAY=-1TH; "
        "its first date after that is Thu 2026-01-29."
    )


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY is not allowed: meetings recur at most daily"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not allowed"),
        ("FREQ=SECONDLY;COUNT=3", "FREQ=SECONDLY is not allowed"),
        ("FREQ=DAILY;BYHOUR=9,17", "may not use BYHOUR"),
        ("FREQ=WEEKLY;BYMINUTE=30", "may not use BYMINUTE"),
        ("BYDAY=TH", "needs a FREQ"),
        ("FREQ=WEEKLY;FREQ=DAILY", "names FREQ twice"),
        ("FREQ=WEEKLY;RSCALE=HEBREW", "part RSCALE is not supported"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a whole number from 1 to 1000"),
        ("FREQ=WEEKLY;INTERVAL=-2", "INTERVAL must be a whole number"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101", "COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;BYDAY=XX", "is not valid RFC 5545"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL=TOMORROW is not a date"),
        ("FREQ=WEEKLY;UNTIL=20250101", "UNTIL is before the start"),
        ("FREQ=WEEKLY;;garbage", "malformed part"),
        ("   ", None),  # blank means one-off
        ("FREQ=MONTHLY;BYDAY=6TH", "never produces a date"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never produces a date"),
        ("FREQ=WEEKLY;" + "BYDAY=TH" * 40, "longer than 300 characters"),
    ],
)
def test_bad_rules_are_refused_with_one_sentence(rule: str, says: str | None) -> None:
    if says is None:
        assert series(rule, "2026-01-29T09:00").rrule is None
        return
    with pytest.raises(ScheduleError) as raised:
        series(rule, "2026-01-29T09:00")
    message = str(raised.value)
    assert says in message
    assert message.endswith(".") and "\n" not in message


def test_a_rule_that_matches_nothing_is_refused_quickly() -> None:
    # dateutil alone searches to year 9999 (seconds) for this; the probe bounds it.
    began = time.perf_counter()
    with pytest.raises(ScheduleError, match="never produces a date"):
        series("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "2026-01-29T09:00")
    assert time.perf_counter() - began < 1.5


def test_leap_day_rules_are_fine() -> None:
    s = series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "2028-02-29T09:00")
    keys = [o.key for o in next_occurrences(s, utc("2028-01-01T00:00"), 3)]
    assert keys == ["2028-02-29", "2032-02-29", "2036-02-29"]


def test_a_rule_that_never_repeats_is_refused_but_count_1_is_a_one_off() -> None:
    with pytest.raises(ScheduleError, match="never repeats"):
        # Every 366 years on 29 February: the next one is centuries away.
        series("FREQ=YEARLY;INTERVAL=366;BYMONTH=2;BYMONTHDAY=29", "2028-02-29T09:00")
    one = series("FREQ=WEEKLY;COUNT=1", "2026-01-29T09:00")
    assert [o.key for o in occurrences(one)] == ["2026-01-29"]


@pytest.mark.parametrize(
    ("zone", "canonical"),
    [("europe/berlin", "Europe/Berlin"), (" Asia/Kolkata ", "Asia/Kolkata"), ("UTC", "UTC")],
)
def test_zones_are_iana_names_matched_without_case(zone: str, canonical: str) -> None:
    assert series(None, "2026-01-29T09:00", zone=zone).zone == canonical


@pytest.mark.parametrize("zone", ["PST", "Mars/Olympus", "../etc/passwd", "", "Europe"])
def test_unknown_zones_are_refused(zone: str) -> None:
    with pytest.raises(ScheduleError, match="is not an IANA time zone"):
        series(None, "2026-01-29T09:00", zone=zone)


@pytest.mark.parametrize("minutes", [0, -5, 24 * 60 + 1])
def test_durations_are_bounded(minutes: int) -> None:
    with pytest.raises(ScheduleError, match="from 1 minute to 1 day"):
        make_series(
            local_start=datetime(2026, 1, 29, 9),
            zone="UTC",
            duration=timedelta(minutes=minutes),
        )


def test_skips_and_moves_must_name_a_scheduled_date() -> None:
    with pytest.raises(ScheduleError, match="no occurrence on 2026-02-05"):
        series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00", skips=[date(2026, 2, 5)])
    with pytest.raises(ScheduleError, match="no occurrence on 2026-01-28"):
        series(
            "FREQ=MONTHLY;BYDAY=-1TH",
            "2026-01-29T09:00",
            moves=[Move(date(2026, 1, 28), utc("2026-01-30T17:00"))],
        )


def test_until_forms_all_mean_the_same_bound_in_utc() -> None:
    local = series("FREQ=WEEKLY;UNTIL=20260212T090000", "2026-01-29T09:00")
    in_utc = series("FREQ=WEEKLY;UNTIL=20260212T170000Z", "2026-01-29T09:00")
    a_date = series("FREQ=WEEKLY;UNTIL=20260212", "2026-01-29T09:00")
    assert local.rrule == in_utc.rrule == "FREQ=WEEKLY;UNTIL=20260212T170000Z"
    assert a_date.rrule == "FREQ=WEEKLY;UNTIL=20260213T075959Z"
    for s in (local, in_utc, a_date):
        assert [o.key for o in occurrences(s)] == ["2026-01-29", "2026-02-05", "2026-02-12"]


def test_naive_and_aware_inputs_are_kept_apart() -> None:
    with pytest.raises(ValueError, match="naive"):
        Series(local_start=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", duration=HOUR)
    with pytest.raises(ValueError, match="aware"):
        Move(date(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="aware"):
        next(occurrences(series(None, "2026-01-29T09:00"), datetime(2026, 1, 1)))


# --- expansion in local time -------------------------------------------------------------


def test_a_9am_meeting_stays_at_9am_across_both_dst_changes() -> None:
    s = series("FREQ=WEEKLY;BYDAY=TH", "2026-03-05T09:00")
    found = occurrences_between(s, utc("2026-03-01T00:00"), utc("2026-11-30T00:00"))
    assert {o.start.astimezone(LA).time().isoformat() for o in found} == {"09:00:00"}
    starts = {o.key: o.start for o in found}
    assert starts["2026-03-05"] == utc("2026-03-05T17:00")  # PST
    assert starts["2026-03-12"] == utc("2026-03-12T16:00")  # PDT from 8 March
    assert starts["2026-10-29"] == utc("2026-10-29T16:00")
    assert starts["2026-11-05"] == utc("2026-11-05T17:00")  # PST again from 1 November


def test_a_start_in_the_spring_gap_moves_forward_by_the_gap_as_rfc5545_says() -> None:
    s = series("FREQ=WEEKLY;BYDAY=SU", "2026-03-01T02:30")
    gap_day = occurrence_on(s, date(2026, 3, 8))
    assert gap_day is not None
    assert gap_day.start == utc("2026-03-08T10:30")  # 03:30 PDT: offset before the gap
    assert gap_day.start.astimezone(LA).strftime("%H:%M %Z") == "03:30 PDT"
    following = occurrence_on(s, date(2026, 3, 15))
    assert following is not None
    assert following.start.astimezone(LA).strftime("%H:%M %Z") == "02:30 PDT"


def test_a_start_in_the_repeated_autumn_hour_is_its_first_instance() -> None:
    s = series("FREQ=WEEKLY;BYDAY=SU", "2026-10-25T01:30")
    fold_day = occurrence_on(s, date(2026, 11, 1))
    assert fold_day is not None
    assert fold_day.start == utc("2026-11-01T08:30")  # 01:30 PDT, not 01:30 PST
    assert fold_day.end == utc("2026-11-01T09:30")  # an hour later, though the clock says 01:30


def test_half_hour_zones_and_southern_dst() -> None:
    johns = series("FREQ=MONTHLY;BYDAY=3TH", "2026-01-15T09:00", zone="America/St_Johns")
    assert [o.start.isoformat() for o in next_occurrences(johns, utc("2026-02-01T00:00"), 2)] == [
        "2026-02-19T12:30:00+00:00",  # NST -03:30
        "2026-03-19T11:30:00+00:00",  # NDT -02:30 from 8 March
    ]
    sydney = series("FREQ=MONTHLY;BYDAY=1MO", "2026-03-02T18:00", zone="Australia/Sydney")
    assert [o.start.isoformat() for o in next_occurrences(sydney, utc("2026-03-01T00:00"), 2)] == [
        "2026-03-02T07:00:00+00:00",  # AEDT +11
        "2026-04-06T08:00:00+00:00",  # AEST +10 from 5 April
    ]


def test_biweekly_counts_weeks_from_the_first_start() -> None:
    s = series("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "2026-01-07T16:00", zone="Europe/Berlin")
    keys = [o.key for o in next_occurrences(s, utc("2026-01-01T00:00"), 4)]
    assert keys == ["2026-01-07", "2026-01-21", "2026-02-04", "2026-02-18"]


def test_count_bounds_the_series_and_skips_do_not_extend_it() -> None:
    s = series("FREQ=WEEKLY;COUNT=3", "2026-01-01T09:00", zone="UTC", skips=[date(2026, 1, 8)])
    assert [o.key for o in occurrences(s)] == ["2026-01-01", "2026-01-15"]


def test_a_one_off_meeting_has_one_occurrence() -> None:
    s = series(None, "2026-09-30T09:00")
    assert [o.start for o in occurrences(s)] == [utc("2026-09-30T16:00")]
    assert next_occurrence(s, utc("2026-09-30T16:00")) is None
    assert next_occurrence(s, utc("2026-09-30T15:59")) is not None


# --- look-ups ------------------------------------------------------------------------------


def test_next_is_strictly_after_and_between_is_half_open() -> None:
    s = series("FREQ=WEEKLY;BYDAY=TU", "2026-01-06T10:00", zone="UTC")
    at = utc("2026-01-13T10:00")
    assert next_occurrence(s, at).key == "2026-01-20"  # type: ignore[union-attr]
    assert next_occurrence(s, at - timedelta(seconds=1)).key == "2026-01-13"  # type: ignore[union-attr]
    window = occurrences_between(s, at, utc("2026-01-27T10:00"))
    assert [o.key for o in window] == ["2026-01-13", "2026-01-20"]


def test_next_n_takes_exactly_n_from_an_unbounded_rule() -> None:
    s = series("FREQ=DAILY", "2026-01-01T08:00", zone="Asia/Kolkata")
    found = next_occurrences(s, utc("2030-06-01T00:00"), 5)
    assert [o.key for o in found] == [f"2030-06-0{d}" for d in range(1, 6)]
    assert next_occurrences(s, utc("2030-06-01T00:00"), 0) == []


def test_scheduled_occurrence_finds_only_dates_on_the_rule() -> None:
    s = series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00")
    assert scheduled_occurrence(s, date(2026, 12, 31)) is not None
    assert scheduled_occurrence(s, date(2026, 12, 24)) is None
    assert scheduled_occurrence(s, date(2025, 12, 25)) is None


# --- skips and moves -----------------------------------------------------------------------


def test_skip_removes_exactly_that_occurrence() -> None:
    s = series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00")
    skipped = s.with_skip(date(2026, 12, 31))
    before = [o.key for o in next_occurrences(s, utc("2026-10-01T00:00"), 4)]
    after = [o.key for o in next_occurrences(skipped, utc("2026-10-01T00:00"), 3)]
    assert before == ["2026-10-29", "2026-11-26", "2026-12-31", "2027-01-28"]
    assert after == ["2026-10-29", "2026-11-26", "2027-01-28"]
    assert occurrence_on(skipped, date(2026, 12, 31)) is None


def test_a_moved_occurrence_keeps_its_name_and_sorts_by_its_new_time() -> None:
    s = series("FREQ=MONTHLY;BYDAY=-1TH", "2026-01-29T09:00")
    # December's meeting pulled forward before November's.
    moved = s.with_move(date(2026, 12, 31), utc("2026-11-20T17:00"))
    found = next_occurrences(moved, utc("2026-10-01T00:00"), 4)
    assert [(o.key, o.moved) for o in found] == [
        ("2026-10-29", False),
        ("2026-12-31", True),
        ("2026-11-26", False),
        ("2027-01-28", False),
    ]
    held = occurrence_on(moved, date(2026, 12, 31))
    assert held is not None
    assert held.start == utc("2026-11-20T17:00") and held.end == utc("2026-11-20T18:00")
    assert held.scheduled_start == utc("2026-12-31T17:00")


def test_a_moved_occurrence_before_after_is_not_returned_and_one_after_is() -> None:
    s = series("FREQ=WEEKLY", "2026-01-01T09:00", zone="UTC")
    back = s.with_move(date(2026, 3, 5), utc("2026-01-01T12:00"))
    assert "2026-03-05" not in [o.key for o in next_occurrences(back, utc("2026-02-01T00:00"), 8)]
    ahead = s.with_move(date(2026, 1, 1), utc("2026-06-01T12:00"))
    found = next_occurrences(ahead, utc("2026-05-30T00:00"), 2)
    assert [o.key for o in found] == ["2026-01-01", "2026-06-04"]


def test_skip_wins_over_move_and_move_revives_a_skip() -> None:
    s = series("FREQ=WEEKLY", "2026-01-01T09:00", zone="UTC")
    day = date(2026, 1, 8)
    moved_then_skipped = s.with_move(day, utc("2026-01-09T09:00")).with_skip(day)
    assert occurrence_on(moved_then_skipped, day) is None
    assert moved_then_skipped.moves == ()
    skipped_then_moved = s.with_skip(day).with_move(day, utc("2026-01-09T09:00"))
    assert occurrence_on(skipped_then_moved, day).start == utc("2026-01-09T09:00")  # type: ignore[union-attr]
    # A raw Series (e.g. from the database) holding both still honours the skip.
    both = Series(
        s.local_start,
        s.zone,
        s.duration,
        s.rrule,
        frozenset({day}),
        (Move(day, utc("2026-01-09T09:00")),),
    )
    assert day.isoformat() not in [
        o.key for o in next_occurrences(both, utc("2026-01-01T00:00"), 3)
    ]
