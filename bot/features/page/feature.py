"""The public page feature: the `[web]` section and the routes of GET /.

The page's facts come from the other features' public parts (`setup.public_part`), read
when a request comes in; this feature only renders them."""

from __future__ import annotations

from aiohttp import web

from bot.features.page.config import SECTION
from bot.features.page.routes import add_routes
from bot.runtime.feature import Feature, Setup
from bot.runtime.services import Services


def register(setup: Setup) -> None:
    setup.config_section(SECTION)

    def routes(app: web.Application, services: Services) -> None:
        # Routes are added after every feature registered, so the list is complete here.
        add_routes(app, services, tuple(setup.public_parts))

    setup.routes(routes)


FEATURE = Feature("page", register)
