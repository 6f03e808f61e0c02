"""Times and durations in audit details: written once, shown in each reader's zone.

An audit row's detail is text written when the action happens, but its readers live in
different zones. Instants are therefore written as ISO 8601 UTC (`2027-01-02T18:00:00Z`)
and turned back into `Time` inlines when the log is shown, so each reader gets the
contract's format (`Thu 30 Sep 2021, 09:00 PDT (16:00 UTC)`) in their own zone. Rows
written before this (`2027-01-02 18:00:00+00:00`, durations as `1:00:00`) read the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.message import Inline, Time

# An ISO instant with an explicit offset, as written by audit_value or by str()/isoformat().
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")
# str(timedelta) as older rows hold it, only as a whole `name=value` (never inside free text).
_OLD_DURATION = re.compile(r"(?<==)(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2})(?=,|$)")
_UNITS = (("week", 7 * 24 * 60), ("day", 24 * 60), ("hour", 60), ("minute", 1))


def human_duration(span: timedelta) -> str:
    """`1 hour`, `1 hour 30 minutes`, `2 days`, `1 week`: to the minute."""
    minutes = int(span.total_seconds() // 60)
    if minutes <= 0:
        return "0 minutes"
    parts = []
    for unit, size in _UNITS:
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)


def audit_value(value: Any) -> str:
    """A command argument as the audit detail stores it."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, timedelta):
        return human_duration(value)
    return str(value)


def audit_parts(detail: str, zone: str) -> list[Inline | str]:
    """`detail` with each stored instant as a `Time` (shown in the reader's zone)."""
    detail = _OLD_DURATION.sub(_old_duration, detail)
    parts: list[Inline | str] = []
    end = 0
    for match in _INSTANT.finditer(detail):
        try:
            at = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            continue  # looked like one, is not a real date: leave the text as it is
        parts.append(detail[end : match.start()])
        parts.append(Time(at.astimezone(UTC), zone))
        end = match.end()
    parts.append(detail[end:])
    return [p for p in parts if p != ""]


def _old_duration(match: re.Match[str]) -> str:
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return human_duration(timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds))
