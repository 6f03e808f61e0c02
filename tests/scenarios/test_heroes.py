"""Community Hero scenarios, the same on every adapter (console, Slack, Discord).

The bots run on the real clock, so the current cycle is computed the way the bot does: by
the community's calendar (America/Los_Angeles in the scenario config).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.features.heroes.cycles import Cycle, cycle_at
from tests.scenarios.driver import SCENARIO_CONFIG

REVIEW_BUTTONS = ("shortlist", "approve", "reject")


def _cycle() -> Cycle:
    return cycle_at(datetime.now(UTC), SCENARIO_CONFIG["community"]["timezone"], "monthly")


async def _hero_posts(bot) -> list[str]:  # type: ignore[no-untyped-def]
    return [p for p in await bot.channel_posts() if "Our Community Hero" in p]


async def test_nominating_is_private_and_says_which_cycle(bot) -> None:
    said = await bot.say("/hero nominate @ana for keeping the docs build green", as_="olu")
    assert not said.public
    assert f"for the {_cycle().title} Community Hero is in" in said.text
    await bot.run_due()
    assert not any("docs build green" in p for p in await bot.channel_posts())


async def test_maintainers_see_nominations_grouped_with_counts(bot) -> None:
    await bot.say("/hero nominate @ana for keeping the docs build green", as_="olu")
    await bot.say("/hero nominate @ana --anonymous for patient answers in help", as_="raj")
    await bot.say("/hero nominate @lin for running the meetup", as_="olu")
    again = await bot.say("/hero nominate @lin for running every meetup this year", as_="olu")
    assert "replaced your reason" in again.text
    listing = await bot.say("/hero nominations", as_="maya")
    assert not listing.public
    assert "3 nominations of 2 members" in listing.text
    assert "2 nominators" in listing.text and "1 nominator" in listing.text
    assert "for keeping the docs build green — olu" in listing.text
    assert "for patient answers in help — anonymous" in listing.text
    assert "for running every meetup this year" in listing.text
    assert "for running the meetup —" not in listing.text
    assert len(listing.buttons) == 6


async def test_self_nomination_and_bad_input_are_refused(bot) -> None:
    said = await bot.say("/hero nominate @olu for everything", as_="olu")
    assert "can't nominate yourself" in said.text
    if not bot.structured:  # a Discord client enforces the option's max_length itself
        too_long = await bot.say(f"/hero nominate @ana {'x' * 501}", as_="olu")
        assert "the limit is 500" in too_long.text
    listing = await bot.say("/hero nominations", as_="maya")
    assert "No nominations yet." in listing.text
    bad = await bot.say("/hero nominations 2026-13", as_="maya")
    assert "not a month" in bad.text


async def test_every_maintainer_subcommand_is_refused_to_members(bot) -> None:
    await bot.say("/hero nominate @ana for the docs", as_="olu")
    for command in (
        "/hero nominations",
        f"/hero nominations {_cycle().key}",
        "/hero review @ana approve",
        "/hero announce @ana",
        "/hero announce @ana --yes",
    ):
        said = await bot.say(command, as_="raj")
        assert said.text.startswith("Only maintainers can use"), (command, said.text)
        assert not said.buttons
    await bot.run_due()
    assert await _hero_posts(bot) == []
    assert "not reviewed yet" in (await bot.say("/hero nominations", as_="maya")).text


async def test_every_review_button_is_refused_to_members(bot) -> None:
    await bot.say("/hero nominate @ana for the docs", as_="olu")
    listing = await bot.say("/hero nominations", as_="maya")
    for button in REVIEW_BUTTONS:
        refused = await bot.press(listing, button, as_="olu")
        assert "Only maintainers can use that button" in refused.text, button
    assert "not reviewed yet" in (await bot.say("/hero nominations", as_="maya")).text


async def test_review_by_button_and_by_command(bot) -> None:
    await bot.say("/hero nominate @ana for the docs", as_="olu")
    listing = await bot.say("/hero nominations", as_="maya")
    pressed = await bot.press(listing, "approve", as_="mo")
    assert "Approved" in pressed.text and "approved" in pressed.text.split("\n", 1)[1]
    said = await bot.say("/hero review @ana shortlist", as_="maya")
    assert "Shortlisted" in said.text
    assert "shortlisted" in (await bot.say("/hero nominations", as_="maya")).text
    nobody = await bot.say("/hero review @raj approve", as_="maya")
    assert "@raj has no nominations" in nobody.text


async def test_announce_with_confirmation_posts_once_and_enters_the_hall(bot) -> None:
    cycle = _cycle()
    await bot.say("/hero nominate @ana for keeping the docs build green", as_="olu")
    await bot.say("/hero nominate @ana --anonymous a secret kindness", as_="raj")
    preview = await bot.say("/hero announce @ana Thank you for a year of reviews", as_="maya")
    assert "Thank you for a year of reviews" in preview.text
    assert "for keeping the docs build green" in preview.text
    assert "a secret kindness" not in preview.text
    await bot.run_due()
    assert await _hero_posts(bot) == []

    stranger = await bot.press(preview, "confirm", as_="olu")
    assert "Only the person who asked" in stranger.text
    done = await bot.press(preview, "confirm", as_="maya")
    assert f"is the {cycle.title} Community Hero" in done.text
    await bot.run_due()
    [post] = await _hero_posts(bot)
    assert f"Our Community Hero for {cycle.title} is @ana" in post
    assert "Thank you for a year of reviews" in post
    assert "for keeping the docs build green — olu" in post
    assert "a secret kindness" not in post and "raj" not in post

    await bot.press(preview, "confirm", as_="maya")
    await bot.run_due()
    assert len(await _hero_posts(bot)) == 1

    hall = await bot.say("/hero hall", as_="lin")
    assert f"{cycle.title} — @ana: Thank you for a year of reviews" in hall.text
    after = await bot.say("/hero nominate @lin for the meetup", as_="olu")
    assert f"counts toward {cycle.following().title}" in after.text


async def test_a_cycle_has_one_hero(bot) -> None:
    await bot.say("/hero announce @ana --yes", as_="maya")
    again = await bot.say("/hero announce @lin --yes", as_="mo")
    assert "already announced" in again.text
    await bot.run_due()
    assert len(await _hero_posts(bot)) == 1


async def test_the_hall_starts_empty(bot) -> None:
    said = await bot.say("/hero hall", as_="olu")
    assert "No Community Hero has been announced yet" in said.text
