"""The meetings' part of the public page: the next occurrences, each meeting's series and
the latest recordings, from the queries `/meeting next` and `/meeting list` use. Meetings
declared with `public = false` are left out, as the calendar feed leaves them out."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.config import private_keys
from bot.features.meetings.records import series_of
from bot.features.meetings.recurrence import Occurrence, Series, occurrences
from bot.runtime.public import (
    PublicMeeting,
    PublicOccurrence,
    PublicRecap,
    PublicView,
)
from bot.runtime.services import Services
from bot.store.meetings import Meeting, MeetingState, meetings_in_state, overrides_of
from bot.store.recaps import latest_recaps

NEXT_SHOWN = 12  # CONTRACT: at least 10
MEETINGS_SHOWN = 50
RECAPS_SHOWN = 5


def _tagged(meeting: Meeting, stream: Iterator[Occurrence]) -> Iterator[tuple[Occurrence, Meeting]]:
    for occurrence in stream:
        yield occurrence, meeting


def _public_occurrence(meeting: Meeting, occurrence: Occurrence) -> PublicOccurrence:
    return PublicOccurrence(
        meeting_key=meeting.key,
        name=meeting.name,
        start=occurrence.start,
        end=occurrence.end,
        zone=meeting.timezone,
        join_url=meeting.join_url,
        register_url=meeting.register_url,
        moved=occurrence.moved,
    )


async def fill_public(services: Services, session: AsyncSession, view: PublicView) -> None:
    private = private_keys(services.settings)
    meetings = [
        m
        for m in await meetings_in_state(session, services.community_id, MeetingState.ACTIVE)
        if m.key not in private
    ]
    overrides = await overrides_of(session, [m.id for m in meetings])
    # One lazy stream per meeting, as /meeting next reads it: an occurrence still in
    # progress stays listed until it ends. Its first item is the meeting's own next one.
    streams: list[tuple[Occurrence, Meeting, Series, Iterator[Occurrence]]] = []
    for meeting in meetings:
        series = series_of(meeting, overrides[meeting.id])
        stream = occurrences(series, view.now - series.duration)
        first = next(stream, None)
        if first is not None:
            streams.append((first, meeting, series, stream))
            view.changes_by(first.end)
    merged = heapq.merge(
        *(_tagged(m, itertools.chain([first], rest)) for first, m, _, rest in streams),
        key=lambda pair: (pair[0].start, pair[1].key),
    )
    view.occurrences += [
        _public_occurrence(meeting, occurrence)
        for occurrence, meeting in itertools.islice(merged, NEXT_SHOWN)
    ]
    upcoming = sorted(streams, key=lambda row: (row[0].start, row[1].key))
    view.meetings += [
        PublicMeeting(
            key=meeting.key,
            name=meeting.name,
            description=meeting.description,
            zone=meeting.timezone,
            local_start=series.local_start,
            duration_minutes=meeting.duration_minutes,
            rrule=meeting.rrule,
            join_url=meeting.join_url,
            register_url=meeting.register_url,
        )
        for _, meeting, series, _ in upcoming[:MEETINGS_SHOWN]
    ]
    view.more_meetings += max(0, len(upcoming) - MEETINGS_SHOWN)
    view.recaps += [
        PublicRecap(meeting_name=meeting.name, held_on=recap.occurrence_date, url=recap.url)
        for recap, meeting in await latest_recaps(
            session, services.community_id, RECAPS_SHOWN, leave_out=private
        )
    ]
