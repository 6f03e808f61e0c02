"""Issue 15, text people type: em dashes, control characters, invisible and bidi characters,
`--yes` everywhere and the wording of unknown subcommands, on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.invocation import Platform
from bot.core.typed_text import CONTROL_REFUSAL
from tests.scenarios.driver import Said

PROSE = "Linkerd 2.11 — the release — is out"


async def _posted(bot: Any) -> list[str]:
    """Channel posts but the Hero cycle's own opening post, which the bot makes by itself."""
    await bot.run_due()
    return [p for p in await bot.channel_posts() if "Community Hero" not in p]


async def _options(bot: Any, command: str, options: dict[str, Any], *, as_: str) -> Said:
    """On Discord, what a client sends as typed options (no grammar on the way)."""
    from tests.scenarios.driver_discord import GENERAL_ID, GUILD_ID

    iid = await bot.fake.send_interaction(
        command,
        user_id=bot.person(as_),
        guild_id=GUILD_ID,
        channel_id=GENERAL_ID,
        options=options,
    )
    await bot._settle(iid)
    return await bot._said(bot.fake.replies(iid), as_)


def _start(days: int = 3) -> str:
    return f'"{(datetime.now(UTC) + timedelta(days=days)):%Y-%m-%d} 09:00 UTC"'


# -- item 1: em dashes and `--` --


async def test_em_dashes_in_prose_are_kept(bot: Any) -> None:
    said = await bot.say(f"/announce --yes {PROSE}", as_="maya")
    assert "on its way" in said.text, said.text
    assert PROSE in await _posted(bot)


async def test_em_dash_glued_to_an_option_is_the_option(bot: Any) -> None:
    said = await bot.say(f"/announce —yes {PROSE}", as_="maya")
    assert "on its way" in said.text, said.text
    assert PROSE in await _posted(bot)


async def test_first_double_dash_is_the_marker_and_a_later_one_is_text(bot: Any) -> None:
    await bot.say("/announce --yes -- use --force -- carefully", as_="maya")
    assert "use --force -- carefully" in await _posted(bot)


async def test_unknown_option_inside_free_text_says_how_to_write_it(bot: Any) -> None:
    if bot.structured:
        pytest.skip("on Discord the text is an option of its own; nothing is read as an option")
    said = await bot.say("/meeting agenda add community Discuss the --proxy-cpu flag", as_="olu")
    assert "has no option --proxy-cpu" in said.text
    assert "quotes" in said.text and "after a --" in said.text
    assert "\n" not in said.text


async def test_text_after_double_dash_may_look_like_an_option(bot: Any) -> None:
    await bot.say(
        f"/meeting create community --name Community --start {_start()} --rrule FREQ=WEEKLY",
        as_="maya",
    )
    said = await bot.say("/meeting agenda add community -- Discuss the --proxy-cpu flag", as_="olu")
    assert "Added" in said.text, said.text
    listed = await bot.say("/meeting agenda list community", as_="olu")
    assert "Discuss the --proxy-cpu flag" in listed.text


# -- item 2: control characters --


@pytest.mark.parametrize(
    "line",
    [
        "/announce nul\x00x --yes",
        "/announce bell\x07 --yes",
        "/announce escape \x1b[31mred --yes",
    ],
)
async def test_control_characters_are_refused_and_nothing_is_posted(bot: Any, line: str) -> None:
    if bot.structured:
        said = await _options(
            bot, "announce post", {"text": line.split(" ", 1)[1][:-6], "yes": True}, as_="maya"
        )
    else:
        said = await bot.say(line, as_="maya")
    assert said.text == CONTROL_REFUSAL
    assert await _posted(bot) == []


async def test_control_characters_in_options_are_refused_on_every_adapter(bot: Any) -> None:
    if bot.structured:
        said = await _options(
            bot,
            "meeting create",
            {"meeting": "community", "name": "a\x00b", "start": _start()[1:-1]},
            as_="maya",
        )
    else:
        said = await bot.say(
            f'/meeting create community --name "a\x00b" --start {_start()}', as_="maya"
        )
    assert said.text == CONTROL_REFUSAL
    assert "no meetings" in (await bot.say("/meeting list", as_="olu")).text.lower()


async def test_newlines_and_tabs_are_text(bot: Any) -> None:
    if bot.structured:
        pytest.skip("Discord's slash-command strings hold no newlines (its form does)")
    await bot.say("/announce --yes Line one\n\tLine two", as_="maya")
    assert "Line one\n\tLine two" in "\n".join(await _posted(bot))


# -- item 3: invisible and bidi characters --


@pytest.mark.parametrize("blank", ["\u200b\u200b", "\u2060\ufeff", "\u200d \u3164"])
async def test_invisible_only_text_is_refused(bot: Any, blank: str) -> None:
    said = await bot.say(f"/announce {blank} --yes", as_="maya")
    assert "has nothing visible in it" in said.text, said.text
    assert await _posted(bot) == []


async def test_bidi_overrides_are_removed(bot: Any) -> None:
    text = "Read \u202etxt.exe\u202c now \u2066ok\u2069"
    if bot.structured:
        await _options(bot, "announce post", {"text": text, "yes": True}, as_="maya")
        created = await _options(
            bot,
            "meeting create",
            {"meeting": "community", "name": "Com\u202emunity", "start": _start()[1:-1]},
            as_="maya",
        )
    else:
        await bot.say(f"/announce --yes {text}", as_="maya")
        created = await bot.say(
            f'/meeting create community --name "Com\u202emunity" --start {_start()}', as_="maya"
        )
    assert "Read txt.exe now ok" in await _posted(bot)
    assert "Created Community" in created.text, created.text
    assert "\u202e" not in (await bot.say("/meeting list", as_="olu")).text


async def test_emoji_with_joiners_are_kept(bot: Any) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    await bot.say(f"/announce --yes Welcome {family}", as_="maya")
    assert f"Welcome {family}" in await _posted(bot)


# -- item 4: --yes on every command --


async def test_yes_is_accepted_where_there_is_nothing_to_confirm(bot: Any) -> None:
    said = await bot.say(
        f"/meeting create community --name Community --start {_start()} --yes", as_="maya"
    )
    assert said.text.startswith("Created Community"), said.text
    assert "Community" in (await bot.say("/meeting next --yes", as_="olu")).text
    assert "has no option" not in (await bot.say("/survey list --yes", as_="olu")).text


# -- wording: a group's unknown or missing subcommand lists the subcommands --


async def test_a_subcommand_group_lists_its_subcommands(bot: Any) -> None:
    said = await bot.say("/meeting agenda", as_="olu")
    if bot.platform is not Platform.DISCORD:
        assert said.text == "/meeting agenda needs a subcommand: add, list, remove."
    else:
        assert "needs a subcommand: add, list, remove" in said.text


async def test_unknown_subcommands_are_named_alike_in_every_group(bot: Any) -> None:
    survey = await bot.say("/survey frob", as_="olu")
    meeting = await bot.say("/meeting frob", as_="olu")
    assert survey.text.startswith("/survey has no subcommand “frob”; use one of: add, close,")
    assert meeting.text.startswith("/meeting has no subcommand “frob”; use one of: agenda add,")
