"""When channel rounds and personal nudges fall (pure functions, explicit times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.features.surveys.schedule import (
    LAST_CALL,
    first_round_at_or_after,
    nudge_times,
    round_at,
)

START = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
DAY = timedelta(days=1)


def test_first_round_at_or_after() -> None:
    assert first_round_at_or_after(START, WEEK, START - DAY) == 0
    assert first_round_at_or_after(START, WEEK, START) == 0
    assert first_round_at_or_after(START, WEEK, START + timedelta(seconds=1)) == 1
    assert first_round_at_or_after(START, WEEK, START + WEEK) == 1
    assert first_round_at_or_after(START, WEEK, START + 3 * WEEK + DAY) == 4


def test_nudges_fall_half_a_cadence_after_each_round() -> None:
    times = nudge_times(START, WEEK, None, START, 3)
    assert times == [START + 3.5 * DAY, START + 10.5 * DAY, START + 17.5 * DAY]


def test_a_member_known_later_gets_the_next_nudges_only() -> None:
    now = START + 4 * DAY
    assert nudge_times(START, WEEK, None, now, 2) == [START + 10.5 * DAY, START + 17.5 * DAY]


def test_no_nudge_at_or_after_the_close() -> None:
    closes = START + 10.5 * DAY
    # The second round's nudge would be at the close itself; a last call a day before replaces it.
    assert nudge_times(START, WEEK, closes, START, 2) == [START + 3.5 * DAY, closes - LAST_CALL]


def test_a_short_survey_still_gets_a_last_call() -> None:
    closes = START + 3 * DAY
    assert nudge_times(START, WEEK, closes, START, 2) == [closes - LAST_CALL]
    assert nudge_times(START, WEEK, closes, closes - LAST_CALL, 2) == []


def test_zero_nudges_means_none() -> None:
    assert nudge_times(START, WEEK, None, START, 0) == []


@given(
    every_hours=st.integers(1, 24 * 30),
    offset_hours=st.integers(-24 * 10, 24 * 200),
    close_hours=st.one_of(st.none(), st.integers(1, 24 * 120)),
    count=st.integers(0, 10),
)
def test_nudge_times_keep_their_promises(
    every_hours: int, offset_hours: int, close_hours: int | None, count: int
) -> None:
    every = timedelta(hours=every_hours)
    now = START + timedelta(hours=offset_hours)
    closes = None if close_hours is None else START + timedelta(hours=close_hours)
    times = nudge_times(START, every, closes, now, count)
    assert len(times) <= count
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(t > now for t in times)
    assert closes is None or all(t < closes for t in times)
    k = first_round_at_or_after(START, every, now)
    assert round_at(START, every, k) >= now
    assert k == 0 or round_at(START, every, k - 1) < now
