"""Where a delivery goes: a channel or a member's direct messages on one platform."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.config import Settings
from bot.core.invocation import Platform


class TargetKind(StrEnum):
    CHANNEL = "channel"
    DM = "dm"


@dataclass(frozen=True, slots=True)
class Target:
    platform: Platform
    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Target:
        platform, kind, ident = text.split(":", 2)
        return cls(Platform(platform), TargetKind(kind), ident)

    @classmethod
    def channel(cls, platform: Platform, ident: str | int) -> Target:
        return cls(platform, TargetKind.CHANNEL, str(ident))

    @classmethod
    def dm(cls, platform: Platform, user_id: str) -> Target:
        return cls(platform, TargetKind.DM, user_id)


CONSOLE_CHANNEL = Target.channel(Platform.CONSOLE, "main")


def announce_targets(settings: Settings, platforms: frozenset[Platform]) -> list[Target]:
    """Every announce channel on every configured platform (plus the console, when it runs)."""
    targets: list[Target] = []
    if settings.slack_configured:
        targets += [Target.channel(Platform.SLACK, c) for c in settings.slack.announce_channels]
    if settings.discord_configured:
        targets += [Target.channel(Platform.DISCORD, c) for c in settings.discord.announce_channels]
    if Platform.CONSOLE in platforms:
        targets.append(CONSOLE_CHANNEL)
    return targets


def maintainer_target(settings: Settings, platform: Platform) -> Target | None:
    """The channel where the bot tells maintainers things on `platform`, if one is set."""
    if platform is Platform.SLACK and settings.slack.maintainer_channel:
        return Target.channel(platform, settings.slack.maintainer_channel)
    if platform is Platform.DISCORD and settings.discord.maintainer_channel:
        return Target.channel(platform, settings.discord.maintainer_channel)
    if platform is Platform.CONSOLE:
        return CONSOLE_CHANNEL
    return None
