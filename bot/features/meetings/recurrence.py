"""Meeting series and their occurrences: local-time expansion, overrides, look-ups.

A series is a first start in local wall-clock time, an IANA zone, an optional RRULE,
a duration and per-occurrence overrides. Occurrences are expanded in local time (so a
09:00 meeting stays at 09:00 across DST changes) and only then converted to UTC.

DST edge cases follow RFC 5545 section 3.3.5, so the bot agrees with every calendar app
reading the feed: a start time repeated in autumn means its first instance; a start time
skipped in spring takes the offset before the gap (02:30 becomes 03:30 that day).

An occurrence is named by its scheduled local date (`key`, YYYY-MM-DD), which stays its
name when it is moved. Skips win over moves: a skipped date is never held.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import times
from bot.core.errors import UserError
from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.rules import (
    canonical_rule,
    compile_rule,
    iter_local_starts,
    parse_rule_parts,
    parse_until,
    probe_starts,
    to_utc,
)

MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Move:
    """One occurrence held at another time: its scheduled local date and its new start."""

    original_date: date
    start: datetime  # aware

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("Move.start must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Series:
    """A meeting's schedule, trusted as given (build user input with make_series)."""

    local_start: datetime  # naive wall-clock time of the first occurrence in `zone`
    zone: str  # IANA name
    duration: timedelta
    rrule: str | None = None  # canonical RRULE text; None for a one-off meeting
    skips: frozenset[date] = field(default_factory=frozenset)
    moves: tuple[Move, ...] = ()

    def __post_init__(self) -> None:
        if self.local_start.tzinfo is not None:
            raise ValueError("Series.local_start is a naive local wall-clock time")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def start(self) -> datetime:
        """The first occurrence's scheduled start in UTC."""
        return to_utc(self.local_start, self.tz)

    def with_skip(self, day: date) -> Series:
        """This series with `day` skipped (and any move of it dropped)."""
        moves = tuple(m for m in self.moves if m.original_date != day)
        return replace(self, skips=self.skips | {day}, moves=moves)

    def with_move(self, day: date, start: datetime) -> Series:
        """This series with the occurrence scheduled on `day` held at `start` instead."""
        moves = (*(m for m in self.moves if m.original_date != day), Move(day, start))
        return replace(self, skips=self.skips - {day}, moves=moves)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One held occurrence of a series, in UTC."""

    local_date: date  # the scheduled local date in the meeting's zone: the occurrence's name
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    scheduled_start: datetime  # aware UTC: where the rule put it (differs when moved)

    @property
    def key(self) -> str:
        return self.local_date.isoformat()

    @property
    def moved(self) -> bool:
        return self.start != self.scheduled_start


def make_series(
    *,
    local_start: datetime,
    zone: str,
    duration: timedelta,
    rrule: str | None = None,
    skips: Iterable[date] = (),
    moves: Iterable[Move] = (),
) -> Series:
    """A validated, canonical Series from user or config input; raises ScheduleError."""
    if local_start.tzinfo is not None:
        local_start = local_start.replace(tzinfo=None)
    local_start = local_start.replace(second=0, microsecond=0)
    try:
        tz = times.zone(zone)
    except UserError as exc:
        raise ScheduleError(exc.sentence) from None
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ScheduleError("A meeting lasts from 1 minute to 1 day, like 60m or 1h30m.")
    canonical = None if rrule is None or not rrule.strip() else _check_rule(rrule, local_start, tz)
    series = Series(
        local_start=local_start,
        zone=tz.key,
        duration=duration,
        rrule=canonical,
        skips=frozenset(skips),
        moves=tuple(moves),
    )
    for day in sorted(series.skips | {m.original_date for m in series.moves}):
        if scheduled_occurrence(series, day) is None:
            raise ScheduleError(f"The meeting has no occurrence on {day.isoformat()}.")
    return series


def _check_rule(text: str, local_start: datetime, tz: ZoneInfo) -> str:
    parts = parse_rule_parts(text)
    until_text = parts.pop("UNTIL", None)
    until = parse_until(until_text, tz) if until_text else None
    canonical = canonical_rule(parts, until)
    compiled = compile_rule(canonical, local_start, tz)
    first_two = probe_starts(compiled, local_start, 2)
    if not first_two:
        raise ScheduleError(f"The recurrence rule {canonical} never produces a date.")
    if first_two[0] != local_start:
        day = first_two[0]
        raise ScheduleError(
            f"The start {local_start:%Y-%m-%d %H:%M} does not fall on the rule {canonical}; "
            f"its first date after that is {day:%a %Y-%m-%d}."
        )
    if until is not None and to_utc(local_start, tz) > until:
        raise ScheduleError(f"The rule's UNTIL is before the start {local_start:%Y-%m-%d %H:%M}.")
    bounded_to_one = parts.get("COUNT") == "1" or (
        until is not None and (len(first_two) < 2 or to_utc(first_two[1], tz) > until)
    )
    if len(first_two) < 2 and not bounded_to_one:
        raise ScheduleError(
            f"The recurrence rule {canonical} never repeats; leave the rule out for a "
            "one-off meeting."
        )
    return canonical


def _scheduled_local_starts(series: Series) -> Iterator[datetime]:
    if series.rrule is None:
        yield series.local_start
        return
    yield from iter_local_starts(
        compile_rule(series.rrule, series.local_start, series.tz), series.tz
    )


def scheduled_occurrence(series: Series, day: date) -> Occurrence | None:
    """The occurrence the rule puts on local date `day`, ignoring skips and moves."""
    for local in _scheduled_local_starts(series):
        if local.date() == day:
            return _occurrence(series, local, None)
        if local.date() > day:
            return None
    return None


def occurrence_on(series: Series, day: date) -> Occurrence | None:
    """The held occurrence named `day` (moved if it was moved), or None if skipped or absent."""
    if day in series.skips:
        return None
    scheduled = scheduled_occurrence(series, day)
    if scheduled is None:
        return None
    move = _moves_by_date(series).get(day)
    if move is None:
        return scheduled
    start = move.start.astimezone(UTC)
    return Occurrence(day, start, start + series.duration, scheduled.scheduled_start)


def occurrences(series: Series, after: datetime | None = None) -> Iterator[Occurrence]:
    """Held occurrences in start order (moves included, skips left out), starting after `after`.

    Lazy: an unbounded rule yields forever, so take what you need.
    """
    if after is not None and after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    moves = _moves_by_date(series)
    unmoved = (
        occurrence
        for local in _scheduled_local_starts(series)
        if local.date() not in series.skips and local.date() not in moves
        for occurrence in [_occurrence(series, local, None)]
        if after is None or occurrence.start > after
    )
    moved = sorted(
        (
            _occurrence(series, _original_local(series, move.original_date), move)
            for move in moves.values()
            if move.original_date not in series.skips
        ),
        key=lambda occurrence: occurrence.start,
    )
    moved = [o for o in moved if after is None or o.start > after]
    return heapq.merge(unmoved, moved, key=lambda occurrence: occurrence.start)


def next_occurrence(series: Series, after: datetime) -> Occurrence | None:
    """The first held occurrence starting strictly after `after`."""
    return next(occurrences(series, after), None)


def next_occurrences(series: Series, after: datetime, count: int) -> list[Occurrence]:
    """Up to `count` held occurrences starting strictly after `after`."""
    result = []
    for occurrence in occurrences(series, after):
        if len(result) >= count:
            break
        result.append(occurrence)
    return result


def occurrences_between(series: Series, start: datetime, end: datetime) -> list[Occurrence]:
    """Held occurrences with start <= occurrence.start < end."""
    result = []
    for occurrence in occurrences(series, start - timedelta(microseconds=1)):
        if occurrence.start >= end:
            break
        result.append(occurrence)
    return result


def _moves_by_date(series: Series) -> dict[date, Move]:
    return {move.original_date: move for move in series.moves}


def _original_local(series: Series, day: date) -> datetime:
    """The scheduled local start on `day` (the rule keeps the first start's time of day)."""
    return datetime.combine(day, series.local_start.time())


def _occurrence(series: Series, local: datetime, move: Move | None) -> Occurrence:
    scheduled = to_utc(local, series.tz)
    start = scheduled if move is None else move.start.astimezone(UTC)
    return Occurrence(local.date(), start, start + series.duration, scheduled)
