"""Checks for a meeting's declared fields, shared by the config file and the commands.

The config file is checked when it is loaded, so `communitybot run` refuses a meeting whose
start is off its rule with the same sentence a maintainer's command would get.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.ladder import parse_ladder, parse_step
from bot.features.meetings.recurrence import Series, make_series

START_EXAMPLE = "2026-01-29T09:00"


def parse_local_start(text: str) -> datetime:
    """A local wall-clock start, `YYYY-MM-DDTHH:MM` (a space works as well as the T)."""
    try:
        local = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ScheduleError(
            f"“{text[:40]}” is not a local start time; write it like {START_EXAMPLE}."
        ) from None
    if local.tzinfo is not None:
        raise ScheduleError(
            f"The start {text[:40]} carries an offset; give the local time and set the zone "
            "separately."
        )
    return local


def check_schedule(
    *,
    start: str,
    timezone: str,
    rrule: str | None,
    duration_minutes: int,
    reminders: Sequence[str],
    agenda_call: str | None,
) -> Series:
    """The validated series of a declared meeting; raises ScheduleError."""
    series = make_series(
        local_start=parse_local_start(start),
        zone=timezone,
        duration=timedelta(minutes=duration_minutes),
        rrule=rrule,
    )
    parse_ladder(reminders)
    if agenda_call is not None:
        parse_step(agenda_call)
    return series
