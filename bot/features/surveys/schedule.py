"""When survey reminders fall: channel rounds on the cadence, personal nudges between them.

Pure functions of the survey's start, cadence and close, so they are tested without a clock.
Round k is posted at start + k·every. Nudges fall half a cadence after a round, so people who
saw the channel post have had time to open their link before anyone is nudged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# A last nudge this long before the close, when the rounds leave room for fewer nudges than
# allowed (a survey closing in three days with a weekly cadence still gets one).
LAST_CALL = timedelta(days=1)
# Nudges closer together than this are not planned (the last call next to a round's nudge).
MIN_GAP = timedelta(hours=12)


def first_round_at_or_after(start: datetime, every: timedelta, now: datetime) -> int:
    """The index of the first round due at or after `now` (0 when the survey has not started)."""
    if now <= start:
        return 0
    elapsed = now - start
    k = elapsed // every
    return int(k) if start + k * every >= now else int(k) + 1


def round_at(start: datetime, every: timedelta, k: int) -> datetime:
    return start + k * every


def before_close(at: datetime, closes: datetime | None) -> bool:
    return closes is None or at < closes


def nudge_times(
    start: datetime, every: timedelta, closes: datetime | None, now: datetime, count: int
) -> list[datetime]:
    """Up to `count` nudge times after `now`, all before the close."""
    if count <= 0:
        return []
    times: list[datetime] = []
    k = first_round_at_or_after(start, every, now - every / 2)
    while len(times) < count:
        at = round_at(start, every, k) + every / 2
        k += 1
        if not before_close(at, closes):
            break
        if at > now:
            times.append(at)
    if closes is not None and len(times) < count:
        last = closes - LAST_CALL
        if last > now and all(abs(last - t) >= MIN_GAP for t in times):
            times.append(last)
    return sorted(times)
