"""GET /, GET /c/<key>/ and the page's own static files, with the security and cache headers
the contract names.

A deployment with one community serves its page at / (and at /c/<key>/). With several, /
lists those whose page is public and each is at /c/<key>/, looked up when the request comes
in, so a community created while the bot runs is served as soon as its page is turned on.

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

from bot.features.page.render import Listed, render_listing, render_page
from bot.runtime.communities import Community
from bot.runtime.public import PublicPart, PublicView, publishes
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
# Rendered pages kept, one per community (and address): the most recently read ones.
KEPT_PAGES = 256


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


async def render(
    services: Services, parts: Sequence[PublicPart], prefix: str
) -> tuple[bytes, datetime]:
    """The page's body, and until when it may be reused. `prefix` is where the page stands
    ("" or "/c/<key>"), so that its feed links point at this community's feed."""
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
        prefix=prefix,
    )
    until = now + RENDER_REUSE
    if view.changes_at is not None:
        until = min(until, view.changes_at)
    return html.encode(), until


class FirstServed:
    """ETag -> the first time this process served that body (bounded: the newest kept), which
    is the body's Last-Modified."""

    def __init__(self) -> None:
        self.at: OrderedDict[str, datetime] = OrderedDict()

    def of(self, etag: str, now: datetime) -> datetime:
        first = self.at.setdefault(etag, now)
        self.at.move_to_end(etag)
        while len(self.at) > REMEMBERED_VERSIONS:
            self.at.popitem(last=False)
        return first


class RenderedPage:
    """One community's last rendered body, shared by the requests that come while it is
    current, and the first time each version of it was served (its Last-Modified)."""

    def __init__(self, services: Services, parts: Sequence[PublicPart], prefix: str) -> None:
        self.services, self.parts, self.prefix = services, parts, prefix
        self.body, self.until = b"", datetime.min.replace(tzinfo=UTC)
        self.rendering: asyncio.Task[tuple[bytes, datetime]] | None = None
        self.first_served = FirstServed()

    async def current(self) -> bytes:
        if self.services.clock() < self.until:
            return self.body
        if self.rendering is None:
            self.rendering = asyncio.ensure_future(render(self.services, self.parts, self.prefix))
            self.rendering.add_done_callback(self._rendered)
        # Shielded: a reader who hangs up does not cancel the render the others wait for.
        body, _ = await asyncio.shield(self.rendering)
        return body

    def _rendered(self, task: asyncio.Task[tuple[bytes, datetime]]) -> None:
        self.rendering = None
        if not task.cancelled() and task.exception() is None:
            self.body, self.until = task.result()


class Pages:
    """The rendered pages of the communities read lately, by community and address."""

    def __init__(self, services: Services, parts: Sequence[PublicPart]) -> None:
        self.services, self.parts = services, parts
        self.kept: OrderedDict[tuple[int, str], RenderedPage] = OrderedDict()

    def of(self, view: Services, prefix: str) -> RenderedPage:
        """`view`: the services as the community sees them (Services.for_community)."""
        key = (view.community_id, prefix)
        page = self.kept.get(key)
        # A community whose settings changed (its page turned on, its name edited) starts over.
        if page is None or page.services.settings is not view.settings:
            page = self.kept[key] = RenderedPage(view, self.parts, prefix)
        self.kept.move_to_end(key)
        while len(self.kept) > KEPT_PAGES:
            self.kept.popitem(last=False)
        return page


def _several(services: Services) -> bool:
    # Asked per request: communities created while the bot runs make one into several.
    return services.communities is not None and len(services.communities) > 1


def _lone(services: Services) -> Services:
    """The services as the deployment's one community sees them."""
    if services.communities is None:
        return services
    return services.for_community(services.communities.default)


def add_routes(app: web.Application, services: Services, parts: Sequence[PublicPart]) -> None:
    static = {
        name: files("bot.features.page").joinpath("static", name).read_bytes() for name in STATIC
    }
    started = services.clock()
    pages = Pages(services, parts)
    listing_served = FirstServed()

    async def answer_page(request: web.Request, page: RenderedPage) -> web.Response:
        body = await page.current()
        modified = page.first_served.of(_etag(body), services.clock())
        return _answer(request, body, "text/html; charset=utf-8", PAGE_MAX_AGE, modified)

    def public(key: str) -> Community:
        """The community at /c/<key>/, or 404 (as any unknown path) when there is none by
        that key or its page is off."""
        community = services.communities.by_key(key) if services.communities else None
        if community is None or not publishes(community.settings):
            raise web.HTTPNotFound(headers=SECURITY)
        return community

    async def front(request: web.Request) -> web.Response:
        if _several(services):
            return listing(request)
        lone = _lone(services)
        if not publishes(lone.settings):
            raise web.HTTPNotFound(headers=SECURITY)
        return await answer_page(request, pages.of(lone, ""))

    def listing(request: web.Request) -> web.Response:
        assert services.communities is not None
        shown = sorted(
            (
                Listed(c.settings.community.name, f"/c/{c.key}/")
                for c in services.communities
                if publishes(c.settings)
            ),
            key=lambda listed: (listed.name.casefold(), listed.url),
        )
        body = render_listing(shown, base_url=services.settings.base_url).encode()
        modified = listing_served.of(_etag(body), services.clock())
        return _answer(request, body, "text/html; charset=utf-8", PAGE_MAX_AGE, modified)

    async def community_page(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        view = services.for_community(public(key))
        return await answer_page(request, pages.of(view, f"/c/{key}"))

    async def community_root(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        public(key)
        raise web.HTTPPermanentRedirect(f"/c/{key}/", headers=SECURITY)

    def static_served() -> bool:
        # The listing uses them too; a lone community whose page is off has none.
        return _several(services) or publishes(_lone(services).settings)

    async def static_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in static or not static_served():
            raise web.HTTPNotFound(headers=SECURITY)
        return _answer(request, static[name], STATIC[name], STATIC_MAX_AGE, started)

    async def favicon(request: web.Request) -> web.Response:
        if not static_served():
            raise web.HTTPNotFound(headers=SECURITY)
        return _answer(
            request, static["favicon.svg"], STATIC["favicon.svg"], STATIC_MAX_AGE, started
        )

    app.router.add_get("/", front)
    app.router.add_get("/c/{key}/", community_page)
    app.router.add_get("/c/{key}", community_root)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/favicon.ico", favicon)
