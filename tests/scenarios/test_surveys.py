"""Survey scenarios, the same on every adapter."""

from __future__ import annotations

import re

import pytest

URL = "https://example.org/survey"
ADD = f'/survey add "Community Survey" {URL} --closes 2099-12-31'
TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{20,})")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


async def test_list_gives_each_member_their_own_private_link(bot) -> None:
    added = await bot.say(ADD, as_="maya")
    assert "Added the survey" in added.text and "Community Survey" in added.text, added.text
    assert not added.public

    olu = await bot.say("/survey list", as_="olu")
    assert "Community Survey" in olu.text and "closes" in olu.text
    assert not olu.public
    [olu_token] = tokens(olu.text)
    [ana_token] = tokens((await bot.say("/survey list", as_="ana")).text)
    assert olu_token != ana_token
    assert tokens((await bot.say("/survey list", as_="olu")).text) == [olu_token]
    assert URL not in olu.text  # only the tracked link, so opening it is counted


async def test_bare_survey_lists(bot) -> None:
    if bot.structured:
        pytest.skip("Discord has no bare /survey; /survey list is its form")
    await bot.say(ADD, as_="maya")
    said = await bot.say("/survey", as_="olu")
    assert len(tokens(said.text)) == 1 and not said.public


async def test_no_open_surveys(bot) -> None:
    said = await bot.say("/survey list", as_="olu")
    assert "no open surveys" in said.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/survey",
        "https://10.0.0.7/form",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/x",
        "https://internal.example/survey",
        "https://metadata.example/survey",
    ],
)
async def test_private_addresses_are_refused(bot, url: str) -> None:
    said = await bot.say(f"/survey add Internal {url}", as_="maya")
    assert "private, loopback or link-local" in said.text, said.text
    assert "no open surveys" in (await bot.say("/survey list", as_="olu")).text


async def test_adding_is_for_maintainers_and_checked(bot) -> None:
    said = await bot.say(ADD, as_="olu")
    assert said.text.startswith("Only maintainers can use")
    said = await bot.say("/survey add Old https://example.org/old --closes 2001-01-31", as_="maya")
    assert "already passed" in said.text
    said = await bot.say("/survey add Soon https://example.org/s --closes 31/12/2099", as_="maya")
    assert "2026-12-31" in said.text  # the refusal shows the right form
    said = await bot.say("/survey add Bad ftp://example.org/s", as_="maya")
    assert "not a web link" in said.text
    await bot.say(ADD, as_="maya")
    again = await bot.say('/survey add "community survey" https://example.org/x', as_="mo")
    assert "already a survey named" in again.text
    assert len(tokens((await bot.say("/survey list", as_="olu")).text)) == 1


async def test_close_stops_the_survey(bot) -> None:
    await bot.say(ADD, as_="maya")
    assert (await bot.say('/survey close "Community Survey"', as_="olu")).text.startswith(
        "Only maintainers"
    )
    closed = await bot.say('/survey close "Community Survey"', as_="mo")
    assert "Closed" in closed.text and "reached 0" in closed.text
    assert "no open surveys" in (await bot.say("/survey list", as_="olu")).text
    again = await bot.say('/survey close "Community Survey"', as_="mo")
    assert "already closed" in again.text
    unknown = await bot.say("/survey close Nonesuch", as_="mo")
    assert "no survey named" in unknown.text


async def test_stats_count_reach_and_opt_outs(bot) -> None:
    await bot.say(ADD, as_="maya")
    await bot.say("/survey add Tooling https://example.org/tooling", as_="maya")
    await bot.say("/survey list", as_="olu")
    await bot.say("/survey list", as_="ana")
    muted = await bot.say("/survey mute", as_="ana")
    assert "won't send you personal survey reminders" in muted.text
    said = await bot.say('/survey stats "Community Survey"', as_="maya")
    assert "reached 2, opened 0" in said.text and "opt-outs 1" in said.text, said.text
    every = await bot.say("/survey stats", as_="mo")
    assert "Community Survey" in every.text and "Tooling" in every.text
    assert (await bot.say("/survey stats", as_="olu")).text.startswith("Only maintainers")


async def test_mute_and_unmute(bot) -> None:
    await bot.say(ADD, as_="maya")
    assert "won't send you" in (await bot.say("/survey mute", as_="olu")).text
    assert "already muted" in (await bot.say("/survey mute", as_="olu")).text
    listed = await bot.say("/survey list", as_="olu")
    assert "muted survey reminders" in listed.text and len(tokens(listed.text)) == 1
    assert "back on" in (await bot.say("/survey unmute", as_="olu")).text
    assert "were not muted" in (await bot.say("/survey unmute", as_="olu")).text


async def test_a_new_survey_is_announced_in_the_channels(bot) -> None:
    await bot.say(ADD, as_="maya")
    await bot.run_due()
    posts = [p for p in await bot.channel_posts() if "Community Survey" in p]
    assert posts, await bot.channel_posts()
    assert all(URL in p and not tokens(p) for p in posts)  # nobody's personal link
    assert "participate today" in posts[0]
