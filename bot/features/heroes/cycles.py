"""Hero cycles: calendar months ("2026-11") or quarters ("2026-Q4") in the community's zone.

A cycle runs from local midnight on its first day to local midnight on the first day of the
next one, so the community's zone (not UTC, not the asker's) decides where a month ends.
Nominations are open from the start until `closes_at`: the end of the cycle, or the end of
the first `window_days` days when the config sets a window.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import UserError

MONTHLY, QUARTERLY = "monthly", "quarterly"
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_KEY = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTHS = tuple(calendar.month_name)[1:]


@dataclass(frozen=True, slots=True)
class Cycle:
    """One nomination cycle. Instants are aware UTC; `zone` is the community's."""

    key: str
    first_day: date
    next_first_day: date
    zone: str
    window_days: int | None = None

    @property
    def quarterly(self) -> bool:
        return "Q" in self.key

    @property
    def start(self) -> datetime:
        return _midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.next_first_day, self.zone)

    @property
    def closes_at(self) -> datetime:
        """When nominations stop counting toward this cycle (unless its Hero comes first)."""
        if self.window_days is None:
            return self.end
        return min(
            self.end, _midnight(self.first_day + timedelta(days=self.window_days), self.zone)
        )

    @property
    def title(self) -> str:
        """`November 2026` or `Q4 2026`, for people."""
        if self.quarterly:
            return f"Q{(self.first_day.month - 1) // 3 + 1} {self.first_day.year}"
        return f"{_MONTHS[self.first_day.month - 1]} {self.first_day.year}"

    def following(self) -> Cycle:
        return _build(self.next_first_day, self.quarterly, self.zone, self.window_days)

    @property
    def open_until(self) -> datetime:
        """The last minute of nominations, as people read it: 23:59, not the next 00:00."""
        return self.closes_at - timedelta(minutes=1)

    def is_open(self, now: datetime) -> bool:
        return self.start <= now < self.closes_at


def _midnight(day: date, zone: str) -> datetime:
    # Midnight exists on nearly every day everywhere; where a DST change skips it, zoneinfo
    # maps it to the first instant that does exist, which is what "start of day" means.
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _next_first_day(first: date, quarterly: bool) -> date:
    months = first.month - 1 + (3 if quarterly else 1)
    return date(first.year + months // 12, months % 12 + 1, 1)


def _build(first: date, quarterly: bool, zone: str, window_days: int | None) -> Cycle:
    nxt = _next_first_day(first, quarterly)
    if quarterly:
        key = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    else:
        key = f"{first.year}-{first.month:02d}"
    return Cycle(key, first, nxt, zone, window_days)


def cycle_at(now: datetime, zone: str, period: str, window_days: int | None = None) -> Cycle:
    """The cycle that contains the instant `now`, by the community's calendar."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    local = now.astimezone(ZoneInfo(zone)).date()
    quarterly = period == QUARTERLY
    month = (local.month - 1) // 3 * 3 + 1 if quarterly else local.month
    return _build(date(local.year, month, 1), quarterly, zone, window_days)


def example_key(period: str) -> str:
    return "2026-Q4" if period == QUARTERLY else "2026-11"


def parse_cycle(text: str, zone: str, period: str, window_days: int | None = None) -> Cycle:
    """A cycle named the way people write it: `2026-11` (monthly) or `2026-Q4` (quarterly).

    Both forms are read whatever the configured period, so cycles from before a change of
    period can still be listed; the window applies only to cycles of the configured kind.
    """
    clean = text.strip()
    if m := _MONTH_KEY.match(clean):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise UserError(f"“{clean[:20]}” is not a month; name a cycle like 2026-11.")
        quarterly = False
    elif m := _QUARTER_KEY.match(clean):
        year, month = int(m.group(1)), (int(m.group(2)) - 1) * 3 + 1
        quarterly = True
    else:
        raise UserError(f"“{clean[:20]}” is not a cycle; name one like {example_key(period)}.")
    if not 2000 <= year <= 2200:
        raise UserError(f"“{clean[:20]}” is too far from today to be a cycle.")
    window = window_days if quarterly == (period == QUARTERLY) else None
    return _build(date(year, month, 1), quarterly, zone, window)
