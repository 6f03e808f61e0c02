"""Issue 15, wording items, the same on every adapter (console, Slack, Discord)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

NAME = "Weekly Sync"


def _on(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


async def test_cancelling_a_cancelled_meeting_says_nothing_changed(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say(f'/meeting create sync --name "{NAME}" --start "{_on(3)} 09:00 UTC"', as_="maya")
    first = await bot.say("/meeting cancel sync", as_="maya")
    assert first.text.startswith(f"Cancelled {NAME}")
    await bot.run_due()
    posts = await bot.channel_posts()
    again = await bot.say("/meeting cancel sync", as_="maya")
    assert again.text == "The meeting sync was already cancelled; nothing changed."
    await bot.run_due()
    assert await bot.channel_posts() == posts  # nobody is told a second time


async def test_reviewing_someone_without_nominations_keeps_the_at(bot) -> None:  # type: ignore[no-untyped-def]
    said = await bot.say("/hero review @raj approve", as_="maya")
    assert said.text.startswith("@raj has no nominations for "), said.text


async def test_announce_list_is_newest_first_by_creation(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say(f'/announce --yes --at "{_on(30)} 18:00 UTC" Planned long ago', as_="maya")
    await bot.say("/announce --yes Made just now", as_="maya")
    listed = await bot.say("/announce list", as_="maya")
    assert "newest first" in listed.text
    bullets = [line for line in listed.text.splitlines() if "#" in line and " — " in line]
    assert "#2" in bullets[0] and "Made just now" in bullets[0]
    assert "#1" in bullets[1] and "Planned long ago" in bullets[1]


async def test_the_audit_log_shows_times_and_durations_for_people(bot) -> None:  # type: ignore[no-untyped-def]
    at = date.fromisoformat(_on(40))
    said = await bot.say(f'/announce --yes --at "{at} 18:00 UTC" Happy new year', as_="maya")
    assert "scheduled" in said.text, said.text
    await bot.say(
        f'/meeting create sync --name "{NAME}" --start "{_on(3)} 09:00 UTC" --duration 90m',
        as_="maya",
    )
    await bot.say(f'/meeting move sync {_on(3)} "{_on(4)} 10:30 UTC"', as_="maya")
    # The reader's zone, not the writer's: Tokyo has no DST, so the words are known ahead.
    await bot.say("/communitybot timezone Asia/Tokyo", as_="mo")
    audit = (await bot.say("/communitybot audit 5", as_="mo")).text
    assert "+00:00" not in audit and ":00:00" not in audit, audit
    tokyo = at + timedelta(days=1)
    assert f"at {tokyo:%a} {tokyo.day} {tokyo:%b %Y}, 03:00 JST (18:00 UTC)" in audit, audit
    assert "duration=1 hour 30 minutes" in audit, audit
    moved = date.fromisoformat(_on(4))
    assert f"time={moved:%a} {moved.day} {moved:%b %Y}, 19:30 JST (10:30 UTC)" in audit, audit
