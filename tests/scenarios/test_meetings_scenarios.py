"""Meeting scenarios, the same on every adapter (console, Slack, Discord).

Meetings are created by command relative to the real clock, in UTC, so every driver shows
the same "HH:MM UTC" whichever zone its reader falls back to. The reminder ladder travels in
time with time-machine around `run_due` only; everything else is due at once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

NAME = "Weekly Sync"


def _today() -> date:
    return datetime.now(UTC).date()


def _on(days: int) -> str:
    return (_today() + timedelta(days=days)).isoformat()


async def _posts_about(bot, needle: str = NAME) -> list[str]:  # type: ignore[no-untyped-def]
    return [p for p in await bot.channel_posts() if needle in p]


async def _create_weekly(bot) -> None:  # type: ignore[no-untyped-def]
    """A weekly meeting that first met a week ago at 09:00 UTC."""
    said = await bot.say(
        f'/meeting create sync --name "{NAME}" --start "{_on(-7)} 09:00 UTC" '
        "--rrule FREQ=WEEKLY --join https://example.org/zoom",
        as_="maya",
    )
    assert said.text.startswith(f"Created {NAME} (sync, repeats FREQ=WEEKLY)"), said.text
    assert "09:00 UTC" in said.text


async def test_create_then_next_and_list_show_it_with_links(bot) -> None:
    await _create_weekly(bot)
    nxt = await bot.say("/meeting next", as_="olu")
    assert NAME in nxt.text and "09:00 UTC" in nxt.text
    assert "https://example.org/zoom" in nxt.text
    assert not nxt.public
    listed = await bot.say("/meeting list 3", as_="olu")
    assert listed.text.count(NAME) == 3
    each = await bot.say("/meeting list", as_="olu")
    assert f"{NAME} (sync)" in each.text


async def test_next_can_be_shared_in_the_channel(bot) -> None:
    await _create_weekly(bot)
    shared = await bot.say("/meeting next --public", as_="olu")
    assert shared.public and NAME in shared.text


async def test_members_cannot_manage_meetings(bot) -> None:
    said = await bot.say(
        f'/meeting create sync --name "{NAME}" --start "{_on(3)} 09:00 UTC"', as_="olu"
    )
    assert said.text.startswith("Only maintainers can use")
    assert "no meetings" in (await bot.say("/meeting list", as_="olu")).text.lower()


async def test_bad_input_is_refused_in_one_sentence(bot) -> None:
    said = await bot.say(
        f'/meeting create sync --name "{NAME}" --start "{_on(3)} 09:00 UTC" --rrule FREQ=HOURLY',
        as_="maya",
    )
    assert "meetings recur at most daily" in said.text
    unknown = await bot.say("/meeting subscribe nope", as_="olu")
    assert "There is no meeting “nope”" in unknown.text
    await _create_weekly(bot)
    off = await bot.say(f"/meeting skip sync {_on(1)}", as_="maya")
    assert "has no occurrence on" in off.text


async def test_subscribe_and_agenda(bot) -> None:
    await _create_weekly(bot)
    assert "Subscribed" in (await bot.say("/meeting subscribe sync", as_="olu")).text
    added = await bot.say("/meeting agenda add sync Release plans & <b>roadmap</b>", as_="olu")
    assert "Added as item 1" in added.text
    listed = await bot.say("/meeting agenda list sync", as_="ana")
    assert "1. Release plans & <b>roadmap</b>" in listed.text
    refused = await bot.say("/meeting agenda remove sync 1", as_="olu")
    assert refused.text.startswith("Only maintainers can use")
    removed = await bot.say("/meeting agenda remove sync 1", as_="maya")
    assert "Removed item 1" in removed.text
    assert "No agenda items yet" in (await bot.say("/meeting agenda list sync", as_="ana")).text
    assert "Unsubscribed" in (await bot.say("/meeting unsubscribe sync", as_="olu")).text


async def test_skip_and_move_are_announced_in_the_channel(bot) -> None:
    await _create_weekly(bot)
    skipped = await bot.say(f"/meeting skip sync {_on(7)}", as_="maya")
    assert skipped.text.startswith(f"Skipped {NAME}")
    moved = await bot.say(f'/meeting move sync {_on(14)} "{_on(15)} 10:00 UTC"', as_="maya")
    assert "10:00 UTC" in moved.text
    await bot.run_due()
    posts = await _posts_about(bot)
    assert len(posts) == 2
    assert any("is skipped" in p for p in posts)
    assert any("moves to" in p and "10:00 UTC" in p for p in posts)


async def test_recap_is_posted_with_the_recording(bot) -> None:
    await _create_weekly(bot)
    said = await bot.say("/meeting recap sync https://example.org/recording Thanks all", as_="mo")
    assert "Saved the recap" in said.text
    await bot.run_due()
    posts = await _posts_about(bot)
    assert len(posts) == 1
    assert "https://example.org/recording" in posts[0] and "Thanks all" in posts[0]
    private = await bot.say("/meeting recap sync https://internal.example/x", as_="mo")
    assert "private, loopback or link-local" in private.text


async def test_the_ladder_reminds_the_channel_before_the_start(bot) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    said = await bot.say(
        f'/meeting create sync --name "{NAME}" --start "{start:%Y-%m-%d %H:%M} UTC" '
        "--join https://example.org/zoom",
        as_="maya",
    )
    assert "Created" in said.text
    await bot.run_due()
    assert await _posts_about(bot) == []  # 7 days before is already past; nothing yet
    with time_machine.travel(start - timedelta(days=1) + timedelta(seconds=30), tick=True):
        await bot.run_due()
    posts = await _posts_about(bot)
    assert len(posts) == 1 and "starts in 1 day" in posts[0]
    with time_machine.travel(start + timedelta(seconds=30), tick=True):
        await bot.run_due()
    posts = await _posts_about(bot)
    assert len(posts) == 2 and "is starting now" in posts[1]
    assert "https://example.org/zoom" in posts[1]


async def test_the_feed_address_is_given(bot) -> None:
    said = await bot.say("/meeting ics", as_="olu")
    assert "/calendar.ics" in said.text
