"""RFC 5545 recurrence rules for meetings: parse, check, canonicalise, compile.

A meeting's rule is kept as canonical RRULE text (upper case, fixed part order, UNTIL in
UTC as RFC 5545 requires when DTSTART carries a TZID). It is expanded in the meeting's
local wall-clock time by python-dateutil; UNTIL is applied by the caller in UTC, because
dateutil refuses a UTC UNTIL next to the naive local DTSTART we expand from.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from bot.features.meetings.errors import ScheduleError

# Meetings recur at most daily, and each occurrence is named by its local date, so a
# rule may never produce two starts on one day: sub-daily frequencies and the BYHOUR /
# BYMINUTE / BYSECOND parts (which would multiply starts within a day) are refused.
ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PART_ORDER = (
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
)
_SUB_DAILY_PARTS = frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"})
MAX_RULE_LENGTH = 300
MAX_COUNT = 1000
MAX_INTERVAL = 366
EXAMPLE_RULE = "FREQ=MONTHLY;BYDAY=-1TH"

# How far ahead the rule probe looks (see probe_starts). A meeting rule whose next date is
# further away than this is not a meeting schedule.
PROBE_HORIZON_YEARS = 200


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for local expansion: dateutil without UNTIL, plus UNTIL in UTC."""

    rule: rrule
    until: datetime | None


