"""Platform-neutral values that adapters build from platform payloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    CONSOLE = "console"
    SLACK = "slack"
    DISCORD = "discord"


@dataclass(frozen=True, slots=True)
class MemberRef:
    """Someone on one platform, as named in a command (not necessarily known to the bot yet)."""

    platform: Platform
    user_id: str
    display_name: str = ""
    is_bot: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": str(self.platform),
            "user_id": self.user_id,
            "display_name": self.display_name,
            "is_bot": self.is_bot,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberRef:
        return cls(
            Platform(data["platform"]),
            str(data["user_id"]),
            str(data.get("display_name", "")),
            bool(data.get("is_bot", False)),
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """The person who typed a command or pressed a button.

    `roles` holds what the platform says about them at that moment: Discord role ids, Slack user
    group ids, or "maintainer" for a console started with --maintainer.
    """

    platform: Platform
    user_id: str
    display_name: str = ""
    roles: frozenset[str] = frozenset()
    is_bot: bool = False

    @property
    def ref(self) -> MemberRef:
        return MemberRef(self.platform, self.user_id, self.display_name, self.is_bot)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a command was typed: a channel, or a direct message."""

    platform: Platform
    channel_id: str | None = None
    guild_id: str | None = None
    is_dm: bool = False


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as typed: either text (Slack, console) or structured options (Discord).

    `command` is the canonical top-level name ("hero"), whatever the platform calls it.
    """

    command: str
    actor: Actor
    place: Place
    text: str | None = None
    path: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    # The platform's id for this request (Discord interaction id, Slack event id): a second
    # invocation with the same key has no effect.
    dedup_key: str | None = None
    received_at: datetime | None = None

    @property
    def structured(self) -> bool:
        return self.text is None


@dataclass(frozen=True, slots=True)
class Press:
    """A button press: `action_id` is the id the core put on the button."""

    action_id: str
    actor: Actor
    place: Place
    dedup_key: str | None = None
