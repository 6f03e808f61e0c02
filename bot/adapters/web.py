"""The one aiohttp server: health, readiness, metrics; features and adapters add their routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import REGISTRY

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]
# How long a stopping server waits for requests in progress (a Slack command being
# persisted before its ack) before it cancels them.
SHUTDOWN_TIMEOUT = 10.0


def add_health_routes(app: web.Application, healthy: Check, ready: Check) -> None:
    """/healthz: this process serves HTTP and its database answers. /readyz: platforms connected."""

    async def healthz(_request: web.Request) -> web.Response:
        ok = await healthy()
        return web.json_response(
            {"status": "ok" if ok else "database unreachable"}, status=200 if ok else 503
        )

    async def readyz(_request: web.Request) -> web.Response:
        ok = await ready()
        return web.json_response(
            {"status": "ready" if ok else "not ready"}, status=200 if ok else 503
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def add_metrics_route(app: web.Application) -> None:
    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)


async def serve(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = SHUTDOWN_TIMEOUT
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner and the port actually bound (port 0 picks one).

    `runner.cleanup()` stops listening first, then waits up to `shutdown_timeout` for
    requests in progress, which is what a graceful stop needs.
    """
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, site.port
