"""The meetings feature's own error for bad schedules, before there is a command to answer."""

from __future__ import annotations


class ScheduleError(ValueError):
    """A meeting schedule is invalid; str(error) is the one sentence shown to the asker."""
