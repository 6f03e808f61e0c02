"""IANA time zone names as people type them."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot.features.meetings.errors import ScheduleError


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def resolve_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (case-insensitively); raises ScheduleError otherwise."""
    key = _zones_by_folded_name().get(name.strip().casefold())
    if key is None:
        raise ScheduleError(
            f"{name.strip()!r} is not an IANA time zone; write one like America/Los_Angeles."
        )
    return ZoneInfo(key)
