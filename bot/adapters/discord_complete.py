"""Autocomplete for meetings, surveys and time zones: suggestions, never fixed choices.

Choices would be part of the synced command schema and change whenever the data does; these
suggestions are looked up as people type. Features register a completer for their argument
type in the registry (`registry.completer(ArgType.MEETING, …)`); until one is registered,
meetings and surveys declared in the config file are offered.
"""

from __future__ import annotations

import logging
from zoneinfo import available_timezones

import discord

from bot.core.commands import ArgType
from bot.core.services import Services

log = logging.getLogger(__name__)

MAX_SUGGESTIONS = 25


def _rank(values: list[str], typed: str) -> list[str]:
    """Prefix matches first, then substring matches, case-insensitively."""
    needle = typed.strip().lower()
    starts = [v for v in values if v.lower().startswith(needle)]
    inside = [v for v in values if needle in v.lower() and v not in starts]
    return (starts + inside)[:MAX_SUGGESTIONS]


class Completions:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._zones: list[str] | None = None

    async def complete(
        self, interaction: discord.Interaction, kind: ArgType, typed: str
    ) -> list[str]:
        del interaction
        suggest = self.services.registry.completers.get(kind)
        if suggest is not None:
            try:
                return (await suggest(self.services, typed))[:MAX_SUGGESTIONS]
            except Exception:
                # Autocomplete must never break typing; the command itself still validates.
                log.exception("autocomplete for %s failed", kind)
                return []
        return _rank(self._fallback(kind), typed)

    def _fallback(self, kind: ArgType) -> list[str]:
        file = self.services.settings.file
        if kind is ArgType.MEETING:
            return [m.id for m in file.meetings]
        if kind is ArgType.SURVEY:
            return [s.name for s in file.surveys]
        if kind is ArgType.ZONE:
            if self._zones is None:
                self._zones = sorted(available_timezones())
            return self._zones
        return []