def parse_rule_parts(text: str) -> dict[str, str]:
    """Split RRULE text into upper-cased parts, refusing anything a meeting cannot use."""
    cleaned = text.strip()
    if cleaned.upper().startswith("RRULE:"):
        cleaned = cleaned[len("RRULE:") :]
    if not cleaned:
        raise ScheduleError(f"The recurrence rule is empty; write one like {EXAMPLE_RULE}.")
    if len(cleaned) > MAX_RULE_LENGTH:
        raise ScheduleError(
            f"The recurrence rule is longer than {MAX_RULE_LENGTH} characters; "
            f"write one like {EXAMPLE_RULE}."
        )
    parts: dict[str, str] = {}
    for piece in cleaned.rstrip(";").split(";"):
        name, sep, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            raise ScheduleError(
                f"The recurrence rule has a malformed part {piece!r}; write parts as "
                f"NAME=VALUE separated by ';', like {EXAMPLE_RULE}."
            )
        if name in parts:
            raise ScheduleError(f"The recurrence rule names {name} twice.")
        if name in _SUB_DAILY_PARTS:
            raise ScheduleError(
                f"The recurrence rule may not use {name}: meetings recur at most daily, "
                "and the time of day comes from the start."
            )
        if name not in _PART_ORDER:
            raise ScheduleError(f"The recurrence rule part {name} is not supported.")
        parts[name] = value
    frequency = parts.get("FREQ")
    if frequency is None:
        raise ScheduleError(f"The recurrence rule needs a FREQ, like {EXAMPLE_RULE}.")
    if frequency not in ALLOWED_FREQUENCIES:
        raise ScheduleError(
            f"FREQ={frequency} is not allowed: meetings recur at most daily "
            f"(use one of {', '.join(ALLOWED_FREQUENCIES)})."
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise ScheduleError("The recurrence rule may have COUNT or UNTIL, not both.")
    _check_positive_int(parts, "COUNT", MAX_COUNT)
    _check_positive_int(parts, "INTERVAL", MAX_INTERVAL)
    return parts


def _check_positive_int(parts: dict[str, str], name: str, maximum: int) -> None:
    if name not in parts:
        return
    value = parts[name]
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ScheduleError(f"{name} must be a whole number from 1 to {maximum}.")


def parse_until(value: str, zone: ZoneInfo) -> datetime:
    """UNTIL as an aware UTC instant.

    Accepted forms: ``YYYYMMDDTHHMMSSZ`` (UTC, the RFC form), ``YYYYMMDDTHHMMSS`` (local
    wall-clock time in the meeting's zone) and ``YYYYMMDD`` (through the end of that local
    day, since people mean "until that date" inclusively).
    """
    try:
        if len(value) == 8:
            day = datetime.strptime(value, "%Y%m%d").date()
            local = datetime.combine(day, time(23, 59, 59))
            return local.replace(tzinfo=zone).astimezone(UTC)
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        local = datetime.strptime(value, "%Y%m%dT%H%M%S")
        return local.replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        raise ScheduleError(
            f"UNTIL={value} is not a date; write UNTIL=20271231 or UNTIL=20271231T170000Z."
        ) from None


def canonical_rule(parts: dict[str, str], until: datetime | None) -> str:
    """Canonical RRULE text: fixed part order, UNTIL in UTC."""
    out = []
    for name in _PART_ORDER:
        if name == "UNTIL":
            if until is not None:
                out.append(f"UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}")
        elif name in parts:
            out.append(f"{name}={parts[name]}")
    return ";".join(out)


def compile_rule(text: str, local_start: datetime, zone: ZoneInfo) -> CompiledRule:
    """Compile RRULE text for expansion from a naive local start."""
    return _compile(text, local_start, zone.key)


@lru_cache(maxsize=512)
def _compile(text: str, local_start: datetime, zone_key: str) -> CompiledRule:
    parts = parse_rule_parts(text)
    until_text = parts.pop("UNTIL", None)
    until = parse_until(until_text, ZoneInfo(zone_key)) if until_text else None
    body = canonical_rule(parts, None)
    try:
        compiled = rrulestr(body, dtstart=local_start)
    except (ValueError, TypeError) as error:
        raise ScheduleError(
            f"The recurrence rule {body} is not valid RFC 5545 ({error}); "
            f"write one like {EXAMPLE_RULE}."
        ) from None
    assert isinstance(compiled, rrule)
    return CompiledRule(rule=compiled, until=until)


def probe_starts(compiled: CompiledRule, local_start: datetime, limit: int) -> list[datetime]:
    """The rule's first `limit` local starts within PROBE_HORIZON_YEARS, ignoring COUNT/UNTIL.

    dateutil searches up to year 9999 for a rule that matches nothing (FREQ=DAILY with
    BYMONTH=2;BYMONTHDAY=30 takes seconds), so the search runs on a copy shifted forward
    by whole 400-year Gregorian cycles: those cycles repeat dates and weekdays exactly,
    so the copy's matches are the real ones shifted, and its search ends at year 9999
    after 200 to 600 years of periods.
    """
    cycles = -(-(9400 - local_start.year) // 400)  # shifted year lands in 9400..9799
    if cycles <= 0:
        shifted_start, shift_years = local_start, 0
    else:
        shift_years = cycles * 400
        shifted_start = local_start.replace(year=local_start.year + shift_years)
    probe = compiled.rule.replace(dtstart=shifted_start, count=None, until=None)
    horizon = shifted_start.replace(year=shifted_start.year + PROBE_HORIZON_YEARS)
    found = []
    for start in itertools.islice(probe, limit):
        if start > horizon:
            break
        found.append(start.replace(year=start.year - shift_years))
    return found


def iter_local_starts(compiled: CompiledRule, zone: ZoneInfo) -> Iterator[datetime]:
    """The rule's naive local starts in order, stopping at UNTIL (compared in UTC)."""
    for start in compiled.rule:
        if compiled.until is not None and to_utc(start, zone) > compiled.until:
            return
        yield start


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time in `zone` as an aware UTC instant, the RFC 5545 way.

    fold=0 is exactly what RFC 5545 section 3.3.5 prescribes for both DST edge cases:
    an ambiguous time (the repeated hour in autumn) is its first instance, and a time
    that does not exist (the skipped hour in spring) takes the offset before the gap, so
    02:30 on a spring-forward night becomes 03:30 in the new offset.
    """
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def day_end(day: date) -> datetime:
    """The naive local instant just after `day`."""
    return datetime.combine(day + timedelta(days=1), time())
