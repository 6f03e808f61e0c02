"""The one aiohttp server: health, readiness, metrics; features and adapters add their routes."""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import REGISTRY

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]
# /readyz: whether the process is ready, and the JSON body that says why (each platform's state).
Readiness = Callable[[], Awaitable[tuple[bool, Mapping[str, Any]]]]
# Why database writes fail, or None while they work.
WriteCheck = Callable[[], Awaitable[str | None]]
# How long a stopping server waits for requests in progress (a Slack command being
# persisted before its ack) before it cancels them.
SHUTDOWN_TIMEOUT = 10.0
# A connection that has not sent a whole request's headers this long after it opened (or after
# its last response) is closed, so idle and half-open connections cannot pile up. aiohttp's own
# keep-alive timer does both; its default is an hour. Longer than the 60 s idle timeout of
# common load balancers and ingress proxies, which must never reuse a connection the bot has
# just closed (that would turn a Slack command into a 502).
IDLE_TIMEOUT = 75.0


class CannotListen(Exception):
    """The HTTP server cannot listen (the port is taken, the host is not this machine's)."""


def add_health_routes(
    app: web.Application, healthy: Check, ready: Readiness, writes: WriteCheck | None = None
) -> None:
    """/healthz: this process serves HTTP, its database answers and takes writes.

    /readyz: the database answers and a platform can serve; the body names each one's state.
    """

    async def healthz(_request: web.Request) -> web.Response:
        if not await healthy():
            return web.json_response({"status": "database unreachable"}, status=503)
        failing = await writes() if writes is not None else None
        if failing is not None:
            return web.json_response(
                {"status": "database writes failing", "reason": failing}, status=503
            )
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ok, body = await ready()
        return web.json_response(
            {"status": "ready" if ok else "not ready", **body}, status=200 if ok else 503
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def add_metrics_route(app: web.Application) -> None:
    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
    port_setting: str = "COMMUNITYBOT_HTTP_PORT",
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner and the port actually bound (port 0 picks one).

    `runner.cleanup()` stops listening first, then waits up to `shutdown_timeout` for
    requests in progress, which is what a graceful stop needs. Raises CannotListen when the
    address is taken.
    """
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=idle_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"port {port} on {host} is already in use; stop what listens there "
                f"or set {port_setting} to a free port"
            ) from None
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return runner, site.port
