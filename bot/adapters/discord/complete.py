"""Autocomplete for the features' argument types and time zones: suggestions, never choices.

Choices would be part of the synced command schema and change whenever the data does; these
suggestions are looked up as people type. Features register a completer for their argument
types in the registry (`registry.completer(MEETING_ID, …)`); time zones are offered here.
"""

from __future__ import annotations

import logging
from zoneinfo import available_timezones

import discord

from bot.core.commands import ArgType, ValueType
from bot.core.errors import UserError
from bot.core.invocation import Place, Platform
from bot.runtime.services import Services

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
        self, interaction: discord.Interaction, kind: ArgType | ValueType, typed: str
    ) -> list[str]:
        suggest = self.services.registry.completers.get(kind)
        if suggest is not None:
            guild = str(interaction.guild_id) if interaction.guild_id else None
            try:
                # Suggestions come from the guild's own community, and none from another's.
                services = self.services.for_place(Place(Platform.DISCORD, guild_id=guild))
            except UserError:
                return []
            try:
                return (await suggest(services, typed))[:MAX_SUGGESTIONS]
            except Exception:
                # Autocomplete must never break typing; the command itself still validates.
                log.exception("autocomplete for %s failed", kind)
                return []
        return _rank(self._fallback(kind), typed)

    def _fallback(self, kind: ArgType | ValueType) -> list[str]:
        if kind is ArgType.ZONE:
            if self._zones is None:
                self._zones = sorted(available_timezones())
            return self._zones
        return []
