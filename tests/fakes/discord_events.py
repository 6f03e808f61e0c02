"""Guild Scheduled Events in the fake Discord: the REST routes and the people's side.

Faithful to what a bot meets: Manage Events (1 << 33) is needed to create, edit and delete
(403, code 50013, without it); external events (entity type 3) need a location of at most
100 characters and an end time; names are 1-100 characters, descriptions at most 1,000;
start times in the past are refused (400, 50035); `with_user_count` adds `user_count`.
Tests act as members too: create an event by hand, edit or delete one, click "Interested".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.discord_payloads import FakeGuild, FakeRole, snowflake

MANAGE_EVENTS = 1 << 33
EXTERNAL, STAGE, VOICE = 3, 1, 2
GUILD_ONLY = 2
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
UNKNOWN_EVENT = 10070

EVENT_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/guilds/{guild_id}/scheduled-events", "_list_events"),
    ("POST", "/guilds/{guild_id}/scheduled-events", "_create_event"),
    ("GET", "/guilds/{guild_id}/scheduled-events/{event_id}", "_get_event"),
    ("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", "_edit_event"),
    ("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}", "_delete_event"),
)


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class FakeEvent:
    id: int
    guild_id: int
    creator_id: int
    name: str
    start: datetime
    end: datetime | None
    location: str | None
    description: str | None = None
    entity_type: int = EXTERNAL
    privacy_level: int = GUILD_ONLY
    status: int = SCHEDULED
    interested: set[int] = field(default_factory=set)
    edits: int = 0

    def payload(self, creator: dict[str, Any] | None, with_count: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": None,
            "creator_id": str(self.creator_id),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": self.start.isoformat(),
            "scheduled_end_time": self.end.isoformat() if self.end else None,
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": self.location} if self.location else None,
            "image": None,
        }
        if creator is not None:
            data["creator"] = creator
        if with_count:
            data["user_count"] = len(self.interested)
        return data


class _Invalid(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.errors = {field: {"_errors": [{"code": code, "message": message}]}}


class ScheduledEventsApi:
    """Mixed into DiscordRestApi (which has `guilds`, `bot`, `users`, `_notify`)."""

    guilds: dict[int, FakeGuild]
    users: dict[int, Any]
    bot: Any

    def _init_events(self) -> None:
        self.scheduled_events: dict[int, FakeEvent] = {}

    # --- the people's side -----------------------------------------------------------------

    def allow_events(self, guild_id: int) -> None:
        """Give the bot a role with Manage Events in the guild."""
        guild = self.guilds[guild_id]
        role = FakeRole(id=snowflake(), name="events", position=1)
        role.permissions = MANAGE_EVENTS
        guild.roles[role.id] = role
        guild.members[self.bot.id].roles.append(role.id)

    def events_in(self, guild_id: int, *, by_bot: bool | None = None) -> list[FakeEvent]:
        """The guild's scheduled (or active) events, optionally only the bot's or others'."""
        return [
            e
            for e in self.scheduled_events.values()
            if e.guild_id == guild_id
            and e.status in (SCHEDULED, ACTIVE)
            and (by_bot is None or (e.creator_id == self.bot.id) == by_bot)
        ]

    def add_event_by_hand(
        self,
        guild_id: int,
        creator_id: int,
        name: str,
        start: datetime,
        end: datetime,
        location: str = "somewhere",
    ) -> FakeEvent:
        event = FakeEvent(snowflake(), guild_id, creator_id, name, start, end, location)
        self.scheduled_events[event.id] = event
        return event

    def edit_event_by_hand(self, event_id: int, **changes: Any) -> None:
        event = self.scheduled_events[event_id]
        for name, value in changes.items():
            setattr(event, name, value)
        event.edits += 1

    def delete_event_by_hand(self, event_id: int) -> None:
        del self.scheduled_events[event_id]

    def mark_interested(self, event_id: int, *user_ids: int) -> None:
        self.scheduled_events[event_id].interested.update(user_ids)

    # --- REST ------------------------------------------------------------------------------

    def _can_manage_events(self, guild: FakeGuild) -> bool:
        return bool(guild.permissions_of(guild.members[self.bot.id]) & MANAGE_EVENTS)

    def _event_json(self, event: FakeEvent, query: dict[str, str]) -> dict[str, Any]:
        with_count = query.get("with_user_count", "").lower() in ("1", "true")
        creator = self.users.get(event.creator_id)
        return event.payload(creator.payload() if creator else None, with_count)

    def _guild_or_404(self, guild_id: str) -> FakeGuild | web.Response:
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            return _error(404, 10004, "Unknown Guild")
        return guild

    def _event_or_404(self, guild_id: str, event_id: str) -> FakeEvent | web.Response:
        event = self.scheduled_events.get(int(event_id))
        if event is None or event.guild_id != int(guild_id):
            return _error(404, UNKNOWN_EVENT, "Unknown Guild Scheduled Event")
        return event

    def _list_events(self, call: Any, guild_id: str) -> web.Response:
        guild = self._guild_or_404(guild_id)
        if isinstance(guild, web.Response):
            return guild
        events = [e for e in self.scheduled_events.values() if e.guild_id == guild.id]
        return _json([self._event_json(e, call.query) for e in events])

    def _get_event(self, call: Any, guild_id: str, event_id: str) -> web.Response:
        event = self._event_or_404(guild_id, event_id)
        if isinstance(event, web.Response):
            return event
        return _json(self._event_json(event, call.query))

    def _create_event(self, call: Any, guild_id: str) -> web.Response:
        guild = self._guild_or_404(guild_id)
        if isinstance(guild, web.Response):
            return guild
        if not self._can_manage_events(guild):
            return _error(403, 50013, "Missing Permissions")
        body = call.json or {}
        event = FakeEvent(snowflake(), guild.id, self.bot.id, "", datetime.now(UTC), None, None)
        try:
            _apply(event, body, creating=True)
        except _Invalid as exc:
            return _invalid(exc)
        self.scheduled_events[event.id] = event
        return _json(self._event_json(event, call.query))

    def _edit_event(self, call: Any, guild_id: str, event_id: str) -> web.Response:
        guild = self._guild_or_404(guild_id)
        if isinstance(guild, web.Response):
            return guild
        if not self._can_manage_events(guild):
            return _error(403, 50013, "Missing Permissions")
        event = self._event_or_404(guild_id, event_id)
        if isinstance(event, web.Response):
            return event
        if event.status in (COMPLETED, CANCELED):
            return _error(400, 180000, "Cannot update a finished event")
        trial = FakeEvent(**{f: getattr(event, f) for f in event.__dataclass_fields__})
        try:
            _apply(trial, call.json or {}, creating=False)
        except _Invalid as exc:
            return _invalid(exc)
        for name in event.__dataclass_fields__:
            setattr(event, name, getattr(trial, name))
        event.edits += 1
        return _json(self._event_json(event, call.query))

    def _delete_event(self, call: Any, guild_id: str, event_id: str) -> web.Response:
        guild = self._guild_or_404(guild_id)
        if isinstance(guild, web.Response):
            return guild
        if not self._can_manage_events(guild):
            return _error(403, 50013, "Missing Permissions")
        event = self._event_or_404(guild_id, event_id)
        if isinstance(event, web.Response):
            return event
        del self.scheduled_events[event.id]
        return web.Response(status=204)


