"""The ports: what the core expects of a platform adapter, and how a send fails.

A platform is a handful of verbs (after opsdroid's connector). Every adapter implements all
of them; nothing is discovered with getattr.

`outbound_community` says which community a send, edit, delete or channel check is for. Most
platforms need not know (a Discord channel id is one channel everywhere), so it is not part of
every verb's signature: the delivery runner and the start-up check set it, and an adapter that
serves each community through its own credentials (Slack, with a bot token per installed
workspace) reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from bot.core.invocation import Platform
from bot.core.message import Message
from bot.core.targets import Target


class DeliveryError(Exception):
    """A send failed. Transient ones (429, 5xx, timeouts) are retried; permanent ones are not."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


outbound_community: ContextVar[int | None] = ContextVar("outbound_community", default=None)


@contextmanager
def sending_for(community_id: int) -> Iterator[None]:
    """Platform calls made inside this block are for `community_id`."""
    token = outbound_community.set(community_id)
    try:
        yield
    finally:
        outbound_community.reset(token)


class Adapter(Protocol):
    platform: Platform

    async def start(self) -> None:
        """Connect; returns once the platform is reachable (or raises)."""

    async def stop(self) -> None:
        """Stop taking commands and disconnect."""

    @property
    def connected(self) -> bool:
        """True while the platform connection is up (drives /readyz)."""

    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        """Post `message` to `target`; returns a reference for later edits. Raises DeliveryError.

        `zone` is the reader's own zone (for a direct message, when they set one), used where
        the platform cannot localise times."""

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        """Replace a posted message. Raises DeliveryError."""

    async def delete(self, target: Target, ref: str) -> None:
        """Remove a posted message. Raises DeliveryError."""

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        """For each of `channel_ids` the bot cannot post in: why, and what to do about it."""
