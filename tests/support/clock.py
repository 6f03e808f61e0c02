"""The App's clock in a test: a value the test sets or moves on; nothing sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def _wall() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Clock:
    """Callable like `utc_now`; set `now`, or `advance` it, between steps of a test."""

    now: datetime = field(default_factory=_wall)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta = timedelta(0), **parts: float) -> datetime:
        """Move on by `span` plus `timedelta(**parts)`; returns the new time."""
        self.now += span + timedelta(**parts)
        return self.now
