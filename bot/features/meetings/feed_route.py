"""GET /calendar.ics and /c/<key>/calendar.ics: a community's meetings as a feed calendar
apps subscribe to.

/calendar.ics is the feed of a deployment with one community, whatever its `[web]
public_page` (as before several communities existed). /c/<key>/calendar.ics stands with
that community's page: it exists only while its page is public, so a community created from
an install publishes nothing until its maintainers turn its page on."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.features.meetings.calendar_feed import FeedEntry, build_calendar, meeting_uid
from bot.features.meetings.config import private_keys
from bot.features.meetings.records import series_of
from bot.runtime.public import publishes
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
    private = private_keys(services.settings)
    async with services.db.sessions() as session:
        meetings = [
            m
            for m in await meetings_in_state(session, services.community_id)
            if (m.state == MeetingState.ACTIVE or now - m.updated_at < KEEP_CANCELLED)
            and m.key not in private
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


_DTSTAMP = re.compile(rb"^DTSTAMP:\d{8}T\d{6}Z\r$", re.MULTILINE)


def stamped(body: bytes, now: datetime) -> bytes:
    """A kept document with DTSTAMP set to `now`: RFC 5545 §3.8.7.2 makes it the time this
    copy of the feed was generated, while its content (and ETag) changed only with the
    meetings."""
    value = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()
    return _DTSTAMP.sub(b"DTSTAMP:" + value + b"\r", body)


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


def _several(services: Services) -> bool:
    # Asked each time: communities created while the bot runs make one into several.
    return services.communities is not None and len(services.communities) > 1


def feed_path(services: Services) -> str | None:
    """Where the feed of the community `services` sees is served, or None when it is not
    (one of several communities, with its page off)."""
    if not _several(services):
        return "/calendar.ics"
    assert services.communities is not None
    community = services.communities.by_id(services.community_id)
    if community is None or not publishes(community.settings):
        return None
    return f"/c/{community.key}/calendar.ics"


def add_routes(app: web.Application, services: Services) -> None:
    # The last document built for each community and what it was built from: calendar apps
    # poll the feed, and building it for a thousand meetings costs far more than asking
    # whether anything changed.
    cached: dict[int, dict[str, object]] = {}

    async def document(view: Services) -> tuple[bytes, str]:
        mine = cached.setdefault(view.community_id, {})
        key = await _fingerprint(view)
        if mine.get("key") != key:
            body = await calendar_document(view)
            mine["body"], mine["etag"], mine["key"] = body, content_etag(body), key
        body, etag = mine["body"], mine["etag"]
        assert isinstance(body, bytes) and isinstance(etag, str)
        return stamped(body, view.clock()), etag

    async def answer(request: web.Request, view: Services) -> web.Response:
        body, etag = await document(view)
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

    async def calendar(request: web.Request) -> web.Response:
        # Unprefixed, the feed is a one-community deployment's; with several, each has its own.
        if _several(services):
            raise web.HTTPNotFound(
                text="This bot serves several communities: use /c/<key>/calendar.ics."
            )
        return await answer(request, services)

    async def community_calendar(request: web.Request) -> web.Response:
        community = (
            services.communities.by_key(request.match_info["key"])
            if services.communities is not None
            else None
        )
        if community is None or not publishes(community.settings):
            raise web.HTTPNotFound(text="There is no public community with that key here.")
        return await answer(request, services.for_community(community))

    app.router.add_get("/calendar.ics", calendar)
    app.router.add_get("/c/{key}/calendar.ics", community_calendar)
