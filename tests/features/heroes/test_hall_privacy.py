"""Issue 15, item 18: `/hero hall` never shows a nomination's reason.

Nominators write reasons for the reviewers; the hall shows only the maintainer's own
announcement message, or nothing after the Hero's name. Checked through signed Slack HTTP
and a real discord.py client, on one bot with both platforms.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.features.announcements.test_platforms import Both, both_platforms
from tests.scenarios.driver import SCENARIO_CONFIG


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Both]:
    async with both_platforms(tmp_path, SCENARIO_CONFIG) as pair:
        yield pair


async def test_the_hall_shows_the_maintainer_s_message_never_a_reason(both: Both) -> None:
    await both.slack.say("/hero nominate @ana only the reviewers should read this", as_="olu")
    preview = await both.slack.say("/hero announce @ana", as_="maya")
    await both.slack.press(preview, "confirm", as_="maya")
    # An earlier cycle (two calendar months back is before the current one in any zone),
    # announced with the maintainer's own words, and a nomination reason too.
    month = both.clock.now.replace(day=1) - timedelta(days=1)
    earlier = (month.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    await both.slack.say(f"/hero nominate @lin secret praise --cycle {earlier}", as_="olu")
    said = await both.slack.say(
        f"/hero announce @lin Thank you for the meetups! --cycle {earlier} --yes", as_="maya"
    )
    assert "is the" in said.text, said.text
    await both.run_due()

    for hall in (
        (await both.slack.say("/hero hall", as_="olu")).text,
        (await both.discord.say("/hero hall", as_="olu")).text,
    ):
        assert "only the reviewers should read this" not in hall
        assert "secret praise" not in hall
        lines = [line.strip(" •") for line in hall.splitlines() if " — " in line]
        assert len(lines) == 2
        assert lines[0].endswith("@ana"), hall  # no message: nothing after the name
        assert lines[1].endswith("@lin: Thank you for the meetups!"), hall
