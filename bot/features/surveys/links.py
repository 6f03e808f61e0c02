"""Tracked links: GET /s/<token> records the first open, then redirects to the survey.

Only the fact of opening is stored (no address, browser or referrer). An unknown or malformed
token gets the same bare 404, so the route reveals nothing about which tokens exist. Link
previews (HEAD requests, chat unfurlers) are redirected without counting as an open.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.runtime.services import Services
from bot.store import surveys as store

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Chat platforms fetch links to preview them; that is not the member opening it.
PREVIEW_AGENTS = re.compile(
    r"slackbot|slack-imgproxy|discordbot|twitterbot|facebookexternalhit|linkedinbot|"
    r"telegrambot|whatsapp|skypeuripreview|embedly|mattermost",
    re.IGNORECASE,
)
PRIVATE = {
    "Cache-Control": "no-store",
    # The survey site need not learn the personal token.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _not_found() -> web.Response:
    return web.Response(status=404, text="Not found.\n", headers=PRIVATE)


def add_routes(app: web.Application, services: Services) -> None:
    async def open_link(request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not TOKEN.match(token):
            return _not_found()
        record = request.method == "GET" and not PREVIEW_AGENTS.search(
            request.headers.get("User-Agent", "")
        )
        async with services.db.session() as session:
            opened = await store.open_link(session, token, services.clock(), record=record)
        if opened is None:
            return _not_found()
        raise web.HTTPFound(opened.url, headers=PRIVATE)

    app.router.add_get("/s/{token}", open_link)
