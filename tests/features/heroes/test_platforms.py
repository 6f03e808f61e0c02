"""A Hero announcement on a bot with Slack AND Discord, against both fakes at once.

It lands once in every announce channel on both platforms; it pings the Hero on the Hero's
own platform (and nobody else anywhere), quotes the non-anonymous reasons, and names the
Hero in plain text on the other platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack_api import PostedMessage
from tests.features.announcements.test_platforms import (
    Both,
    _discord_content,
    _slack_live_pings,
    _slack_text,
    both_platforms,
)
from tests.scenarios.driver import SCENARIO_CONFIG
from tests.scenarios.driver_slack import user_id
from tests.support.clock import Clock


@pytest.fixture
async def both(tmp_path: Path, clock: Clock) -> AsyncIterator[Both]:
    async with both_platforms(tmp_path, SCENARIO_CONFIG, clock) as pair:
        yield pair


SLACK_CHANNEL = str(SCENARIO_CONFIG["slack"]["announce_channels"][0])
DISCORD_CHANNEL = str(SCENARIO_CONFIG["discord"]["announce_channels"][0])


async def _hero_posts(both: Both) -> tuple[list[PostedMessage], list[Any]]:
    """The Hero announcements in each platform's announce channel."""
    slack = [
        p for p in both.slack_fake.posted(SLACK_CHANNEL) if "Community Hero for" in _slack_text(p)
    ]
    discord = [
        m
        for m in both.discord_fake.messages.values()
        if m.payload["channel_id"] == DISCORD_CHANNEL
        and "Community Hero for" in _discord_content(m)
    ]
    return slack, discord


async def test_a_slack_hero_is_pinged_on_slack_and_named_on_discord(both: Both) -> None:
    await both.slack.say("/hero nominate @ana for the docs build", as_="olu")
    await both.slack.say("/hero nominate @ana --anonymous a secret kindness", as_="raj")
    preview = await both.slack.say("/hero announce @ana Thank you, Ana!", as_="maya")
    assert "2 channels" in preview.text
    await both.slack.press(preview, "confirm", as_="maya")
    await both.run_due()
    slack, discord = await _hero_posts(both)
    assert len(slack) == 1 and len(discord) == 1
    [slack_post], [discord_post] = slack, discord
    assert set(_slack_live_pings(slack_post)) == {f"<@{user_id('ana')}"}
    text = _slack_text(slack_post)
    assert "Thank you, Ana!" in text and "for the docs build" in text
    assert "secret kindness" not in text
    content = _discord_content(discord_post)
    assert "for the docs build" in content and "secret kindness" not in content
    assert "<@" not in content  # a Slack member cannot be mentioned on Discord
    assert discord_post.pings["users"] == [] and discord_post.pings["roles"] == []


async def test_a_discord_hero_is_pinged_on_discord_only(both: Both) -> None:
    ana = both.discord.person("ana")
    await both.discord.say("/hero nominate @ana for the release notes", as_="olu")
    preview = await both.discord.say("/hero announce @ana", as_="mo")
    await both.discord.press(preview, "confirm", as_="mo")
    await both.run_due()
    [slack_post], [discord_post] = await _hero_posts(both)
    assert f"<@{ana}>" in _discord_content(discord_post)
    assert [str(u) for u in discord_post.pings["users"]] == [str(ana)]
    assert discord_post.pings["roles"] == []
    assert _slack_live_pings(slack_post) == []
    assert "for the release notes" in _slack_text(slack_post)
