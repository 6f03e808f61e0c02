"""Cycle arithmetic: the community's zone decides where months and quarters begin and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import UserError
from bot.features.heroes.cycles import cycle_at, parse_cycle
from bot.features.heroes.schedule import closing_reminder_at

LA = "America/Los_Angeles"


def test_a_month_ends_at_local_midnight_not_utc() -> None:
    # 05:00 UTC on 1 December is still 30 November, 21:00, in Los Angeles.
    cycle = cycle_at(datetime(2026, 12, 1, 5, 0, tzinfo=UTC), LA, "monthly")
    assert cycle.key == "2026-11"
    assert cycle.title == "November 2026"
    assert cycle.start == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # PDT until 1 Nov 02:00
    assert cycle.end == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # PST
    assert cycle.closes_at == cycle.end
    assert cycle_at(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), LA, "monthly").key == "2026-12"
    assert cycle_at(datetime(2026, 12, 1, 7, 59, tzinfo=UTC), LA, "monthly").key == "2026-11"


def test_the_same_instant_is_a_different_month_elsewhere() -> None:
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert cycle_at(at, LA, "monthly").key == "2026-11"
    assert cycle_at(at, "Asia/Tokyo", "monthly").key == "2026-12"


def test_quarters() -> None:
    cycle = cycle_at(datetime(2026, 11, 15, tzinfo=UTC), LA, "quarterly")
    assert (cycle.key, cycle.title) == ("2026-Q4", "Q4 2026")
    assert cycle.start == datetime(2026, 10, 1, 7, 0, tzinfo=UTC)
    following = cycle.following()
    assert following.key == "2027-Q1"
    assert following.start == cycle.end == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)


def test_december_rolls_into_the_next_year() -> None:
    cycle = parse_cycle("2026-12", LA, "monthly")
    assert cycle.following().key == "2027-01"


def test_a_window_closes_nominations_early() -> None:
    cycle = cycle_at(datetime(2026, 11, 3, tzinfo=UTC), LA, "monthly", window_days=10)
    assert cycle.closes_at == datetime(2026, 11, 11, 8, 0, tzinfo=UTC)  # 11 Nov 00:00 PST
    assert cycle.is_open(datetime(2026, 11, 11, 7, 59, tzinfo=UTC))
    assert not cycle.is_open(datetime(2026, 11, 11, 8, 0, tzinfo=UTC))
    # A window longer than the month ends with the month.
    february = parse_cycle("2027-02", LA, "monthly", window_days=31)
    assert february.closes_at == february.end


def test_the_closing_reminder_is_whole_local_days_before_across_a_dst_change() -> None:
    # November 2026 closes 1 Dec 00:00 PST; three local days before is 28 Nov 00:00 PST.
    cycle = parse_cycle("2026-11", LA, "monthly")
    assert closing_reminder_at(cycle, 3) == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    # March 2027 spans the spring-forward: 29 Mar 00:00 PDT is 07:00 UTC, not 08:00.
    march = parse_cycle("2027-03", LA, "monthly")
    assert closing_reminder_at(march, 3) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert closing_reminder_at(march, 0) is None
    short = parse_cycle("2027-03", LA, "monthly", window_days=2)
    assert closing_reminder_at(short, 3) is None  # it would fall before the cycle starts


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-11", "2026-11"),
        (" 2026-01 ", "2026-01"),
        ("2026-q4", "2026-Q4"),
        ("2027-Q1", "2027-Q1"),
    ],
)
def test_cycles_are_named_as_people_write_them(text: str, key: str) -> None:
    assert parse_cycle(text, LA, "monthly").key == key


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2026-13", "not a month"),
        ("2026-00", "not a month"),
        ("November", "like 2026-11"),
        ("2026-Q5", "like 2026-11"),
        ("1999-01", "too far"),
        ("2026-11-01", "like 2026-11"),
    ],
)
def test_bad_cycle_names_are_refused(text: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        parse_cycle(text, LA, "monthly")


def test_every_day_of_a_year_belongs_to_exactly_one_cycle_in_many_zones() -> None:
    for zone in (LA, "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Kiritimati", "UTC"):
        for period in ("monthly", "quarterly"):
            at = datetime(2026, 1, 1, 12, tzinfo=UTC)
            while at < datetime(2027, 1, 1, tzinfo=UTC):
                cycle = cycle_at(at, zone, period)
                assert cycle.start <= at < cycle.end, (zone, period, at)
                assert cycle.following().start == cycle.end
                at += timedelta(hours=13)
