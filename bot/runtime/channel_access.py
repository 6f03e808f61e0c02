"""At start, check that the bot can post in every channel the config names.

A channel the bot was never invited to, or lost access to, otherwise shows up only when a
reminder fails at 3 a.m. The neutral part lives here: which channels the config names and
why (the platform sections' own, and those features declare with `Setup.posts_to`), and one
clear warning per channel. Each adapter answers for its platform with `check_channels` (see
core.ports): for each channel it cannot post in, the reason and what to do about it (e.g.
"the bot is not a member; invite it with /invite @communitybot").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.config import Settings
from bot.core.invocation import Platform
from bot.core.ports import Adapter
from bot.runtime.feature import ChannelUses

log = logging.getLogger(__name__)

TIMEOUT = 15.0


def configured_channels(
    settings: Settings, platform: Platform, features: Iterable[ChannelUses] = ()
) -> dict[str, list[str]]:
    """Channel id → what the config uses it for, on `platform` (in config order)."""
    uses: dict[str, list[str]] = {}

    def add(channel: str | int | None, use: str) -> None:
        if channel is not None:
            uses.setdefault(str(channel), []).append(use)

    if platform is Platform.SLACK:
        section: Any = settings.slack
    elif platform is Platform.DISCORD:
        section = settings.discord
    else:
        return uses
    for channel in section.announce_channels:
        add(channel, "announce channel")
    add(section.maintainer_channel, "maintainer channel")
    for uses_of in features:
        for channel, use in uses_of(settings, platform):
            add(channel, use)
    return uses


def warning(platform: Platform, channel: str, uses: list[str], reason: str) -> str:
    used_for = ", ".join(dict.fromkeys(uses))
    return f"cannot post in {platform.title()} channel {channel} ({used_for}): {reason}"


async def check_channels(
    settings: Settings,
    adapters: Mapping[Platform, Adapter],
    features: Sequence[ChannelUses] = (),
) -> list[str]:
    """Ask each adapter about its configured channels; log and return one warning per channel."""
    warnings: list[str] = []
    for platform, adapter in adapters.items():
        channels = configured_channels(settings, platform, features)
        if not channels:
            continue
        try:
            problems = await asyncio.wait_for(adapter.check_channels(list(channels)), TIMEOUT)
        except Exception as exc:  # a failed check must never stop the bot from starting
            log.warning("could not check the %s channels: %r", platform, exc)
            continue
        for channel, reason in problems.items():
            text = warning(platform, channel, channels.get(channel, []), reason)
            log.warning("%s", text)
            warnings.append(text)
    return warnings
