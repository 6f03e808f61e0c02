"""Issue 15, wording items that depend on the clock (console, a clock the test sets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.slack.manifest import BOT_SCOPES
from bot.core.audit_text import audit_parts, human_duration
from bot.core.message import Message
from bot.core.plaintext import render
from tests.support.heroes_harness import hero_bot
from tests.support.meetings_bot import community_meeting, meeting_bot

ROOT = Path(__file__).resolve().parents[2]
DEC_10 = datetime(2026, 12, 10, 18, tzinfo=UTC)


async def test_a_cycle_is_open_until_its_last_minute(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, DEC_10) as bot:
        await bot.run_due()
        [opening] = bot.channel_posts()
        assert "are open until Thu 31 Dec 2026, 23:59 PST (07:59 UTC)." in opening
        listing = await bot.say("/hero nominations", as_="maya")
        assert "Nominations are open until Thu 31 Dec 2026, 23:59 PST (07:59 UTC)." in listing
        await bot.run_due(datetime(2026, 12, 29, 8, tzinfo=UTC))
        assert (
            "close in 3 days, at the end of Thu 31 Dec 2026, 23:59 PST" in bot.channel_posts()[-1]
        )
        assert "Fri 1 Jan" not in "".join(bot.channel_posts()) + listing


async def test_counts_are_singular_or_plural(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, DEC_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        one = await bot.say("/hero nominations", as_="maya")
        assert "1 nomination of 1 member:" in one
        preview = await bot.say("/hero announce @ana", as_="maya")
        assert "has 1 nomination this cycle" in preview
        await bot.say("/hero nominate @ana for the meetups", as_="raj")
        await bot.say("/hero nominate @lin for the release", as_="raj")
        two = await bot.say("/hero nominations", as_="maya")
        assert "3 nominations of 2 members:" in two
        assert "(s)" not in one + preview + two


async def test_meeting_list_says_happening_now_like_meeting_next(sqlite_url: str) -> None:
    during = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=during) as bot:
        assert "(happening now)" in await bot.say("/meeting next")
        assert (await bot.say("/meeting list")).splitlines()[1] == (
            "  • Community Meeting (community): Thu 31 Dec 2026, 09:00 PST (17:00 UTC) "
            "(happening now)"
        )
        bot.clock.now = during + timedelta(hours=1)  # over: the next one is "next" again
        assert (await bot.say("/meeting list")).splitlines()[1] == (
            "  • Community Meeting (community): next Thu 28 Jan 2027, 09:00 PST (17:00 UTC)"
        )


def test_audit_rows_written_before_the_fix_read_the_same() -> None:
    """Rows already in a database hold str(datetime) and str(timedelta)."""
    old = "meeting=c, date=2027-01-01, time=2027-01-02 18:00:00+00:00, duration=1:00:00"
    text = render(Message.text(*audit_parts(old, "UTC")), "Europe/Berlin")
    assert text == (
        "meeting=c, date=2027-01-01, time=Sat 2 Jan 2027, 19:00 CET (18:00 UTC), duration=1 hour"
    )
    assert human_duration(timedelta(days=8, minutes=5)) == "1 week 1 day 5 minutes"
    assert human_duration(timedelta(days=1, hours=1)) == "1 day 1 hour"


def test_the_slack_setup_guide_names_every_scope_the_manifest_asks_for() -> None:
    guide = (ROOT / "docs" / "slack-setup.md").read_text()
    assert "users:read" in BOT_SCOPES
    for scope in BOT_SCOPES:
        assert f"`{scope}`" in guide, scope


def test_the_readme_names_no_machine_specific_path() -> None:
    readme = (ROOT / "README.md").read_text()
    for path in ("/tmp/", "/work/", "/home/", "/Users/"):
        assert path not in readme, path
