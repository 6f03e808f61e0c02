"""One person on Slack, Discord and the console: two bots on one database, real adapters.

Each platform's bot serves its own adapter (the fakes stand in for Slack's and Discord's
servers); sharing the database is what makes them one community, as in a deployment.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG
from tests.scenarios.driver_console import ConsoleDriver, console_driver
from tests.scenarios.driver_discord import DiscordDriver, discord_driver, snowflake_for
from tests.scenarios.driver_slack import SlackDriver, slack_driver, user_id

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")
ME = re.compile(r"/me/([A-Za-z0-9_-]{20,})")


@asynccontextmanager
async def slack_and(tmp_path: Path, other: Any) -> AsyncIterator[tuple[SlackDriver, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with AsyncExitStack() as stack:
        slack = await stack.enter_async_context(
            slack_driver(tmp_path, SCENARIO_CONFIG, resolver=fake_resolver, database=url)
        )
        second = await stack.enter_async_context(
            other(tmp_path, SCENARIO_CONFIG, resolver=fake_resolver, database=url)
        )
        yield slack, second


async def _code(bot: Any, as_: str) -> str:
    [code] = set(CODE.findall((await bot.say("/communitybot link", as_=as_)).text))
    return code


def slack_dms(slack: SlackDriver, name: str) -> list[str]:
    channel = slack.fake.dm_channel(user_id(name))
    return [
        slack._message_text({"text": m.text, "blocks": m.blocks})[0]
        for m in slack.fake.posted(channel)
    ]


async def discord_dms(discord: DiscordDriver, name: str) -> list[str]:
    channel = discord.fake.dm_channels.get(snowflake_for(name))
    found = [
        m.payload for m in discord.fake.messages.values() if int(m.payload["channel_id"]) == channel
    ]
    return [(await discord._said([p], name)).text for p in found]


async def my_data(slack: SlackDriver, as_: str) -> tuple[int, dict[str, str], Any]:
    said = await slack.say("/communitybot mydata", as_=as_)
    [token] = ME.findall(said.text)
    url = f"http://127.0.0.1:{slack.app.http_port}/me/{token}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.json() if response.status == 200 else await response.text()
        return response.status, dict(response.headers), body


async def test_slack_and_discord_accounts_are_one_person(tmp_path: Path) -> None:
    async with slack_and(tmp_path, discord_driver) as (slack, discord):
        code = await _code(slack, "olu")
        linked = await discord.say(f"/communitybot link {code}", as_="olu")
        assert "Linked" in linked.text and "Slack" in linked.text, linked.text
        # The account that made the code is told, on its own platform.
        await slack.run_due()
        [notice] = slack_dms(slack, "olu")
        assert "Your link code was used" in notice and "Discord" in notice, notice

        # One zone, one mute, everywhere.
        await discord.say("/communitybot timezone Europe/Berlin", as_="olu")
        assert "Europe/Berlin" in (await slack.say("/communitybot timezone", as_="olu")).text
        await discord.say("/survey mute", as_="olu")
        whoami = await slack.say("/communitybot whoami", as_="olu")
        assert "2 accounts" in whoami.text and "muted" in whoami.text, whoami.text
        assert "Discord" in whoami.text and "Slack" in whoami.text

        # Nominated from both platforms: one nominee, two nominating persons; a nominator
        # who nominates from both of their accounts counts once.
        await slack.say("/hero nominate @olu great docs", as_="ana")
        await discord.say("/hero nominate @olu helped everyone", as_="raj")
        code = await _code(slack, "raj")
        assert "Linked" in (await discord.say(f"/communitybot link {code}", as_="raj")).text
        await slack.say("/hero nominate @olu also reviews", as_="raj")
        listed = await slack.say("/hero nominations", as_="maya")
        assert "3 nominations of 1 member" in listed.text, listed.text
        assert "2 nominators" in listed.text, listed.text

        # Subscribed on both: each reminder once, on the platform subscribed last.
        start = (datetime.now(UTC) + timedelta(days=3)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        created = await slack.say(
            f'/meeting create sync --name "Weekly Sync" --start "{start:%Y-%m-%d %H:%M} UTC"',
            as_="maya",
        )
        assert "Weekly Sync" in created.text, created.text
        assert "Subscribed" in (await slack.say("/meeting subscribe sync", as_="olu")).text
        assert "Subscribed" in (await discord.say("/meeting subscribe sync", as_="olu")).text
        whoami = await slack.say("/communitybot whoami", as_="olu")
        assert "sync (reminders on Discord)" in whoami.text, whoami.text
        at = start - timedelta(minutes=50)
        await slack.app.run_due(at)
        await slack.adapter.drain()
        await discord.app.run_due(at)
        slack_reminders = [t for t in slack_dms(slack, "olu") if "Weekly Sync" in t]
        discord_reminders = [t for t in await discord_dms(discord, "olu") if "Weekly Sync" in t]
        assert slack_reminders == [] and len(discord_reminders) >= 1, (
            slack_reminders,
            discord_reminders,
        )
        # Unsubscribing on one platform ends the person's subscription.
        gone = await slack.say("/meeting unsubscribe sync", as_="olu")
        assert "Unsubscribed" in gone.text, gone.text
        assert "subscriptions: none" in (await discord.say("/communitybot whoami", as_="olu")).text

        # The export lists both accounts and what the person did on either.
        status, headers, data = await my_data(slack, "olu")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert headers["Cache-Control"] == "no-store"
        assert headers["Referrer-Policy"] == "no-referrer"
        accounts = {(a["platform"], a["user_id"]) for a in data["accounts"]}
        assert accounts == {("slack", user_id("olu")), ("discord", str(snowflake_for("olu")))}
        assert data["timezone"] == "Europe/Berlin" and data["muted"] is True
        assert {n["reason"] for n in data["nominations_received"]} == {
            "great docs",
            "helped everyone",
            "also reviews",
        }
        assert {"agenda_items", "survey_opens", "subscriptions", "nominations_made"} <= set(data)


async def test_slack_and_console_link_and_forget(tmp_path: Path) -> None:
    async with slack_and(tmp_path, console_driver) as (slack, console):
        assert isinstance(console, ConsoleDriver)
        code = await _code(console, "olu")
        assert "Linked" in (await slack.say(f"/communitybot link {code}", as_="olu")).text
        await console.run_due()
        assert "Your link code was used" in console.out.getvalue()
        await slack.say("/hero nominate @ana kind reviews", as_="olu")
        await slack.say("/communitybot timezone Asia/Tokyo", as_="olu")
        assert "Asia/Tokyo" in (await console.say("/communitybot whoami", as_="olu")).text
        status, _, before = await my_data(slack, "olu")
        assert status == 200 and len(before["accounts"]) == 2
        [made] = before["nominations_made"]
        assert made["cycle"] and made["reason"] == "kind reviews"
        said = await slack.say("/communitybot mydata", as_="olu")
        [token] = ME.findall(said.text)

        done = await console.say("/communitybot forget --yes", as_="olu")
        assert "deleted everything" in done.text and "2 accounts" in done.text, done.text
        url = f"http://127.0.0.1:{slack.app.http_port}/me/{token}"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 404  # forgotten with the person
        status, _, after = await my_data(slack, "olu")
        assert status == 200
        assert after["accounts"][0]["user_id"] == user_id("olu") and len(after["accounts"]) == 1
        assert after["nominations_made"] == [] and after["timezone"] is None
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{slack.app.http_port}/me/"
            for wrong in ("x" * 32, "short"):
                async with http.get(base + wrong) as response:
                    assert response.status == 404
