"""The start-up channel check: which channels the config names, and one warning per bad one."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pytest

from bot.app import build
from bot.core.invocation import Platform
from bot.runtime.channel_access import check_channels, configured_channels
from tests.conftest import make_settings

# The channels the features declare they post to (meetings: their reminder channels).
USES = build().channel_uses

CONFIG = {
    "slack": {
        "announce_channels": ["CANNOUNCE", "CSHARED"],
        "maintainer_channel": "CMAINT",
    },
    "discord": {
        "announce_channels": [910000000000000001],
        "maintainer_channel": 910000000000000009,
    },
    "meetings": [
        {
            "id": "community",
            "name": "Community Meeting",
            "start": "2026-01-29T09:00",
            "slack_channels": ["CSHARED", "CMEET"],
        },
        {"id": "apac", "name": "APAC hours", "start": "2026-01-29T09:00"},
    ],
}


def settings():  # type: ignore[no-untyped-def]
    return make_settings("sqlite+aiosqlite:///:memory:", CONFIG)


def test_configured_channels_name_every_use_per_platform() -> None:
    slack = configured_channels(settings(), Platform.SLACK, USES)
    assert slack == {
        "CANNOUNCE": ["announce channel"],
        "CSHARED": ["announce channel", "reminders of meeting community"],
        "CMAINT": ["maintainer channel"],
        "CMEET": ["reminders of meeting community"],
    }
    discord = configured_channels(settings(), Platform.DISCORD, USES)
    assert discord == {
        "910000000000000001": ["announce channel"],
        "910000000000000009": ["maintainer channel"],
    }
    assert configured_channels(settings(), Platform.CONSOLE, USES) == {}


class Checked:
    """An adapter's check hook answering from a fixed table (the platform's side of it)."""

    def __init__(self, platform: Platform, problems: Mapping[str, str]) -> None:
        self.platform = platform
        self.problems = problems
        self.asked: list[str] = []

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        self.asked = list(channel_ids)
        return {c: r for c, r in self.problems.items() if c in channel_ids}


class Broken:
    platform = Platform.DISCORD

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        raise ConnectionError("Discord is down")


async def test_one_clear_warning_per_channel_the_bot_cannot_post_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack = Checked(Platform.SLACK, {"CSHARED": "the bot is not a member; invite it"})
    with caplog.at_level(logging.WARNING, logger="bot.runtime.channel_access"):
        warnings = await check_channels(settings(), {Platform.SLACK: slack}, USES)  # type: ignore[dict-item]
    assert slack.asked == ["CANNOUNCE", "CSHARED", "CMAINT", "CMEET"]
    assert warnings == [
        "cannot post in Slack channel CSHARED (announce channel, reminders of meeting "
        "community): the bot is not a member; invite it"
    ]
    assert [r.getMessage() for r in caplog.records] == warnings


async def test_a_failing_check_never_stops_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.runtime.channel_access"):
        assert await check_channels(settings(), {Platform.DISCORD: Broken()}, USES) == []  # type: ignore[dict-item]
    assert [r.getMessage() for r in caplog.records] == [
        "could not check the discord channels: ConnectionError('Discord is down')"
    ]
