"""The Hero calendar: open, closing and closed posts, planned idempotently, sent by run_due."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.invocation import Platform
from bot.features.heroes.cycles import parse_cycle
from bot.features.heroes.schedule import planned_for
from bot.runtime.services import Services
from bot.store.models import DeliveryState
from tests.conftest import make_settings
from tests.scenarios.driver import SCENARIO_CONFIG
from tests.support.heroes_harness import hero_bot

NOV_10 = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
NOV_28 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # 28 Nov 00:00 PST: three days before close
DEC_1 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 1 Dec 00:00 PST


def _keys(rows) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(r.kind, r.occurrence, r.target) for r in rows}


async def test_start_plans_this_cycle_and_the_next_once(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        rows = await bot.deliveries()
        expected = {
            (kind, cycle, "console:channel:main")
            for kind in ("hero_open", "hero_closing", "hero_closed")
            for cycle in ("2026-11", "2026-12")
        }
        assert _keys(r for r in rows if r.kind.startswith("hero_")) == expected
        due = {(r.kind, r.occurrence): r.due_at for r in rows}
        assert due[("hero_open", "2026-11")] == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
        assert due[("hero_closing", "2026-11")] == NOV_28
        assert due[("hero_closed", "2026-11")] == DEC_1
        # Every command plans again; nothing is duplicated.
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominations", as_="maya")
        assert len(await bot.deliveries()) == len(rows)


async def test_the_calendar_posts_in_order(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.run_due()
        assert len(bot.channel_posts()) == 1
        assert (
            "Nominations for the November 2026 Community Hero are open until"
            in bot.channel_posts()[0]
        )
        assert "/hero nominate @name <why>" in bot.channel_posts()[0]

        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @ana --anonymous she is kind", as_="raj")
        await bot.say("/hero nominate @lin for the meetups", as_="olu")
        await bot.say("/hero review @lin shortlist", as_="maya")

        await bot.run_due(NOV_28)
        assert "close in 3 days" in bot.channel_posts()[-1]

        await bot.run_due(DEC_1)
        closed = [p for p in bot.channel_posts() if "have closed" in p]
        assert closed == [
            "Nominations for the November 2026 Community Hero have closed: 3 nominations of "
            "2 members, 1 waiting for review. See `/hero nominations 2026-11`."
        ]
        # Due at the same instant, the two are sent concurrently, in either order.
        assert any("December 2026 Community Hero are open" in p for p in bot.channel_posts()[-2:])
        # December's opening post planned January.
        assert ("hero_open", "2027-01", "console:channel:main") in _keys(await bot.deliveries())
        sent = len(bot.channel_posts())
        await bot.run_due(DEC_1)
        assert len(bot.channel_posts()) == sent


async def test_announcing_early_drops_the_closing_posts(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.say("/hero nominate @ana for the docs", as_="olu")
        await bot.say("/hero nominate @ana --anonymous she is kind", as_="raj")
        await bot.say("/hero announce @ana Thank you, Ana! --yes", as_="maya")
        await bot.run_due()
        assert bot.channel_posts() == [
            "Community Hero — November 2026\n"
            "Our Community Hero for November 2026 is @ana!\n"
            "> Thank you, Ana!\n"
            "What people said in their nominations:\n"
            "> for the docs — olu\n"
            "Thank you! Who is your Community Hero? Nominate them with "
            "`/hero nominate @name <why>`."
        ]
        await bot.run_due(NOV_28)
        await bot.run_due(DEC_1)
        assert not any("close" in p for p in bot.channel_posts())
        states = {(r.kind, r.occurrence): r.state for r in await bot.deliveries()}
        assert states[("hero_open", "2026-11")] == DeliveryState.SKIPPED
        assert states[("hero_closing", "2026-11")] == DeliveryState.SKIPPED
        assert states[("hero_closed", "2026-11")] == DeliveryState.SKIPPED
        assert states[("hero_open", "2026-12")] == DeliveryState.SENT


async def test_a_closing_reminder_more_than_a_day_late_is_dropped(sqlite_url: str) -> None:
    async with hero_bot(sqlite_url, NOV_10) as bot:
        await bot.run_due()
        await bot.run_due(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
        assert not any("close in" in p for p in bot.channel_posts())


def test_posts_reach_every_platform_and_the_maintainer_channels() -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        SCENARIO_CONFIG,
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        discord_token="token",
    )
    services = Services(
        settings,
        None,
        None,
        None,
        1,
        frozenset({Platform.SLACK, Platform.DISCORD}),  # type: ignore[arg-type]
    )
    planned = planned_for(services, parse_cycle("2026-11", "America/Los_Angeles", "monthly"))
    by_kind: dict[str, set[str]] = {}
    for p in planned:
        by_kind.setdefault(p.kind, set()).add(str(p.target))
    assert (
        by_kind["hero_open"]
        == by_kind["hero_closing"]
        == {
            "slack:channel:CANNOUNCE",
            "discord:channel:910000000000000001",
        }
    )
    assert by_kind["hero_closed"] == {
        "slack:channel:CMAINTS",
        "discord:channel:910000000000000002",
    }
