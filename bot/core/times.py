"""The one place times are parsed from people and written for them (CONTRACT's formats)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.errors import UserError

TIME_EXAMPLE = '"2026-12-01 09:00" or "2026-12-01 09:00 Europe/Berlin"'
_WHEN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?:\s+(\S+))?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ZONES: dict[str, str] | None = None  # casefolded name -> IANA name


def zone(name: str) -> ZoneInfo:
    """An IANA zone by name, case-insensitively (`america/los_angeles` is
    America/Los_Angeles), or a UserError naming the bad value. The config file, the commands
    and the meetings' rules all resolve zones here, so they accept the same names."""
    global _ZONES
    if _ZONES is None:
        _ZONES = {z.casefold(): z for z in available_timezones()} | {"utc": "UTC"}
    clean = name.strip()
    # Only names from available_timezones() are opened, which also rules out paths like "../etc".
    key = _ZONES.get(clean.casefold())
    if key is None:
        raise UserError(
            f"“{clean[:60]}” is not an IANA time zone; use one like America/Los_Angeles "
            "or Europe/Berlin."
        )
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"“{clean[:60]}” is not an IANA time zone.") from None


def format_fallback(at: datetime, zone_name: str) -> str:
    """`Thu 30 Sep 2021, 09:00 PDT (16:00 UTC)`, or `Thu 30 Sep 2021, 16:00 UTC` in UTC."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    utc = at.astimezone(UTC)
    local = at.astimezone(ZoneInfo(zone_name))
    head = f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"
    if local.utcoffset() == timedelta(0) and zone_name in ("UTC", "Etc/UTC"):
        return f"{head} UTC"
    return f"{head} {local.tzname()} ({utc:%H:%M} UTC)"


def to_utc_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as an aware UTC datetime; refuses times a DST change skips."""
    local = datetime.combine(day, clock, tzinfo=tz)
    roundtrip = local.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise UserError(
            f"{day.isoformat()} {clock:%H:%M} does not exist in {tz.key} (the clocks skip it "
            "for daylight saving); pick another time."
        )
    # An ambiguous time (clocks going back) is taken as its first occurrence (fold=0).
    return local.astimezone(UTC)


def parse_when(text: str, default_zone: str) -> datetime:
    """`YYYY-MM-DD HH:MM [Zone]` typed by a person, as an aware UTC datetime."""
    m = _WHEN.match(text.strip())
    if not m:
        raise UserError(f"I can't read “{text[:40]}” as a time; write it like {TIME_EXAMPLE}.")
    y, mo, d, h, mi, zname = m.groups()
    tz = zone(zname) if zname else ZoneInfo(default_zone)
    try:
        day = date(int(y), int(mo), int(d))
        clock = time(int(h), int(mi))
    except ValueError:
        raise UserError(
            f"“{text[:40]}” is not a real date and time; write it like {TIME_EXAMPLE}."
        ) from None
    return to_utc_local(day, clock, tz)


def parse_date(text: str) -> date:
    m = _DATE.match(text.strip())
    if not m:
        raise UserError(f"I can't read “{text[:40]}” as a date; write it like 2026-12-31.")
    try:
        return date(*(int(g) for g in m.groups()))
    except ValueError:
        raise UserError(f"“{text[:40]}” is not a real date; write it like 2026-12-31.") from None


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """`90m`, `1h`, `2d`, `1w`."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise UserError(
            f"I can't read “{text[:40]}” as a duration; write a number and m, h, d or w, like 90m."
        )
    amount = int(m.group(1))
    if amount == 0 and not allow_zero:
        raise UserError("A duration must be longer than zero, like 30m.")
    span = timedelta(**{_UNIT[m.group(2)]: amount})
    if span > timedelta(days=366):
        raise UserError("That duration is longer than a year; use a shorter one.")
    return span


def format_duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    for unit, size in (("w", 10080), ("d", 1440), ("h", 60)):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def end_of_day(day: date, tz_name: str) -> datetime:
    """The first instant after `day` in `tz_name` (a `closes` date means the end of that day)."""
    tz = ZoneInfo(tz_name)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
