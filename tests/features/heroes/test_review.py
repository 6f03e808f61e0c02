"""Reviewing and announcing: buttons, permission, races, and a hall that outlives accounts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from bot.core.plaintext import render
from bot.store.heroes import HeroHallEntry, HeroReview
from bot.store.models import Member
from tests.support.heroes_harness import console_ref, hero_bot

NOV_10 = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)


async def _decision(bot, name: str) -> str | None:  # type: ignore[no-untyped-def]
    async with bot.app.db.sessions() as session:
        return await session.scalar(
            select(HeroReview.decision)
            .join(Member, Member.id == HeroReview.nominee_id)
            .where(Member.platform_user_id == name)
        )


async def test_buttons_review_and_refresh_the_list(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @lin for the meetups", as_="olu")
        listing = await bot.reply("/hero nominations", as_="maya")
        labels = [b.label for b in listing.message.actions]
        assert labels == [
            "Shortlist ana", "Approve ana", "Reject ana",
            "Shortlist lin", "Approve lin", "Reject lin",
        ]  # fmt: skip
        approve_lin = listing.message.actions[4].action_id
        for button in listing.message.actions:
            refused = await bot.press(button.action_id, as_="olu")
            assert render(refused.message) == "Only maintainers can use that button."
            assert refused.outcome == "denied"
        assert await _decision(bot, "lin") is None

        pressed = await bot.press(approve_lin, as_="mo")
        assert pressed.replace
        text = render(pressed.message)
        assert text.startswith("Approved @lin for November 2026.")
        assert "@lin — 1 nominator — approved" in text
        assert await _decision(bot, "lin") == "approved"
        audit = await bot.say("/communitybot audit 3", as_="maya")
        assert "button hero approve: @lin for 2026-11" in audit

        # A forged or stale button changes nothing.
        assert "no longer does anything" in render(
            (await bot.press("hero:crown:2026-11:1", as_="mo")).message
        )
        assert "no longer known" in render(
            (await bot.press("hero:approve:2026-11:999", as_="mo")).message
        )


async def test_review_command(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        assert "Shortlisted @ana for November 2026." in await bot.say(
            "/hero review @ana shortlist", as_="maya"
        )
        assert "Rejected @ana" in await bot.say("/hero review @ana REJECT 2026-11", as_="maya")
        assert await _decision(bot, "ana") == "rejected"
        assert "raj has no nominations for November 2026" in await bot.say(
            "/hero review @raj approve", as_="maya"
        )
        assert "must be one of: shortlist, approve, reject" in await bot.say(
            "/hero review @ana crown", as_="maya"
        )
        assert "not a month" in await bot.say("/hero review @ana approve 2026-13", as_="maya")
        for command in (
            "/hero nominations",
            "/hero review @ana approve",
            "/hero announce @ana",
            "/hero announce @ana --yes",
        ):
            said = await bot.say(command, as_="olu")
            assert said.startswith("Only maintainers can use /hero"), (command, said)
        assert await _decision(bot, "ana") == "rejected"


async def test_announce_preview_then_confirm(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        preview = await bot.reply("/hero announce @ana", as_="maya")
        assert preview.outcome == "preview"
        text = render(preview.message)
        assert "announces the November 2026 Community Hero in 1 channel" in text
        assert "> for the docs — olu" in text
        await bot.run_due()
        assert not any("is @ana" in p for p in bot.channel_posts())
        confirm = next(b.action_id for b in preview.message.actions if "confirm" in b.action_id)
        done = await bot.press(confirm, as_="maya")
        assert "@ana is the November 2026 Community Hero" in render(done.message)
        await bot.run_due()
        assert (
            sum("Our Community Hero for November 2026 is @ana!" in p for p in bot.channel_posts())
            == 1
        )
        again = await bot.say("/hero announce @lin --yes", as_="maya")
        assert "already announced (ana)" in again and "--cycle 2026-12" in again
        assert "can no longer be reviewed" in await bot.say(
            "/hero review @ana approve 2026-11", as_="maya"
        )
        hall = await bot.say("/hero hall", as_="olu")
        # No message: nothing after the name (the reason is private to maintainers).
        assert "  • November 2026 — @ana" in hall.splitlines() and "for the docs" not in hall


async def test_two_maintainers_announcing_at_once_make_one_hero(any_db_url: str) -> None:
    async with hero_bot(any_db_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @lin for the meetups", as_="olu")
        replies = await asyncio.gather(
            bot.reply("/hero announce @ana --yes", as_="maya"),
            bot.reply("/hero announce @lin --yes", as_="mo"),
        )
        assert sorted(r.outcome for r in replies) == ["ok", "rejected"]
        async with bot.app.db.sessions() as session:
            assert await session.scalar(select(func.count(HeroHallEntry.id))) == 1
        await bot.run_due()
        assert sum("Our Community Hero" in p for p in bot.channel_posts()) == 1


async def test_the_hall_survives_renamed_and_deleted_accounts(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero announce @ana Thank you, Ana! --yes", as_="maya")
        await bot.say("/hero announce @raj --cycle 2026-10 --yes", as_="maya")
        async with bot.app.db.session() as session:
            await session.execute(
                update(Member).where(Member.platform_user_id == "ana").values(display_name="Anna")
            )
            await session.execute(delete(Member).where(Member.platform_user_id == "raj"))
        hall = await bot.say("/hero hall", as_="olu")
        assert hall.splitlines()[1:] == [
            "  • November 2026 — @ana: Thank you, Ana!",
            "  • October 2026 — raj",
        ]
        # The announcement renders from the snapshot, even for the deleted account.
        await bot.run_due()
        assert any("Our Community Hero for October 2026 is @raj!" in p for p in bot.channel_posts())


async def test_bots_and_far_future_cycles_cannot_have_heroes(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        said = await bot.say(
            "/hero announce", as_="maya", member=console_ref("helper", is_bot=True), yes=True
        )
        assert "Bots can't be Community Heroes" in said
        ahead = await bot.say("/hero announce @ana --cycle 2027-01 --yes", as_="maya")
        assert "too far ahead" in ahead
        assert "announces the December 2026 Community Hero" in (
            await bot.say("/hero announce @ana --cycle 2026-12", as_="maya")
        )
        assert "No Community Hero has been announced yet" in await bot.say("/hero hall")
