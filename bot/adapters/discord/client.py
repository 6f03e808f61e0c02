"""The discord.py client as communitybot configures it: endpoints, shards, metrics, limits."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import yarl

from bot import metrics
from bot.config import Settings

PLATFORM = "discord"
# A 429 asking to wait longer than this is handed back to the delivery loop (which retries
# later) instead of holding a delivery claim while discord.py sleeps.
MAX_RATELIMIT_WAIT = 30.0


def apply_endpoints(settings: Settings) -> None:
    """DISCORD_API_URL / DISCORD_GATEWAY_URL: discord.py's documented endpoints, re-pointed."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _request_metrics() -> aiohttp.TraceConfig:
    """Count Discord API requests by status, and the ones discord.py will retry."""
    trace = aiohttp.TraceConfig()

    async def on_end(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 101:  # the gateway's websocket upgrade
            return
        status = params.response.status
        metrics.PLATFORM_REQUESTS.labels(PLATFORM, str(status)).inc()
        if status == 429:
            metrics.PLATFORM_RETRIES.labels(PLATFORM, "ratelimited").inc()
        elif status in (500, 502, 504, 524):
            metrics.PLATFORM_RETRIES.labels(PLATFORM, "server_error").inc()

    async def on_error(_: Any, __: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        metrics.PLATFORM_REQUESTS.labels(PLATFORM, "error").inc()

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace


def make_client(settings: Settings, **options: Any) -> discord.Client:
    """A client on the configured endpoints: sharded when DISCORD_SHARD_IDS/COUNT are set."""
    apply_endpoints(settings)
    options.setdefault("intents", discord.Intents.none() | discord.Intents(guilds=True))
    options.setdefault("http_trace", _request_metrics())
    options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_WAIT)
    if settings.discord_shard_ids is not None and settings.discord_shard_count is not None:
        return discord.AutoShardedClient(
            shard_ids=list(settings.discord_shard_ids),
            shard_count=settings.discord_shard_count,
            **options,
        )
    return discord.Client(**options)
