"""The community's meetings as an iCalendar (RFC 5545) feed, built with `icalendar`.

One VEVENT per meeting carries the series (DTSTART with TZID, RRULE, EXDATE for skips);
each moved occurrence is an override VEVENT with the same UID and a RECURRENCE-ID naming
the scheduled start. Every zone used gets a VTIMEZONE, so clients that do not know IANA
names still place occurrences at the right local time. Calendar apps subscribe to this
feed and re-read it, so UIDs are stable and SEQUENCE grows when a meeting changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vDuration, vRecur

from bot.features.meetings.recurrence import Move, Series
from bot.features.meetings.vtimezone import build_vtimezone

PRODUCT_ID = "-//communitybot//meetings//EN"
UID_DOMAIN = "communitybot"
# VTIMEZONE definitions are lists of transitions; they must reach past anything a client
# may still expand between two refreshes of the feed, which is regenerated on each request.
TIMEZONE_YEARS_AHEAD = 20


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """What the feed shows of one meeting."""

    uid: str  # stable across edits; see meeting_uid
    name: str
    series: Series
    stamp: datetime  # aware: when the meeting last changed (LAST-MODIFIED)
    sequence: int = 0  # bumped on every edit that changes what calendars show
    description: str = ""
    join_url: str | None = None
    register_url: str | None = None
    agenda_url: str | None = None
    cancelled: bool = False


def meeting_uid(community: str, meeting_key: str) -> str:
    """A UID that stays the same for a meeting as long as it exists.

    `meeting_key` should be unique for all time within the community (e.g. the database
    id plus the short id), so a meeting re-created under an old short id is a new event.
    """
    return f"{_uid_token(meeting_key)}.{_uid_token(community)}@{UID_DOMAIN}"


def _uid_token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "x"


def build_calendar(entries: Iterable[FeedEntry], *, name: str, now: datetime) -> bytes:
    """The iCalendar document for `entries`, as bytes ready to serve as text/calendar."""
    calendar = Calendar()
    calendar.add("PRODID", PRODUCT_ID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("NAME", name)
    calendar.add("X-WR-CALNAME", name)
    calendar.add("REFRESH-INTERVAL", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(timedelta(hours=1)))

    events: list[Event] = []
    years: dict[str, tuple[int, int]] = {}
    for entry in entries:
        events.append(_series_event(entry, now))
        events.extend(_override_event(entry, move, now) for move in _held_moves(entry.series))
        first, last = _years_spanned(entry.series, now)
        if entry.series.zone != "UTC":
            old = years.get(entry.series.zone, (first, last))
            years[entry.series.zone] = (min(old[0], first), max(old[1], last))
    for zone, (first, last) in sorted(years.items()):
        calendar.add_component(_timezone(zone, first, last))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


def _series_event(entry: FeedEntry, now: datetime) -> Event:
    series = entry.series
    event = _base_event(entry, now)
    event.add("DTSTART", _local(series, series.local_start))
    event.add("DURATION", series.duration)
    if series.rrule is not None:
        event.add("RRULE", vRecur.from_ical(series.rrule))
    if series.skips:
        event.add("EXDATE", [_scheduled(series, day) for day in sorted(series.skips)])
    return event


def _override_event(entry: FeedEntry, move: Move, now: datetime) -> Event:
    series = entry.series
    event = _base_event(entry, now)
    event.add("RECURRENCE-ID", _scheduled(series, move.original_date))
    event.add("DTSTART", _moved_start(series, move.start))
    event.add("DURATION", series.duration)
    return event


def _base_event(entry: FeedEntry, now: datetime) -> Event:
    event = Event()
    event.add("UID", entry.uid)
    # With METHOD:PUBLISH, DTSTAMP is when this document was made (RFC 5545 §3.8.7.2);
    # readers tell changes apart by SEQUENCE and LAST-MODIFIED.
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("LAST-MODIFIED", entry.stamp.astimezone(UTC))
    event.add("SEQUENCE", entry.sequence)
    event.add("SUMMARY", entry.name)
    event.add("STATUS", "CANCELLED" if entry.cancelled else "CONFIRMED")
    description = _description(entry)
    if description:
        event.add("DESCRIPTION", description)
    url = entry.join_url or entry.register_url
    if url:
        event.add("URL", url)
    return event


def _description(entry: FeedEntry) -> str:
    lines = [entry.description.strip()] if entry.description.strip() else []
    for label, url in (
        ("Join", entry.join_url),
        ("Register", entry.register_url),
        ("Agenda", entry.agenda_url),
    ):
        if url:
            lines.append(f"{label}: {url}")
    return "\n".join(lines)


def _held_moves(series: Series) -> list[Move]:
    return sorted(
        (move for move in series.moves if move.original_date not in series.skips),
        key=lambda move: move.original_date,
    )


def _local(series: Series, local: datetime) -> datetime:
    # icalendar writes the wall-clock fields with TZID=<zone key> (or Z for UTC), which
    # readers interpret with RFC 5545's DST rules, the same ones our expansion uses.
    return local.replace(tzinfo=ZoneInfo(series.zone))


def _scheduled(series: Series, day: date) -> datetime:
    """The scheduled start on `day` as EXDATE/RECURRENCE-ID write it: local time with TZID."""
    return _local(series, datetime.combine(day, series.local_start.time()))


def _moved_start(series: Series, start: datetime) -> datetime:
    local = start.astimezone(ZoneInfo(series.zone))
    # A TZID time names the first of two repeated wall-clock times, so the second one
    # (fold=1 and really repeated) is written in UTC, which is unambiguous.
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return start.astimezone(UTC)
    return local


def _years_spanned(series: Series, now: datetime) -> tuple[int, int]:
    years = [series.local_start.year, now.year + TIMEZONE_YEARS_AHEAD]
    for move in series.moves:
        years.extend((move.original_date.year, move.start.year))
    years.extend(day.year for day in series.skips)
    return min(years), max(years) + 1


def _timezone(zone: str, first_year: int, last_year: int) -> Timezone:
    return Timezone.from_ical(_timezone_ical(zone, first_year, last_year))


@lru_cache(maxsize=256)
def _timezone_ical(zone: str, first_year: int, last_year: int) -> bytes:
    # Building a VTIMEZONE walks every transition; cache the text, not the mutable component.
    # Not icalendar's Timezone.from_tzid: it writes DAYLIGHT onsets an hour late (vtimezone.py).
    return build_vtimezone(
        zone, datetime(first_year, 1, 1, tzinfo=UTC), datetime(last_year, 1, 1, tzinfo=UTC)
    ).to_ical()
