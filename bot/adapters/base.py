"""The Adapter protocol: a platform is a handful of verbs (after opsdroid's connector)."""

from __future__ import annotations

from typing import Protocol

from bot.core.invocation import Platform
from bot.core.message import Message
from bot.scheduling.targets import Target


class DeliveryError(Exception):
    """A send failed. Transient ones (429, 5xx, timeouts) are retried; permanent ones are not."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Adapter(Protocol):
    platform: Platform

    async def start(self) -> None:
        """Connect; returns once the platform is reachable (or raises)."""

    async def stop(self) -> None:
        """Stop taking commands and disconnect."""

    @property
    def connected(self) -> bool:
        """True while the platform connection is up (drives /readyz)."""

    async def send(self, target: Target, message: Message, *, nonce: str | None = None) -> str:
        """Post `message` to `target`; returns a reference for later edits. Raises DeliveryError."""

    async def edit(self, target: Target, ref: str, message: Message) -> None:
        """Replace a posted message. Raises DeliveryError."""

    async def delete(self, target: Target, ref: str) -> None:
        """Remove a posted message. Raises DeliveryError."""