def _apply(event: FakeEvent, body: dict[str, Any], *, creating: bool) -> None:
    """Discord's validation of a create or a (partial) edit, applied to `event`."""
    if creating:
        for required in ("name", "privacy_level", "scheduled_start_time", "entity_type"):
            if required not in body:
                raise _Invalid(required, "BASE_TYPE_REQUIRED", "This field is required")
    if "name" in body:
        name = body["name"] or ""
        if not 1 <= len(name) <= 100:
            raise _Invalid("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        event.name = name
    if "description" in body:
        description = body["description"]
        if description is not None and len(description) > 1000:
            raise _Invalid(
                "description", "BASE_TYPE_MAX_LENGTH", "Must be 1000 or fewer in length."
            )
        event.description = description
    if "privacy_level" in body:
        if body["privacy_level"] != GUILD_ONLY:
            raise _Invalid("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of {2}.")
        event.privacy_level = GUILD_ONLY
    if "entity_type" in body:
        event.entity_type = int(body["entity_type"])
    if "status" in body:
        event.status = int(body["status"])
    if "scheduled_start_time" in body:
        start = _parse_time(body["scheduled_start_time"])
        if start < datetime.now(UTC):
            raise _Invalid(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past.",
            )
        event.start = start
    if "scheduled_end_time" in body:
        end = body["scheduled_end_time"]
        event.end = _parse_time(end) if end else None
    if "entity_metadata" in body:
        metadata = body["entity_metadata"] or {}
        event.location = metadata.get("location")
    if event.entity_type == EXTERNAL:
        if not event.location or len(event.location) > 100:
            raise _Invalid(
                "entity_metadata.location",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        if event.end is None:
            raise _Invalid(
                "scheduled_end_time",
                "BASE_TYPE_REQUIRED",
                "An external event needs an end time.",
            )
    if event.end is not None and event.end <= event.start:
        raise _Invalid(
            "scheduled_end_time",
            "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
            "The end must be after the start.",
        )


def _json(data: Any, status: int = 200) -> web.Response:
    import json

    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status)


def _invalid(exc: _Invalid) -> web.Response:
    return _json({"message": "Invalid Form Body", "code": 50035, "errors": exc.errors}, 400)
