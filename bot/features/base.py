"""What a feature plugs in: commands and delivery kinds, start-up work, HTTP routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.commands import Registry
from bot.scheduling.kinds import KindRegistry

if TYPE_CHECKING:
    from aiohttp import web

    from bot.core.services import Services


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    register: Callable[[Registry, KindRegistry], None]
    # Runs once at start, under the start-up lock (e.g. syncing config-declared meetings).
    on_start: Callable[[Services], Awaitable[None]] | None = None
    routes: Callable[[web.Application, Services], None] | None = None
    # Runs for the process's life once it has started (with the delivery timer), cancelled
    # at stop: work that must not hold up start, such as planning a thousand meetings.
    background: Callable[[Services], Awaitable[None]] | None = None
