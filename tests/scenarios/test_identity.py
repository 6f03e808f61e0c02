"""Linked accounts on every adapter: codes, refusals, the rate limit, whoami, unlink, forget."""

from __future__ import annotations

import re

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")


async def _code(bot, as_: str) -> str:
    said = await bot.say("/communitybot link", as_=as_)
    assert not said.public
    [code] = set(CODE.findall(said.text))
    return code


async def test_two_accounts_become_one_person(bot) -> None:
    code = await _code(bot, "olu")
    own = await bot.say(f"/communitybot link {code}", as_="olu")
    assert "made by this account" in own.text, own.text
    await bot.say("/communitybot timezone Europe/Berlin", as_="ana")
    linked = await bot.say(f"/communitybot link {code}", as_="ana")
    assert "Linked" in linked.text and "olu" in linked.text, linked.text
    again = await bot.say(f"/communitybot link {code}", as_="raj")
    assert "unknown, expired or already used" in again.text, again.text

    whoami = await bot.say("/communitybot whoami", as_="olu")
    assert "2 accounts" in whoami.text and "ana" in whoami.text, whoami.text
    # ana's zone was the one set (most recently): it now holds for olu too.
    assert "Europe/Berlin" in whoami.text, whoami.text
    assert "Europe/Berlin" in (await bot.say("/communitybot timezone", as_="olu")).text
    await bot.say("/communitybot timezone Asia/Tokyo", as_="olu")
    assert "Asia/Tokyo" in (await bot.say("/communitybot timezone", as_="ana")).text

    # The account that made the code is told by direct message.
    assert await bot.run_due() >= 1

    unlinked = await bot.say("/communitybot unlink", as_="ana")
    assert "Unlinked" in unlinked.text, unlinked.text
    assert "1 account:" in (await bot.say("/communitybot whoami", as_="ana")).text
    assert "not set" in (await bot.say("/communitybot whoami", as_="ana")).text
    assert "Asia/Tokyo" in (await bot.say("/communitybot whoami", as_="olu")).text
    alone = await bot.say("/communitybot unlink", as_="ana")
    assert "not linked to any other account" in alone.text


async def test_wrong_codes_are_rate_limited(bot) -> None:
    code = await _code(bot, "olu")
    for _ in range(5):
        wrong = await bot.say("/communitybot link ZZZZ-9999", as_="ana")
        assert "unknown, expired or already used" in wrong.text, wrong.text
    blocked = await bot.say(f"/communitybot link {code}", as_="ana")
    assert "Too many wrong codes" in blocked.text, blocked.text
    # Nothing was linked, and the code still works for someone not rate-limited.
    assert "1 account:" in (await bot.say("/communitybot whoami", as_="olu")).text
    assert "Linked" in (await bot.say(f"/communitybot link {code}", as_="raj")).text


async def test_an_account_linked_elsewhere_must_unlink_first(bot) -> None:
    first = await _code(bot, "olu")
    assert "Linked" in (await bot.say(f"/communitybot link {first}", as_="ana")).text
    second = await _code(bot, "raj")
    refused = await bot.say(f"/communitybot link {second}", as_="ana")
    assert "unlink it first" in refused.text, refused.text
    assert "1 account:" in (await bot.say("/communitybot whoami", as_="raj")).text


async def test_forget_asks_first_then_deletes(bot) -> None:
    await bot.say("/communitybot timezone Europe/Berlin", as_="olu")
    code = await _code(bot, "olu")
    await bot.say(f"/communitybot link {code}", as_="ana")
    preview = await bot.say("/communitybot forget", as_="ana")
    assert "cannot be undone" in preview.text and "olu" in preview.text, preview.text
    done = await bot.press(preview, "Confirm", as_="ana")
    assert "deleted everything" in done.text and "2 accounts" in done.text, done.text
    fresh = await bot.say("/communitybot whoami", as_="olu")
    assert "1 account:" in fresh.text and "not set" in fresh.text, fresh.text
    again = await bot.say("/communitybot forget --yes", as_="olu")
    assert "deleted everything" in again.text


async def test_nominating_oneself_through_a_linked_account_is_refused(bot) -> None:
    code = await _code(bot, "olu")
    await bot.say(f"/communitybot link {code}", as_="ana")
    refused = await bot.say("/hero nominate @olu my own great work", as_="ana")
    assert "can't nominate yourself" in refused.text, refused.text
    await bot.say("/hero nominate @raj great docs", as_="olu")
    await bot.say("/hero nominate @raj great docs too", as_="ana")
    listed = await bot.say("/hero nominations", as_="maya")
    assert "1 nominator" in listed.text, listed.text  # one person, counted once


async def test_maintainer_rights_stay_with_the_account(bot) -> None:
    code = await _code(bot, "maya")
    assert "Linked" in (await bot.say(f"/communitybot link {code}", as_="olu")).text
    denied = await bot.say("/communitybot audit", as_="olu")
    assert denied.text.startswith("Only maintainers can use"), denied.text
    assert "Only maintainers" not in (await bot.say("/communitybot audit", as_="maya")).text
