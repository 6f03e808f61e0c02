"""GET /calendar.ics: the community's meetings as a feed calendar apps subscribe to."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.features.meetings.calendar_feed import FeedEntry, build_calendar, meeting_uid
from bot.features.meetings.records import series_of
from bot.runtime.services import Services
from bot.store.meetings import (
    Meeting,
    MeetingState,
    meetings_in_state,
    overrides_of,
)

# Cancelled and archived meetings stay in the feed as STATUS:CANCELLED for a while, so
# subscribed calendars learn of the cancellation before the event disappears.
KEEP_CANCELLED = timedelta(days=90)


def _entry(services: Services, meeting: Meeting, overrides: list) -> FeedEntry:
    return FeedEntry(
        uid=meeting_uid(f"community-{services.community_id}", f"{meeting.id}-{meeting.key}"),
        name=meeting.name,
        series=series_of(meeting, overrides),
        stamp=meeting.updated_at,
        sequence=meeting.sequence,
        description=meeting.description,
        join_url=meeting.join_url,
        register_url=meeting.register_url,
        agenda_url=meeting.agenda_url,
        cancelled=meeting.state != MeetingState.ACTIVE,
    )


async def calendar_document(services: Services) -> bytes:
    now = services.clock()
    async with services.db.sessions() as session:
        meetings = [
            m
            for m in await meetings_in_state(session, services.community_id)
            if m.state == MeetingState.ACTIVE or now - m.updated_at < KEEP_CANCELLED
        ]
        overrides = await overrides_of(session, [m.id for m in meetings])
    entries = [_entry(services, m, overrides[m.id]) for m in meetings]
    return build_calendar(entries, name=services.settings.community.name, now=now)


def content_etag(body: bytes) -> str:
    """A tag that changes only when the meetings do.

    DTSTAMP is the generation time, different on every request, so it is left out of the
    hash; the same calendar then keeps its tag and If-None-Match still answers 304.
    """
    lines = body.split(b"\r\n")
    return hashlib.sha256(
        b"\r\n".join(line for line in lines if not line.startswith(b"DTSTAMP"))
    ).hexdigest()[:32]


async def _fingerprint(services: Services) -> tuple[object, ...]:
    """What the document depends on, in one small query: every edit, skip, move, cancel or
    config change bumps a meeting's sequence and updated_at (and only such changes do)."""
    now = services.clock()
    async with services.db.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.count(), func.max(Meeting.updated_at), func.sum(Meeting.sequence)
                ).where(
                    Meeting.community_id == services.community_id,
                    or_(
                        Meeting.state == MeetingState.ACTIVE,
                        Meeting.updated_at > now - KEEP_CANCELLED,
                    ),
                )
            )
        ).one()
    return (*row, now.year, services.settings.community.name)


def add_routes(app: web.Application, services: Services) -> None:
    # The last document built and what it was built from: calendar apps poll the feed, and
    # building it for a thousand meetings costs far more than asking whether anything changed.
    cached: dict[str, object] = {}

    async def document() -> bytes:
        key = await _fingerprint(services)
        if cached.get("key") != key:
            cached["body"], cached["key"] = await calendar_document(services), key
        body = cached["body"]
        assert isinstance(body, bytes)
        return body

    async def calendar(request: web.Request) -> web.Response:
        body = await calendar_document(services)
        etag = content_etag(body)
        body = await document()
        etag = hashlib.sha256(body).hexdigest()[:32]
        if request.headers.get("If-None-Match", "").strip('"') == etag:
            return web.Response(status=304, headers={"ETag": f'"{etag}"'})
        return web.Response(
            body=body,
            headers={
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": 'inline; filename="calendar.ics"',
                "Cache-Control": "max-age=300",
                "ETag": f'"{etag}"',
            },
        )

    app.router.add_get("/calendar.ics", calendar)
