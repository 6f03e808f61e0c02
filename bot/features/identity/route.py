"""GET /me/<token>: a person's data as JSON, for 15 minutes after they asked with mydata.

The token is looked up by its hash; an unknown, expired or forgotten one gets the same bare
404. The path is redacted from every log line (bot.logs.RedactSecrets), the access log too.
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from bot.runtime.services import Services
from bot.store import identity as store

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def add_routes(app: web.Application, services: Services) -> None:
    async def my_data(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if TOKEN.match(token):
            async with services.db.sessions() as session:
                row = await store.token_row(session, token, services.clock())
                if row is not None:
                    data = await store.export(session, row.person_id, row.team_id)
                    return web.Response(
                        text=json.dumps(data, indent=2, ensure_ascii=False),
                        content_type="application/json",
                        headers=PRIVATE,
                    )
        return web.Response(status=404, text="Not found.\n", headers=PRIVATE)

    app.router.add_get("/me/{token}", my_data)
