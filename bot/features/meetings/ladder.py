"""Which scheduled posts a meeting needs: the reminder ladder and the call for agenda items.

Pure planning over a Series; the deliveries module turns the result into rows. Each post is
named by its occurrence, its step and the start it announces, so a moved occurrence gets new
posts and the old ones (which name the old start) no longer match and are never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.recurrence import (
    Occurrence,
    Series,
    next_occurrences,
    occurrences_between,
)

DEFAULT_LADDER = ("7d", "1d", "1h", "0m")
DEFAULT_AGENDA_CALL = "3d"
# Always plan this many upcoming occurrences, however far away: sending any post re-plans,
# so the next occurrence's first post is always already in the table to keep the chain going.
ALWAYS_PLANNED = 2
_UNITS = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
MAX_STEP = timedelta(days=28)


class PostKind(StrEnum):
    REMINDER = "meeting_reminder"
    AGENDA_CALL = "meeting_agenda_call"


@dataclass(frozen=True, slots=True)
class Step:
    """One rung: how long before the start, and how it is written ("7d")."""

    before: timedelta
    label: str


@dataclass(frozen=True, slots=True)
class PlannedPost:
    kind: PostKind
    occurrence: Occurrence
    step: Step
    due_at: datetime

    @property
    def occurrence_ref(self) -> str:
        """The deliveries row's occurrence column: date, step, and the start it announces."""
        return occurrence_ref(self.occurrence, self.step.label)


def occurrence_ref(occurrence: Occurrence, label: str) -> str:
    return f"{occurrence.key}/{label}/{occurrence.start.astimezone(UTC):%Y%m%dT%H%MZ}"


def parse_step(text: str) -> Step:
    """ "7d", "1h", "30m", "0m" (a number and m, h, d or w), at most four weeks."""
    clean = text.strip().lower()
    number, unit = clean[:-1], clean[-1:]
    if not number.isdigit() or unit not in _UNITS or len(number) > 6:
        raise ScheduleError(
            f"“{text[:20]}” is not a reminder time; write a number and m, h, d or w, like 1d."
        )
    before = timedelta(minutes=int(number) * _UNITS[unit])
    if before > MAX_STEP:
        raise ScheduleError(f"A reminder {text.strip()} before is too early; the limit is 4w.")
    return Step(before, f"{int(number)}{unit}")


def parse_ladder(items: Iterable[str]) -> tuple[Step, ...]:
    """The ladder, earliest first, without duplicates."""
    steps = {step.before: step for step in (parse_step(item) for item in items)}
    return tuple(sorted(steps.values(), key=lambda step: step.before, reverse=True))


def plan_posts(
    series: Series,
    ladder: Sequence[Step],
    agenda_call: Step | None,
    now: datetime,
) -> list[PlannedPost]:
    """Every post due from `now` on for the occurrences worth planning now.

    Those are the next ALWAYS_PLANNED occurrences plus any whose earliest post falls within
    the ladder's reach. Posts whose time has already passed are left out: a reminder that
    was never planned in time is not worth sending late.
    """
    steps = [(PostKind.REMINDER, step) for step in ladder]
    if agenda_call is not None:
        steps.append((PostKind.AGENDA_CALL, agenda_call))
    if not steps:
        return []
    reach = max(step.before for _, step in steps)
    upcoming = {o.key: o for o in next_occurrences(series, now, ALWAYS_PLANNED)}
    for occurrence in occurrences_between(series, now, now + reach + timedelta(days=1)):
        upcoming.setdefault(occurrence.key, occurrence)
    posts = _posts(upcoming.values(), steps, now)
    if posts:
        # Across a DST change a later occurrence's long step ("2w" before, counted in real
        # time) can fall before the soonest post found so far; every occurrence that starts
        # within `reach` of that post could, so plan those too (the chain depends on it).
        soonest = min(post.due_at for post in posts)
        more = [
            o
            for o in occurrences_between(series, now, soonest + reach + timedelta(minutes=1))
            if o.key not in upcoming
        ]
        posts += _posts(more, steps, now)
    return sorted(posts, key=lambda post: (post.due_at, post.kind, post.occurrence.key))


def _posts(
    occurrences: Iterable[Occurrence], steps: Sequence[tuple[PostKind, Step]], now: datetime
) -> list[PlannedPost]:
    return [
        PlannedPost(kind, occurrence, step, occurrence.start - step.before)
        for occurrence in occurrences
        for kind, step in steps
        if occurrence.start - step.before >= now
    ]
