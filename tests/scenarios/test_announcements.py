"""Announcement scenarios, the same on every adapter (console, Slack, Discord).

Each driver's bot posts to its own platform's announce channel; the cross-platform fan-out
(one command landing on Slack and Discord at once) is in tests/test_announcements_platforms.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest


def _ids(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"#(\d+)", text)]


async def _posts_with(bot, needle: str) -> list[str]:
    return [p for p in await bot.channel_posts() if needle in p]


def _later(days: int = 3) -> str:
    """A time a few days ahead, written as people type it (in UTC, named explicitly)."""
    at = datetime.now(UTC) + timedelta(days=days)
    return f'"{at:%Y-%m-%d} 09:00 UTC"'


async def test_preview_then_confirm_posts_once(bot) -> None:
    preview = await bot.say("/announce We are pushing towards the next release", as_="maya")
    assert "This will be posted to 1 announce channel" in preview.text
    assert "We are pushing towards the next release" in preview.text
    assert not preview.public
    await bot.run_due()
    assert await _posts_with(bot, "next release") == []

    done = await bot.press(preview, "confirm", as_="maya")
    assert "Announcement #" in done.text and "on its way" in done.text
    await bot.run_due()
    assert await _posts_with(bot, "We are pushing towards the next release") == [
        "We are pushing towards the next release"
    ]
    # The preview's buttons are spent: pressing again posts nothing more.
    await bot.press(preview, "confirm", as_="maya")
    await bot.run_due()
    assert len(await _posts_with(bot, "next release")) == 1


async def test_cancelled_preview_posts_nothing(bot) -> None:
    preview = await bot.say("/announce not today", as_="maya")
    done = await bot.press(preview, "cancel", as_="maya")
    assert "Cancelled" in done.text
    await bot.run_due()
    assert await _posts_with(bot, "not today") == []


async def test_yes_skips_the_preview(bot) -> None:
    said = await bot.say("/announce --yes Release 2.0 is out", as_="mo")
    assert "on its way" in said.text
    await bot.run_due()
    assert await _posts_with(bot, "Release 2.0 is out") == ["Release 2.0 is out"]


async def test_post_word_lets_text_start_with_a_subcommand_word(bot) -> None:
    await bot.say("/announce post list of fixes in 2.1 --yes", as_="maya")
    await bot.run_due()
    assert await _posts_with(bot, "fixes in 2.1") == ["list of fixes in 2.1"]


async def test_member_is_refused_and_nothing_is_posted(bot) -> None:
    said = await bot.say("/announce --yes sneaky news", as_="olu")
    assert said.text.startswith("Only maintainers can use")
    for line in ("/announce list", "/announce cancel 1", "/announce delete 1"):
        assert (await bot.say(line, as_="olu")).text.startswith("Only maintainers can use")
    await bot.run_due()
    assert await _posts_with(bot, "sneaky") == []


async def test_member_pressing_a_maintainers_confirm_is_refused(bot) -> None:
    preview = await bot.say("/announce maintainers only", as_="maya")
    pressed = await bot.press(preview, "confirm", as_="olu")
    assert "Only the person who asked" in pressed.text
    await bot.run_due()
    assert await _posts_with(bot, "maintainers only") == []
    # The preview still works for the person who asked.
    await bot.press(preview, "confirm", as_="maya")
    await bot.run_due()
    assert await _posts_with(bot, "maintainers only") == ["maintainers only"]


async def test_scheduled_listed_then_cancelled(bot) -> None:
    said = await bot.say(f"/announce --yes --at {_later()} Office hours move", as_="maya")
    assert "is scheduled for" in said.text, said.text
    [ident] = _ids(said.text)
    listed = await bot.say("/announce list", as_="mo")
    assert f"#{ident}" in listed.text and "scheduled for" in listed.text
    assert "Office hours move" in listed.text
    await bot.run_due()
    assert await _posts_with(bot, "Office hours") == []

    cancelled = await bot.say(f"/announce cancel {ident}", as_="mo")
    assert f"Announcement #{ident} is cancelled" in cancelled.text
    assert "cancelled" in (await bot.say("/announce list", as_="maya")).text
    again = await bot.say(f"/announce cancel {ident}", as_="mo")
    assert "was already cancelled" in again.text


async def test_posted_announcement_cannot_be_cancelled(bot) -> None:
    said = await bot.say("/announce --yes out already", as_="maya")
    [ident] = _ids(said.text)
    await bot.run_due()
    refused = await bot.say(f"/announce cancel {ident}", as_="maya")
    assert "has already gone out" in refused.text and "delete" in refused.text
    assert await _posts_with(bot, "out already") == ["out already"]


async def test_edit_changes_the_posted_copy(bot) -> None:
    said = await bot.say("/announce --yes Meetup on Friday", as_="maya")
    [ident] = _ids(said.text)
    await bot.run_due()
    edited = await bot.say(f"/announce edit {ident} Meetup on Saturday", as_="mo")
    assert "1 posted copy is being edited" in edited.text
    await bot.run_due()
    posts = await bot.channel_posts()
    assert any("Meetup on Saturday" in p for p in posts)
    listed = await bot.say("/announce list", as_="maya")
    assert "Meetup on Saturday" in listed.text and "posted to 1 of 1" in listed.text


async def test_delete_removes_the_posted_copy(bot) -> None:
    said = await bot.say("/announce --yes Wrong channel, sorry", as_="maya")
    [ident] = _ids(said.text)
    await bot.run_due()
    deleted = await bot.say(f"/announce delete {ident}", as_="maya")
    assert "being removed from 1 channel" in deleted.text
    await bot.run_due()
    if bot.platform != "console":  # the console only prints that it deleted the post
        assert await _posts_with(bot, "Wrong channel") == []
    assert "deleted" in (await bot.say("/announce list", as_="maya")).text
    gone = await bot.say(f"/announce edit {ident} too late", as_="maya")
    assert "nothing to edit" in gone.text


async def test_bad_input_is_one_sentence_and_changes_nothing(bot) -> None:
    unknown = await bot.say("/announce edit 99 new words", as_="maya")
    assert "There is no announcement #99" in unknown.text
    past = await bot.say('/announce --yes --at "2020-01-01 09:00" old news', as_="maya")
    assert "already passed" in past.text
    garbled = await bot.say("/announce --yes --at tomorrow old news", as_="maya")
    assert "as a time" in garbled.text
    if not bot.structured:  # Discord's client never sends a number option that is not one
        word = await bot.say("/announce cancel first", as_="maya")
        assert "whole number" in word.text
    await bot.run_due()
    assert await _posts_with(bot, "old news") == []
    assert "no announcements yet" in (await bot.say("/announce list", as_="maya")).text


MENTIONS = "@everyone @here <!channel> <!here> <!everyone> <@U0EVIL> <!subteam^S0EVIL> <@&123>"


async def test_mention_syntax_arrives_as_text(bot) -> None:
    await bot.say(f"/announce --yes Heads up {MENTIONS} end", as_="maya")
    await bot.run_due()
    [post] = await _posts_with(bot, "Heads up")
    # The words are shown as typed (no ping is checked per platform in the platform tests).
    assert post.startswith("Heads up") and post.endswith("end")
    assert "everyone" in post and "subteam" in post


async def test_audit_records_announce_edit_delete_cancel(bot) -> None:
    first = await bot.say("/announce --yes audited news", as_="maya")
    [a] = _ids(first.text)
    await bot.run_due()
    await bot.say(f"/announce edit {a} audited news, edited", as_="maya")
    await bot.run_due()
    await bot.say(f"/announce delete {a}", as_="mo")
    later = await bot.say(f"/announce --yes --at {_later()} audited plan", as_="mo")
    [b] = _ids(later.text)
    await bot.say(f"/announce cancel {b}", as_="maya")
    audit = (await bot.say("/communitybot audit 10", as_="maya")).text
    for action in ("announce edit", "announce delete", "announce cancel"):
        assert action in audit, audit
    assert f"#{a} now" in audit and f"#{b} at" in audit
    assert "audited news, edited" in audit


@pytest.mark.parametrize("line", ["/announce", "/announce --yes"])
async def test_text_is_required(bot, line: str) -> None:
    if bot.structured:
        pytest.skip("Discord opens a form for the missing text instead")
    said = await bot.say(line, as_="maya")
    assert "needs <text>" in said.text
