"""Foundation scenarios, the same on every adapter."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import ECHO_POSTS


async def test_help_lists_every_command(bot) -> None:
    said = await bot.say("/communitybot help", as_="olu")
    for name in ("help", "timezone", "audit"):
        assert f"communitybot {name}" in said.text
    assert "Example:" in said.text
    assert not said.public


async def test_unknown_subcommand(bot) -> None:
    if bot.structured:
        pytest.skip("Discord cannot deliver a subcommand that was never registered")
    said = await bot.say("/communitybot frobnicate", as_="olu")
    assert "no subcommand “frobnicate”" in said.text
    assert "help" in said.text


async def test_bad_time_zone_is_refused_and_changes_nothing(bot) -> None:
    said = await bot.say("/communitybot timezone Mars/Olympus", as_="olu")
    assert "not an IANA time zone" in said.text
    said = await bot.say("/communitybot timezone", as_="olu")
    assert "have not set a time zone" in said.text


async def test_time_zone_is_kept_per_member(bot) -> None:
    said = await bot.say("/communitybot timezone Europe/Berlin", as_="olu")
    assert "Europe/Berlin" in said.text
    assert "Europe/Berlin" in (await bot.say("/communitybot timezone", as_="olu")).text
    assert "have not set" in (await bot.say("/communitybot timezone", as_="ana")).text


async def test_audit_is_refused_to_a_member(bot) -> None:
    said = await bot.say("/communitybot audit", as_="olu")
    assert said.text.startswith("Only maintainers can use")
    assert "audit" in said.text


async def test_missing_argument_names_it(bot) -> None:
    said = await bot.say("/testing echo", as_="maya")
    assert "needs <text>" in said.text
    assert ECHO_POSTS == []


async def test_confirmation_accepted(bot) -> None:
    preview = await bot.say("/testing echo hello world", as_="maya")
    assert "This would echo" in preview.text and "hello world" in preview.text
    assert ECHO_POSTS == []
    done = await bot.press(preview, "confirm", as_="maya")
    assert "Echoed: hello world" in done.text
    assert ECHO_POSTS == ["hello world"]
    again = await bot.press(preview, "confirm", as_="maya")
    assert ECHO_POSTS == ["hello world"], again.text
    audit = await bot.say("/communitybot audit 5", as_="maya")
    assert "testing echo" in audit.text and "hello world" in audit.text


async def test_confirmation_cancelled(bot) -> None:
    preview = await bot.say("/testing echo not this", as_="maya")
    done = await bot.press(preview, "cancel", as_="maya")
    assert "Cancelled" in done.text
    late = await bot.press(preview, "confirm", as_="maya")
    assert "expired or was already used" in late.text
    assert ECHO_POSTS == []


async def test_confirmation_pressed_by_someone_else(bot) -> None:
    preview = await bot.say("/testing echo mine", as_="maya")
    other = await bot.press(preview, "confirm", as_="olu")
    assert "Only the person who asked" in other.text
    also_maintainer = await bot.press(preview, "confirm", as_="mo")
    assert "Only the person who asked" in also_maintainer.text
    assert ECHO_POSTS == []
    done = await bot.press(preview, "confirm", as_="maya")
    assert ECHO_POSTS == ["mine"], done.text


async def test_yes_skips_the_confirmation(bot) -> None:
    said = await bot.say("/testing echo --yes quick", as_="maya")
    assert "Echoed: quick" in said.text
    assert ECHO_POSTS == ["quick"]


async def test_non_maintainer_cannot_run_a_maintainer_command(bot) -> None:
    said = await bot.say("/testing echo --yes sneaky", as_="olu")
    assert said.text.startswith("Only maintainers can use")
    assert ECHO_POSTS == []
