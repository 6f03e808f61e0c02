"""Personal nudges on the real Slack and Discord clients: a DM with the member's own link
and three buttons, which work when the member presses them (fakes stand in for the servers).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG, Said
from tests.scenarios.driver_discord import DiscordSaid, discord_driver, snowflake_for
from tests.scenarios.driver_slack import slack_driver, user_id

ADD = '/survey add "Community Survey" https://example.org/survey'
TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{20,})")
LABELS = ["Done", "Remind me later", "Not interested"]


async def test_slack_nudge_in_a_dm_with_working_buttons(tmp_path: Path) -> None:
    async with slack_driver(tmp_path, SCENARIO_CONFIG, resolver=fake_resolver) as bot:
        await bot.say(ADD, as_="maya")
        await bot.run_due()  # round 0: the channel post, and nudges planned for maya
        [token] = TOKEN.findall((await bot.say("/survey list", as_="olu")).text)
        start = datetime.now(UTC)
        await bot.app.run_due(start + timedelta(days=4))
        await bot.adapter.drain()
        dm = bot.fake.dm_channel(user_id("olu"))
        [nudge] = bot.fake.posted(dm)
        text, buttons = bot._message_text({"text": nudge.text, "blocks": nudge.blocks})
        assert "Community Survey" in text and TOKEN.findall(text) == [token]
        assert [label for label, _ in buttons] == LABELS
        action = Said(text, buttons).button("Not interested")
        sent = await bot.fake.press_button(
            bot.url,
            action,
            action,
            user_id=user_id("olu"),
            user_name="olu",
            channel_id=dm,
            message_ts=nudge.ts,
            is_ephemeral=False,
        )
        assert sent.http is not None and sent.http.status == 200
        await bot.adapter.drain()
        answers = [bot._message_text(p.body)[0] for p in bot.fake.responses(sent.response_url)]
        assert any("no more reminders about Community Survey" in a for a in answers), answers
        await bot.app.run_due(start + timedelta(days=12))
        await bot.adapter.drain()
        assert len(bot.fake.posted(dm)) == 1  # declined: no second nudge
        assert len(bot.fake.posted(bot.fake.dm_channel(user_id("maya")))) == 2


async def test_discord_nudge_in_a_dm_with_working_buttons(tmp_path: Path) -> None:
    async with discord_driver(tmp_path, SCENARIO_CONFIG, resolver=fake_resolver) as bot:
        await bot.say(ADD, as_="maya")
        await bot.run_due()  # round 0: the channel post, and nudges planned for maya
        [token] = TOKEN.findall((await bot.say("/survey list", as_="olu")).text)
        start = datetime.now(UTC)
        await bot.app.run_due(start + timedelta(days=4))
        dm = bot.fake.dm_channels[snowflake_for("olu")]
        [nudge] = [
            m.payload for m in bot.fake.messages.values() if int(m.payload["channel_id"]) == dm
        ]
        said = await bot._said([nudge], "olu")
        assert isinstance(said, DiscordSaid)
        assert "Community Survey" in said.text and TOKEN.findall(said.text) == [token]
        assert [label for label, _ in said.buttons] == LABELS
        done = await bot.press(said, "Done", as_="olu")
        assert "Thank you for taking Community Survey" in done.text, done.text
        await bot.app.run_due(start + timedelta(days=12))
        dms = [m for m in bot.fake.messages.values() if int(m.payload["channel_id"]) == dm]
        assert len(dms) == 1  # done: no second nudge
