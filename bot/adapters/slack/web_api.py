"""The Slack Web API client: SLACK_API_URL, pooled connections, retries counted in metrics.

Retries use slack_sdk's own retry-handler extension point, so they sleep with asyncio (the
loop keeps serving) and every attempt is seen: each response or connection error is counted
in `communitybot_platform_requests_total`, each retry in `communitybot_platform_retries_total`.
A 429 is retried in line only when its Retry-After is short; a longer one becomes a
transient DeliveryError carrying Retry-After, so the delivery runner reschedules instead of
holding its claim. Slack's `ok: false` errors are permanent and never retried.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.core.ports import DeliveryError

PLATFORM = "slack"
# Waiting longer than this inside one call would hold a delivery's claim (or a person's
# answer) too long; the runner retries later instead.
MAX_INLINE_RETRY_AFTER = 5
# Errors that will not go away by trying again; the delivery is failed and maintainers told.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "messages_tab_disabled",
        "restricted_action",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "not_authed",
        "invalid_auth",
        "token_revoked",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "cant_delete_message",
    }
)


def _retry_after(response: HttpResponse | None) -> int | None:
    if response is None:
        return None
    for key, values in response.headers.items():
        if key.lower() == "retry-after" and values:
            try:
                return int(values[0])
            except ValueError:
                return None
    return None


class _Observer(AsyncRetryHandler):
    """Sees every attempt (it runs first and never retries) to count requests by status."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1_000_000)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        status = str(response.status_code) if response is not None else "error"
        metrics.PLATFORM_REQUESTS.labels(PLATFORM, status).inc()
        return False


class _RateLimited(AsyncRateLimitErrorRetryHandler):
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        wait = _retry_after(response)
        return (
            response is not None
            and response.status_code == 429
            and (wait is None or wait <= MAX_INLINE_RETRY_AFTER)
        )

    async def prepare_for_next_attempt_async(self, **kwargs: object) -> None:
        metrics.PLATFORM_RETRIES.labels(PLATFORM, "ratelimited").inc()
        await super().prepare_for_next_attempt_async(**kwargs)  # type: ignore[arg-type]


class _ServerError(AsyncServerErrorRetryHandler):
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)

    async def prepare_for_next_attempt_async(self, **kwargs: object) -> None:
        metrics.PLATFORM_RETRIES.labels(PLATFORM, "server_error").inc()
        await super().prepare_for_next_attempt_async(**kwargs)  # type: ignore[arg-type]


class _ConnectionError(AsyncConnectionErrorRetryHandler):
    def __init__(self, max_retry_count: int) -> None:
        super().__init__(
            max_retry_count=max_retry_count,
            error_types=[aiohttp.ClientConnectionError, asyncio.TimeoutError],
        )

    async def prepare_for_next_attempt_async(self, **kwargs: object) -> None:
        metrics.PLATFORM_RETRIES.labels(PLATFORM, "connection_error").inc()
        await super().prepare_for_next_attempt_async(**kwargs)  # type: ignore[arg-type]


def retry_handlers(max_retries: int = 3) -> list[AsyncRetryHandler]:
    return [
        _Observer(),
        _RateLimited(max_retry_count=max_retries),
        _ServerError(max_retry_count=max_retries),
        _ConnectionError(max_retries),
    ]


def api_base(url: str) -> str:
    """slack_sdk joins method names onto the base: it must end with a slash."""
    return url if url.endswith("/") else url + "/"


def build_client(
    token: str | None, api_url: str, session: aiohttp.ClientSession | None, *, timeout: int = 10
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=api_base(api_url),
        session=session,
        timeout=timeout,
        retry_handlers=retry_handlers(),
    )


def api_status(exc: SlackApiError) -> int:
    """The HTTP status of a failed call (slack_sdk's response, or aiohttp's for a bad body)."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else 200


def api_error(exc: SlackApiError) -> str:
    """Slack's `error` code, or "" when the answer was not Slack's JSON (a proxy's page).

    slack_sdk keeps such a body as a str, or hands over aiohttp's response, so
    `exc.response.get(...)` is not safe to call.
    """
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "")
    return ""


def describe(exc: BaseException) -> str:
    """One short phrase for a log line about a failed call."""
    if isinstance(exc, SlackApiError):
        return api_error(exc) or f"HTTP {api_status(exc)} without Slack's JSON"
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return f"cannot reach Slack: {type(exc).__name__}"
    return f"an answer that is not Slack's ({type(exc).__name__})"


def delivery_error(exc: BaseException) -> DeliveryError:
    """A failed Web API call as the delivery runner understands it."""
    if isinstance(exc, SlackApiError):
        status = api_status(exc)
        error = api_error(exc)
        if status == 429 or error == "ratelimited":
            headers = getattr(exc.response, "headers", None) or {}
            wait = headers.get("Retry-After") or headers.get("retry-after")
            return DeliveryError(
                "ratelimited", permanent=False, retry_after=float(wait) if wait else None
            )
        if status >= 500:
            return DeliveryError(f"slack http {status}", permanent=False)
        if error in PERMANENT_ERRORS or status == 200:
            return DeliveryError(error or "slack error", permanent=True)
        return DeliveryError(error or f"slack http {status}", permanent=False)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryError(f"cannot reach Slack: {type(exc).__name__}", permanent=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
