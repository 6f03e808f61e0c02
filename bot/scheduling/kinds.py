"""Kinds of scheduled message: how to render one when it is sent, and how late is too late."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.message import Message
from bot.core.targets import Target

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.commands import Registry
    from bot.core.invocation import Platform
    from bot.store.db import Database
    from bot.store.models import Delivery


class Host(Protocol):
    """What sending needs of the running bot; the runtime's Services is one."""

    settings: Settings
    db: Database
    registry: Registry
    kinds: KindRegistry
    community_id: int
    # Platforms this process serves; deliveries to others are left for the process that does.
    platforms: frozenset[Platform]
    clock: Callable[[], datetime]
    wake: Callable[[], None]

    def command_label(self, platform: Platform, name: str) -> str: ...

    def for_community_id(self, community_id: int) -> Host:
        """The host as the community `community_id` sees it (its settings and id)."""
        ...

    def sends_stopped(self, community_id: int, platform: Platform) -> str | None:
        """Why nothing more is sent for that community on `platform` (the bot was removed
        from its workspace or guild), or None."""
        ...


@dataclass(frozen=True, slots=True)
class SendContext:
    services: Host
    session: AsyncSession
    now: datetime
    target: Target
    # How long after its due time this is being sent.
    lateness: timedelta

    @property
    def late(self) -> bool:
        return self.lateness > timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class EditPosted:
    """What a render returns to replace a message posted earlier (`ref` from its delivery)."""

    ref: str
    message: Message


@dataclass(frozen=True, slots=True)
class DeletePosted:
    """What a render returns to remove a message posted earlier."""

    ref: str


# Rendering happens at send time, so an edited meeting or announcement goes out as it is now.
# Returning None skips the delivery (its subject was cancelled or no longer applies); a
# Message is posted; EditPosted / DeletePosted change an earlier post, with the same retries.
Render = Callable[[SendContext, "Delivery"], Awaitable[Message | EditPosted | DeletePosted | None]]


@dataclass(frozen=True, slots=True)
class DeliveryKind:
    name: str
    render: Render
    # Past this lateness the delivery is skipped (a "starts in 1 hour" reminder after the
    # start is noise). None: it still goes out, however late; render may say it is late.
    max_lateness: timedelta | None = None


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, DeliveryKind] = {}

    def add(self, kind: DeliveryKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"delivery kind {kind.name} registered twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> DeliveryKind | None:
        return self._kinds.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def names(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def __iter__(self) -> Iterator[DeliveryKind]:
        return iter(self._kinds.values())
