"""Guild Scheduled Events through discord.py: the `ScheduledEvents` port on Discord.

External events (entity type 3) visible to the guild's members (privacy level 2), listed with
their interest counts. 429s are waited out by discord.py itself; a 403 (no Manage Events) is
`EventsForbidden`, which the meetings feature reports once instead of retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord

from bot.core.scheduled_events import EventsForbidden, EventSpec, PlatformEvent

log = logging.getLogger(__name__)

_ACTIVE = (discord.EventStatus.scheduled, discord.EventStatus.active)


class DiscordEvents:
    def __init__(self, client_of: Callable[[], discord.Client]) -> None:
        # The adapter builds a new client on every reconnect: always ask for the current one.
        self._client_of = client_of
        self._client: discord.Client | None = None
        # The last listing's objects, so edits and deletes need no extra fetch.
        self._seen: dict[int, discord.ScheduledEvent] = {}

    @property
    def client(self) -> discord.Client:
        client = self._client_of()
        if client is not self._client:
            # Objects listed through an earlier connection are not used through a new one.
            self._client, self._seen = client, {}
        return client

    def _guild(self, place: str) -> discord.Guild:
        guild = self.client.get_guild(int(place))
        if guild is None:
            # Not (yet) announced by the gateway: tried again on the next pass.
            raise RuntimeError(f"the bot is not in Discord server {place}, or it is not loaded")
        return guild

    async def list(self, place: str) -> list[PlatformEvent]:
        guild = self._guild(place)
        me = self.client.user.id if self.client.user is not None else None
        try:
            events = await guild.fetch_scheduled_events(with_counts=True)
        except discord.Forbidden as exc:
            raise EventsForbidden(str(exc)) from exc
        for event in events:
            self._seen[event.id] = event
        return [
            PlatformEvent(
                id=str(e.id),
                spec=EventSpec(
                    name=e.name,
                    start=e.start_time,
                    end=e.end_time or e.start_time,
                    location=e.location or "",
                    description=e.description or "",
                ),
                by_us=me is not None and e.creator_id == me,
                active=e.status in _ACTIVE,
                interested=e.user_count,
            )
            for e in events
        ]

    async def create(self, place: str, spec: EventSpec) -> str:
        guild = self._guild(place)
        try:
            event = await guild.create_scheduled_event(
                name=spec.name,
                start_time=spec.start,
                end_time=spec.end,
                entity_type=discord.EntityType.external,
                privacy_level=discord.PrivacyLevel.guild_only,
                location=spec.location,
                description=spec.description,
            )
        except discord.Forbidden as exc:
            raise EventsForbidden(str(exc)) from exc
        self._seen[event.id] = event
        return str(event.id)

    async def _event(self, place: str, event_id: str) -> discord.ScheduledEvent:
        event = self._seen.get(int(event_id))
        if event is None:
            event = await self._guild(place).fetch_scheduled_event(int(event_id))
        return event

    async def edit(self, place: str, event_id: str, spec: EventSpec) -> None:
        try:
            event = await self._event(place, event_id)
            edited = await event.edit(
                name=spec.name,
                start_time=spec.start,
                end_time=spec.end,
                location=spec.location,
                description=spec.description,
                privacy_level=discord.PrivacyLevel.guild_only,
            )
        except discord.Forbidden as exc:
            raise EventsForbidden(str(exc)) from exc
        self._seen[edited.id] = edited

    async def delete(self, place: str, event_id: str) -> None:
        try:
            event = await self._event(place, event_id)
            await event.delete()
        except discord.NotFound:
            log.info("Discord event %s in %s was already gone", event_id, place)
        except discord.Forbidden as exc:
            raise EventsForbidden(str(exc)) from exc
        self._seen.pop(int(event_id), None)
