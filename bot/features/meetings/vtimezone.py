"""VTIMEZONE components built from zoneinfo's own transitions.

icalendar's `Timezone.from_tzid` writes each DAYLIGHT onset at the new wall-clock time
(`DTSTART:20260308T030000` with `TZOFFSETFROM:-0800`, i.e. 11:00 UTC), one hour after the
real change. RFC 5545 §3.6.5 wants an observance's DTSTART in the local time *before* the
change, the one TZOFFSETFROM names, so we find each change with zoneinfo and write that.
Clients such as Outlook use the VTIMEZONE rather than the IANA name, so this matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Transitions are at least weeks apart in practice; a day is a safe step for the scan,
# and bisection then finds each change to the second.
_STEP = timedelta(days=1)
# How far back to look for the change that started the observance in force at the first
# year; zones that never changed (fixed offsets) stop here.
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
# RFC 5545 requires an onset even for a zone that never changes; Outlook uses this one.
_NO_CHANGE_ONSET = datetime(1601, 1, 1)


@dataclass(frozen=True, slots=True)
class _State:
    offset: timedelta
    name: str
    daylight: bool


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of offset, name or DST flag at the UTC instant `at`."""

    at: datetime  # aware, UTC: the first instant of the new state
    before: _State
    after: _State


def _state(zone: ZoneInfo, instant: datetime) -> _State:
    local = instant.astimezone(zone)
    return _State(
        offset=local.utcoffset() or timedelta(0),
        name=local.tzname() or "",
        daylight=bool(local.dst()),
    )


def _bisect(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first second after `low` whose state differs from `low`'s (one lies in (low, high])."""
    start = _state(zone, low)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + timedelta(seconds=1)
        if _state(zone, middle) == start:
            low = middle
        else:
            high = middle
    return high


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[Transition]:
    """Every change in `zone` in the UTC interval (start, end], in order."""
    low, low_state = start, _state(zone, start)
    while low < end:
        high = min(low + _STEP, end)
        high_state = _state(zone, high)
        if high_state == low_state:
            low = high
            continue
        at = _bisect(zone, low, high)
        after = _state(zone, at)
        yield Transition(at=at, before=_state(zone, at - timedelta(seconds=1)), after=after)
        low, low_state = at, after


def _last_transition_before(zone: ZoneInfo, instant: datetime) -> Transition | None:
    """The change that began the observance in force at `instant`, if the zone ever changed."""
    current = _state(zone, instant)
    high = instant
    while high > _EARLIEST:
        low = max(high - timedelta(days=7), _EARLIEST)
        if _state(zone, low) != current:
            return list(transitions(zone, low, high))[-1]
        high = low
    return None


def _observance(
    onset_local: datetime, before: _State, after: _State
) -> TimezoneStandard | TimezoneDaylight:
    observance = TimezoneDaylight() if after.daylight else TimezoneStandard()
    observance.add("DTSTART", onset_local)
    observance.add("TZNAME", after.name)
    observance.add("TZOFFSETFROM", before.offset)
    observance.add("TZOFFSETTO", after.offset)
    return observance


def build_vtimezone(key: str, first: datetime, last: datetime) -> Timezone:
    """A VTIMEZONE for `key` that is correct for every instant from `first` to `last` (UTC)."""
    zone = ZoneInfo(key)
    timezone = Timezone()
    timezone.add("TZID", key)
    opening = _last_transition_before(zone, first)
    if opening is None:
        state = _state(zone, first)
        timezone.add_component(_observance(_NO_CHANGE_ONSET, state, state))
    changes = [opening] if opening is not None else []
    changes.extend(transitions(zone, first, last))
    for change in changes:
        # DTSTART is the wall-clock time just before the change, in TZOFFSETFROM's offset.
        onset_local = (change.at + change.before.offset).replace(tzinfo=None)
        timezone.add_component(_observance(onset_local, change.before, change.after))
    return timezone
