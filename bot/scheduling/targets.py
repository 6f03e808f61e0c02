"""The configured channels a feature sends to: announce channels and the maintainers' channel."""

from __future__ import annotations

from bot.config import Settings
from bot.core.invocation import Platform
from bot.core.targets import CONSOLE_CHANNEL, Target


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
