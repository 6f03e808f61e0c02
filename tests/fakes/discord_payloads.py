"""Discord objects as the fake gateway holds them, and the JSON Discord would send for them.

Kept apart from the server in discord_gateway.py so the wire shapes (and Discord's own
validation of commands and messages) can be read in one place.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits the fake needs to compute a member's permissions.
ADMINISTRATOR = 1 << 3
DEFAULT_EVERYONE_PERMISSIONS = 0x0000_0006_3FFF_F6FF & ~ADMINISTRATOR

# Gateway intents (the ones that change what the fake sends).
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

_counter = itertools.count(1)


def snowflake() -> int:
    """A fresh Discord-style id: milliseconds since the Discord epoch, then a counter."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(slots=True)
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(slots=True)
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 1
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@dataclass(slots=True)
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(slots=True)
class FakeChannel:
    id: int
    name: str
    type: int = 0  # GUILD_TEXT
    position: int = 0
    # Overwrites as Discord sends them: {"id", "type" (0 role, 1 member), "allow", "deny"}.
    overwrites: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, guild_id: int | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": list(self.overwrites),
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data


@dataclass(slots=True)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)

    def shard(self, shard_count: int) -> int:
        return (self.id >> 22) % shard_count

    def permissions_of(self, member: FakeMember) -> int:
        if member.id == self.owner_id:
            return (1 << 53) - 1
        perms = self.roles[self.id].permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        return (1 << 53) - 1 if perms & ADMINISTRATOR else perms

    def payload(self, *, members: Iterable[FakeMember]) -> dict[str, Any]:
        listed = list(members)
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [role.payload() for role in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso_now(),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [m.payload() for m in listed],
            "channels": [c.payload(None) for c in self.channels.values()],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


# --- application commands: Discord's own validation of a bulk overwrite -----------------

_NAME_RE = re.compile(r"^[-_\w]{1,32}$", re.UNICODE)
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


class InvalidFormBody(ValueError):
    """What Discord answers with 400 / code 50035; the text is "dotted.path: message"."""

    def errors(self) -> dict[str, Any]:
        """Discord's nested `errors` object for this refusal."""
        where, _, message = str(self).rpartition(": ")
        node: dict[str, Any] = {"_errors": [{"code": "INVALID_FORM_BODY", "message": message}]}
        for key in reversed([k for k in where.split(".") if k]):
            node = {key: node}
        return node


def _command_chars(node: Mapping[str, Any]) -> int:
    total = len(node.get("name", "")) + len(node.get("description", ""))
    for choice in node.get("choices") or []:
        total += len(choice["name"]) + len(str(choice["value"]))
    for option in node.get("options") or []:
        total += _command_chars(option)
    return total


def _check_options(options: list[Mapping[str, Any]], where: str, depth: int) -> None:
    if len(options) > 25:
        raise InvalidFormBody(f"{where}.options: must be 25 or fewer in length.")
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        here = f"{where}.options.{index}"
        _check_name_and_description(option, here)
        if option["name"] in names:
            raise InvalidFormBody(f"{here}.name: duplicate option name")
        names.add(option["name"])
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if depth >= (1 if kind == SUB_COMMAND_GROUP else 2):
                raise InvalidFormBody(f"{here}: subcommands nested too deeply")
            _check_options(list(option.get("options") or []), here, depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                raise InvalidFormBody(f"{here}: required options must be placed before optional")
        else:
            seen_optional = True
        if len(option.get("choices") or []) > 25:
            raise InvalidFormBody(f"{here}.choices: must be 25 or fewer in length.")
        if option.get("choices") and option.get("autocomplete"):
            raise InvalidFormBody(f"{here}: autocomplete and choices are mutually exclusive")
        max_length = option.get("max_length")
        if max_length is not None and not 1 <= max_length <= 6000:
            raise InvalidFormBody(f"{here}.max_length: must be between 1 and 6000")


def _check_name_and_description(node: Mapping[str, Any], where: str) -> None:
    name = node.get("name", "")
    if not _NAME_RE.match(name) or name != name.lower():
        raise InvalidFormBody(f"{where}.name: invalid application command name {name!r}")
    description = node.get("description", "")
    if node.get("type", 1) == 1 and not 1 <= len(description) <= 100:
        raise InvalidFormBody(f"{where}.description: must be between 1 and 100 in length.")


def validate_commands(commands: list[Mapping[str, Any]]) -> None:
    """Raise InvalidFormBody where Discord would refuse a bulk overwrite."""
    if len(commands) > 100:
        raise InvalidFormBody("too many application commands")
    names: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        where = str(index)
        _check_name_and_description(command, where)
        key = (command.get("type", 1), command["name"])
        if key in names:
            raise InvalidFormBody(f"{where}.name: application command names must be unique")
        names.add(key)
        _check_options(list(command.get("options") or []), where, 0)
        if _command_chars(command) > 8000:
            raise InvalidFormBody(f"{where}: command exceeds maximum size (8000)")


# --- messages: Discord's limits on what may be sent -------------------------------------


def _embed_chars(embed: Mapping[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def validate_message(body: Mapping[str, Any], *, partial: bool = False) -> None:
    """Raise InvalidFormBody where Discord would refuse this message body."""
    content = body.get("content")
    embeds = body.get("embeds") or []
    if content is not None and len(content) > 2000:
        raise InvalidFormBody("content: Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        raise InvalidFormBody("embeds: Must be 10 or fewer in length.")
    for i, embed in enumerate(embeds):
        if len(embed.get("description") or "") > 4096:
            raise InvalidFormBody(f"embeds.{i}.description: Must be 4096 or fewer in length.")
        if len(embed.get("title") or "") > 256:
            raise InvalidFormBody(f"embeds.{i}.title: Must be 256 or fewer in length.")
        if len(embed.get("fields") or []) > 25:
            raise InvalidFormBody(f"embeds.{i}.fields: Must be 25 or fewer in length.")
    if sum(_embed_chars(e) for e in embeds) > 6000:
        raise InvalidFormBody("embeds: Embed size exceeds maximum size of 6000")
    if len(body.get("components") or []) > 5 and not (body.get("flags", 0) & (1 << 15)):
        raise InvalidFormBody("components: Must be 5 or fewer in length.")
    if not partial and not (content or embeds or body.get("components") or body.get("poll")):
        raise InvalidFormBody("Cannot send an empty message")


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def pings(content: str, allowed_mentions: Mapping[str, Any] | None) -> dict[str, Any]:
    """Who a message notifies, by Discord's allowed_mentions rules (absent = parse all)."""
    rules = (
        allowed_mentions
        if allowed_mentions is not None
        else {"parse": ["users", "roles", "everyone"]}
    )
    parse = set(rules.get("parse") or [])
    users = {int(u) for u in _USER_MENTION.findall(content)}
    roles = {int(r) for r in _ROLE_MENTION.findall(content)}
    allowed_users = {int(u) for u in rules.get("users") or []}
    allowed_roles = {int(r) for r in rules.get("roles") or []}
    return {
        "users": sorted(users if "users" in parse else users & allowed_users),
        "roles": sorted(roles if "roles" in parse else roles & allowed_roles),
        "everyone": "everyone" in parse and ("@everyone" in content or "@here" in content),
    }
