"""GET / and its own static files, with the security and cache headers the contract names.

Rendering reads every meeting's schedule, so a rendered page is reused for a few seconds
(never past the moment it would read differently on its own, such as an occurrence ending),
and requests arriving while it renders wait for that one render instead of starting their
own. Its ETag is the hash of the body, so a reader or a proxy holding the current version
gets a 304. Last-Modified is the first time this process served that body: a changed page
always has a newer one."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from importlib.resources import files

from aiohttp import web

from bot.features.page.config import web_config
from bot.features.page.render import render_page
from bot.runtime.public import PublicPart, PublicView
from bot.runtime.services import Services

SECURITY = {
    # Nothing from other hosts: no CDN, no fonts, no trackers, no inline script.
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_MAX_AGE = 60  # seconds: short, so a change shows within a minute
STATIC_MAX_AGE = 3600
STATIC = {
    "page.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
REMEMBERED_VERSIONS = 64
# How long a rendered page is reused: well under max-age, so a change made on any replica
# shows within seconds.
RENDER_REUSE = timedelta(seconds=5)


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _matches(header: str, etag: str) -> bool:
    """If-None-Match: a list of tags, possibly weak (W/"…"), or *."""
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == etag:
            return True
    return False


def _not_modified(request: web.Request, etag: str, modified: datetime) -> bool:
    if "If-None-Match" in request.headers:  # it wins over If-Modified-Since (RFC 9110)
        return _matches(request.headers["If-None-Match"], etag)
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        return False
    return modified.replace(microsecond=0) <= when


def _answer(
    request: web.Request, body: bytes, content_type: str, max_age: int, modified: datetime
) -> web.Response:
    etag = _etag(body)
    headers = {
        **SECURITY,
        "ETag": f'"{etag}"',
        "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
    }
    if _not_modified(request, etag, modified):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})


async def render(services: Services, parts: Sequence[PublicPart]) -> tuple[bytes, datetime]:
    """The page's body, and until when it may be reused."""
    now = services.clock()
    view = PublicView(now=now)
    async with services.db.sessions() as session:
        for part in parts:
            await part(services, session, view)
    settings = services.settings
    html = render_page(
        view,
        community=settings.community.name,
        zone=settings.community.timezone,
        base_url=settings.base_url,
    )
    until = now + RENDER_REUSE
    if view.changes_at is not None:
        until = min(until, view.changes_at)
    return html.encode(), until


class RenderedPage:
    """The last rendered body, shared by the requests that come while it is current."""

    def __init__(self, services: Services, parts: Sequence[PublicPart]) -> None:
        self.services, self.parts = services, parts
        self.body, self.until = b"", datetime.min.replace(tzinfo=UTC)
        self.rendering: asyncio.Task[tuple[bytes, datetime]] | None = None

    async def current(self) -> bytes:
        if self.services.clock() < self.until:
            return self.body
        if self.rendering is None:
            self.rendering = asyncio.ensure_future(render(self.services, self.parts))
            self.rendering.add_done_callback(self._rendered)
        # Shielded: a reader who hangs up does not cancel the render the others wait for.
        body, _ = await asyncio.shield(self.rendering)
        return body

    def _rendered(self, task: asyncio.Task[tuple[bytes, datetime]]) -> None:
        self.rendering = None
        if not task.cancelled() and task.exception() is None:
            self.body, self.until = task.result()


def add_routes(app: web.Application, services: Services, parts: Sequence[PublicPart]) -> None:
    if not web_config(services.settings).public_page:
        return  # GET / and its files are then 404, as any unknown path
    if services.communities is not None and len(services.communities) > 1:
        # Each community's page at /c/<key>/ is not served yet (issue 19): rather no page than
        # one community's page, with the deployment's settings, at the shared address.
        return
    static = {
        name: files("bot.features.page").joinpath("static", name).read_bytes() for name in STATIC
    }
    started = services.clock()
    rendered = RenderedPage(services, parts)
    # ETag -> the first time this process served that body (bounded: the newest kept).
    first_seen: OrderedDict[str, datetime] = OrderedDict()

    async def page(request: web.Request) -> web.Response:
        body = await rendered.current()
        etag = _etag(body)
        modified = first_seen.setdefault(etag, services.clock())
        first_seen.move_to_end(etag)
        while len(first_seen) > REMEMBERED_VERSIONS:
            first_seen.popitem(last=False)
        return _answer(request, body, "text/html; charset=utf-8", PAGE_MAX_AGE, modified)

    async def static_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in static:
            raise web.HTTPNotFound(headers=SECURITY)
        return _answer(request, static[name], STATIC[name], STATIC_MAX_AGE, started)

    async def favicon(request: web.Request) -> web.Response:
        return _answer(
            request, static["favicon.svg"], STATIC["favicon.svg"], STATIC_MAX_AGE, started
        )

    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/favicon.ico", favicon)
