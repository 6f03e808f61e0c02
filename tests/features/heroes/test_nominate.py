"""`/hero nominate`: the rules, and many identical nominations at once on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.adapters.console import PLACE
from bot.core.invocation import Invocation
from bot.core.plaintext import render
from bot.store.heroes import HeroNomination
from bot.store.models import Member
from tests.support.heroes_harness import CONFIG, actor, console_ref, hero_bot

NOV_10 = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)


async def test_fifty_identical_nominations_at_once_leave_one_row(any_db_url: str) -> None:
    async with hero_bot(any_db_url, NOV_10) as bot:
        inv = Invocation("hero", actor("raj"), PLACE, text="nominate @olu for running the meetups")
        replies = await asyncio.gather(*(bot.app.dispatcher.handle(inv) for _ in range(50)))
        texts = [render(r.message) for r in replies]
        assert [r.outcome for r in replies] == ["ok"] * 50, texts
        for text in texts:
            assert "November 2026" in text
            assert "locked" not in text and "Sorry" not in text
        assert sum("is in" in t for t in texts) >= 1
        assert await bot.nomination_count() == 1
        async with bot.app.db.sessions() as session:
            members = await session.scalar(select(func.count(Member.id)))
        assert members == 2  # raj and olu, once each


async def test_fifty_different_nominators_at_once(any_db_url: str) -> None:
    async with hero_bot(any_db_url, NOV_10) as bot:
        replies = await asyncio.gather(
            *(
                bot.app.dispatcher.handle(
                    Invocation("hero", actor(f"m{i}"), PLACE, text="nominate @olu thank you!")
                )
                for i in range(50)
            )
        )
        assert {r.outcome for r in replies} == {"ok"}
        assert await bot.nomination_count() == 50
        listing = await bot.say("/hero nominations", as_="maya")
        assert "@olu — 50 nominators" in listing


async def test_nominating_again_replaces_the_reason(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        first = await bot.say("/hero nominate @ana for the docs", as_="olu")
        assert "Your nomination of @ana for the November 2026 Community Hero is in" in first
        again = await bot.say("/hero nominate @ana for the docs and the release", as_="olu")
        assert "I replaced your reason" in again
        assert await bot.nomination_count() == 1
        listing = await bot.say("/hero nominations", as_="maya")
        assert "for the docs and the release — olu" in listing
        assert "for the docs — olu" not in listing


async def test_refusals_change_nothing(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        assert "can't nominate yourself" in await bot.say("/hero nominate @olu me!", as_="olu")
        assert "needs <reason>" in await bot.say("/hero nominate @ana", as_="olu")
        long = await bot.say(f"/hero nominate @ana {'x' * 501}", as_="olu")
        assert "501 characters long; the limit is 500" in long
        bot_said = await bot.say(
            "/hero nominate", as_="olu", member=console_ref("helper", is_bot=True), reason="beep"
        )
        assert "Bots can't be Community Heroes" in bot_said
        assert "write their name as @name" in await bot.say("/hero nominate ana hi", as_="olu")
        assert await bot.nomination_count() == 0


async def test_the_confirmation_is_private_and_names_the_cycle(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        reply = await bot.reply("/hero nominate @ana --anonymous quietly fixes CI", as_="raj")
        assert not reply.public
        text = render(reply.message)
        assert "November 2026" in text and "anonymous" in text
        await bot.run_due()
        assert not any("quietly fixes CI" in p for p in bot.channel_posts())
        listing = await bot.say("/hero nominations", as_="maya")
        assert "quietly fixes CI — anonymous" in listing
        assert "raj" not in listing


async def test_after_the_hero_is_announced_nominations_count_toward_the_next_cycle(
    sqlite_url: str,
) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        done = await bot.say("/hero announce @ana --yes", as_="maya")
        assert "@ana is the November 2026 Community Hero" in done
        assert "New nominations now count toward December 2026" in done
        later = await bot.say("/hero nominate @lin for the meetup", as_="olu")
        assert "for the December 2026 Community Hero is in" in later
        assert "The November 2026 Hero has already been announced" in later
        # The maintainers' default view follows the nominations.
        assert "for the meetup" in await bot.say("/hero nominations", as_="maya")
        november = await bot.say("/hero nominations 2026-11", as_="maya")
        assert "for the docs" in november and "The Hero was announced: ana" in november
        # On 1 December (Los Angeles) the December cycle is simply the current one.
        bot.clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        plain = await bot.say("/hero nominate @raj for reviews", as_="olu")
        assert "December 2026 Community Hero is in" in plain
        assert "already been announced" not in plain


async def test_a_window_closes_nominations_until_the_next_cycle(sqlite_url: str) -> None:
    config = {**CONFIG, "heroes": {"period": "monthly", "window_days": 7}}
    async with hero_bot(sqlite_url, NOV_10, config) as bot:
        said = await bot.say("/hero nominate @ana for the docs", as_="olu")
        assert "closed on Sun 8 Nov 2026, 00:00 PST" in said
        assert "December 2026 open on Tue 1 Dec 2026, 00:00 PST" in said
        assert await bot.nomination_count() == 0
        bot.clock.now = datetime(2026, 12, 3, tzinfo=UTC)
        assert "is in" in await bot.say("/hero nominate @ana for the docs", as_="olu")


async def test_nominations_are_rate_limited_per_member(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        for i in range(10):
            assert "is in" in await bot.say(f"/hero nominate @p{i} thanks", as_="olu")
        refused = await bot.say("/hero nominate @p10 thanks", as_="olu")
        assert "the most I take" in refused
        # Replacing an earlier reason is not a new nomination, and others are not limited.
        assert "replaced" in await bot.say("/hero nominate @p3 thanks again", as_="olu")
        assert "is in" in await bot.say("/hero nominate @p10 thanks", as_="raj")
        bot.clock.now = NOV_10 + timedelta(hours=1, minutes=1)
        assert "is in" in await bot.say("/hero nominate @p10 thanks", as_="olu")
        async with bot.app.db.sessions() as session:
            rows = await session.scalar(select(func.count(HeroNomination.id)))
        assert rows == 12
