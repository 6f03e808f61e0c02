"""Typed times, durations and CONTRACT's one fallback format."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import times
from bot.core.errors import UserError


def test_contract_example_format() -> None:
    at = datetime(2021, 9, 30, 16, 0, tzinfo=UTC)
    assert (
        times.format_fallback(at, "America/Los_Angeles") == "Thu 30 Sep 2021, 09:00 PDT (16:00 UTC)"
    )
    assert times.format_fallback(at, "UTC") == "Thu 30 Sep 2021, 16:00 UTC"
    assert times.format_fallback(at, "Asia/Kolkata") == "Thu 30 Sep 2021, 21:30 IST (16:00 UTC)"


def test_typed_time_in_default_and_explicit_zone() -> None:
    assert times.parse_when("2026-12-01 09:00", "America/Los_Angeles") == datetime(
        2026, 12, 1, 17, 0, tzinfo=UTC
    )
    assert times.parse_when("2026-07-01 09:00 Europe/Berlin", "UTC") == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )


def test_time_skipped_by_dst_is_refused() -> None:
    with pytest.raises(UserError, match="does not exist"):
        times.parse_when("2026-03-08 02:30", "America/Los_Angeles")


def test_ambiguous_time_takes_the_first() -> None:
    # 01:30 happens twice on 2026-11-01 in Los Angeles; the first is PDT (UTC-7).
    assert times.parse_when("2026-11-01 01:30", "America/Los_Angeles") == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "bad",
    ["tomorrow", "2026-13-01 09:00", "2026-02-30 10:00", "2026-12-01 25:00", "12/01/2026 9am"],
)
def test_bad_times_say_the_right_form(bad: str) -> None:
    with pytest.raises(UserError, match="2026-12-01 09:00"):
        times.parse_when(bad, "UTC")


def test_bad_zone_in_time() -> None:
    with pytest.raises(UserError, match="not an IANA time zone"):
        times.parse_when("2026-12-01 09:00 Mars/Olympus", "UTC")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("90m", timedelta(minutes=90)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, span: timedelta) -> None:
    assert times.parse_duration(text) == span
    assert times.parse_duration(times.format_duration(span)) == span


@pytest.mark.parametrize("bad", ["", "1", "h", "1y", "-5m", "1.5h", "0m", "9999w"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(UserError):
        times.parse_duration(bad)


def test_zero_duration_when_allowed() -> None:
    assert times.parse_duration("0m", allow_zero=True) == timedelta(0)


def test_end_of_day_in_community_zone() -> None:
    assert times.end_of_day(date(2026, 12, 31), "America/Los_Angeles") == datetime(
        2027, 1, 1, 8, 0, tzinfo=UTC
    )


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            "America/Los_Angeles",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Australia/Sydney",
            "America/St_Johns",
            "UTC",
        ]
    ),
)
def test_fallback_always_shows_utc_time(at: datetime, zone: str) -> None:
    text = times.format_fallback(at, zone)
    assert f"{at:%H:%M} UTC" in text
