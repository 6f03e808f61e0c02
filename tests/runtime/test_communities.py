"""Which community an invocation, a button press, a start-up sync and a feed belong to.

With `[[communities]]` a Slack workspace, a Discord guild and the console each resolve to one
community (or to none, which is answered and changes nothing); the single `[community]` form
is one community, `default`, that every workspace and guild belongs to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.app import App
from bot.core.invocation import Actor, Invocation, Place, Platform, Press
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.features.meetings.background import next_wake
from bot.runtime.permissions import CONSOLE_MAINTAINER_ROLE
from bot.store.meetings import LONG_AGO, Meeting
from bot.store.members import ensure_community
from bot.store.models import Delivery, Member
from bot.store.schema import Base
from tests.conftest import make_settings
from tests.fakes.slack_api import SlackFake
from tests.scenarios.conftest import fake_resolver

TEAM = {"alpha": "T0ALPHA01", "beta": "T0BETA001"}
GUILD = {"alpha": "920000000000000001", "beta": "920000000000000002"}


def declared(name: str) -> dict[str, Any]:
    return {"id": "sync", "name": name, "start": "2031-01-06T09:00", "rrule": "FREQ=WEEKLY"}


TWO: dict[str, Any] = {
    "communities": [
        {
            "key": key,
            "name": f"{key.title()} Community",
            "slack": {
                "team_ids": [TEAM[key]],
                "maintainers": ["UMAYA"],
                "announce_channels": [f"CANN{key.upper()}"],
            },
            "discord": {"guild_ids": [int(GUILD[key])]},
            "meetings": [declared(f"{key.title()} Sync")],
        }
        for key in ("alpha", "beta")
    ]
}
ONE: dict[str, Any] = {
    "community": {"name": "Solo"},
    "slack": {"maintainers": ["UMAYA"]},
    "meetings": [declared("Solo Sync")],
}


@asynccontextmanager
async def started(db_url: str, config: dict[str, Any], http: bool = False) -> AsyncIterator[App]:
    app = App(
        make_settings(db_url, config, http_port=0),
        console_user="olu",
        http=http,
        timer=False,
        resolver=fake_resolver,
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def counts(app: App) -> dict[str, int]:
    out = {}
    async with app.db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            out[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return out


def text(reply: Reply) -> str:
    return render(reply.message)


def slack(team: str, user: str = "UOLU") -> tuple[Actor, Place]:
    return Actor(Platform.SLACK, user, user.lower()), Place(Platform.SLACK, "CGENERAL", team)


async def member_communities(app: App) -> dict[tuple[str, str], set[int]]:
    async with app.db.sessions() as session:
        rows = await session.execute(
            select(Member.platform, Member.platform_user_id, Member.community_id)
        )
        out: dict[tuple[str, str], set[int]] = {}
        for platform, user, community in rows.all():
            out.setdefault((platform, user), set()).add(community)
        return out


async def test_each_place_resolves_to_its_community(any_db_url: str) -> None:
    async with started(any_db_url, TWO) as app:
        assert app.services.communities is not None
        ids = {c.key: c.id for c in app.services.communities}
        for key in ("alpha", "beta"):
            actor, place = slack(TEAM[key])
            reply = await app.dispatcher.handle(
                Invocation("communitybot", actor, place, text="timezone Asia/Tokyo")
            )
            assert reply.outcome == "ok", reply
            discord_actor = Actor(Platform.DISCORD, "700", "olu")
            discord_place = Place(Platform.DISCORD, "1", GUILD[key])
            reply = await app.dispatcher.handle(
                Invocation("meeting", discord_actor, discord_place, text="next")
            )
            assert f"{key.title()} Sync" in text(reply), reply
        console = Actor(Platform.CONSOLE, "olu", "olu")
        reply = await app.dispatcher.handle(
            Invocation("meeting", console, Place(Platform.CONSOLE, "main"), text="next")
        )
        # The console is the first community's.
        assert "Alpha Sync" in text(reply) and "Beta" not in text(reply)
        members = await member_communities(app)
        assert members[("slack", "UOLU")] == {ids["alpha"], ids["beta"]}


async def test_a_place_of_no_community_is_told_so_and_nothing_changes(any_db_url: str) -> None:
    async with started(any_db_url, TWO) as app:
        before = await counts(app)
        actor, place = slack("T0NOBODY1", "UMAYA")
        reply = await app.dispatcher.handle(
            Invocation("meeting", actor, place, text='create demo --name "Demo" --start 2031-05-01')
        )
        assert text(reply) == ("This workspace is not part of any community this bot serves."), (
            reply
        )
        reply = await app.dispatcher.handle(
            Invocation(
                "meeting",
                Actor(Platform.DISCORD, "700", "olu"),
                Place(Platform.DISCORD, "1", "920000000000000999"),
                text="next",
            )
        )
        assert text(reply) == "This server is not part of any community this bot serves."
        dm = await app.dispatcher.handle(
            Invocation(
                "meeting",
                Actor(Platform.DISCORD, "700", "olu"),
                Place(Platform.DISCORD, "1", None, is_dm=True),
                text="next",
            )
        )
        assert "use its commands in your community's server" in text(dm), dm
        assert await counts(app) == before


async def test_a_confirmation_is_pressed_in_its_own_community_only(sqlite_url: str) -> None:
    async with started(sqlite_url, TWO) as app:
        actor, alpha = slack(TEAM["alpha"], "UMAYA")
        preview = await app.dispatcher.handle(
            Invocation("announce", actor, alpha, text="Alpha news")
        )
        assert preview.outcome == "preview", preview
        confirm = next(b.action_id for b in preview.message.actions if "confirm" in b.action_id)
        _, beta = slack(TEAM["beta"], "UMAYA")
        before = await counts(app)
        elsewhere = await app.dispatcher.press(Press(confirm, actor, beta))
        assert "expired or was already used" in text(elsewhere), elsewhere
        assert await counts(app) == before
        done = await app.dispatcher.press(Press(confirm, actor, alpha))
        assert "on its way" in text(done), done


async def hero_posts(app: App) -> dict[int, list[tuple[str, str, str]]]:
    """Each community's Hero calendar posts: (kind, cycle, target), in order."""
    async with app.db.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.community_id, Delivery.kind, Delivery.occurrence, Delivery.target)
                .where(Delivery.subject == "heroes")
                .order_by(Delivery.id)
            )
        ).all()
    found: dict[int, list[tuple[str, str, str]]] = {}
    for community_id, kind, cycle, target in rows:
        found.setdefault(community_id, []).append((kind, cycle, target))
    return found


async def test_a_community_added_to_the_config_gets_hero_posts_of_its_own(
    any_db_url: str,
) -> None:
    # alpha's posts exist when beta joins the config: they never count as beta's.
    async with SlackFake(bot_token="xoxb-heroes") as fake:
        env = {
            "slack_bot_token": "xoxb-heroes",
            "slack_signing_secret": fake.signing_secret,
            "slack_api_url": fake.api_url,
        }
        alpha_only = {"communities": TWO["communities"][:1]}
        for config in (alpha_only, TWO, TWO):  # the second start with TWO plans nothing new
            app = App(
                make_settings(any_db_url, config, **env),
                http=False,
                timer=False,
                resolver=fake_resolver,
            )
            await app.start()
            try:
                assert app.services.communities is not None
                ids = {c.key: c.id for c in app.services.communities}
                posts = await hero_posts(app)
            finally:
                await app.stop()
        assert sorted(posts) == sorted(ids.values())
        for key, community_id in ids.items():
            assert {"hero_open", "hero_closing"} <= {kind for kind, *_ in posts[community_id]}
            assert {t for *_, t in posts[community_id]} == {f"slack:channel:CANN{key.upper()}"}
        assert len(posts[ids["alpha"]]) == len(posts[ids["beta"]])


async def test_two_communities_sharing_a_channel_each_get_their_posts(any_db_url: str) -> None:
    # A Slack Connect channel seen by the workspaces of both communities: the Heroes'
    # calendar posts (subject "heroes", the same cycle) are two deliveries, one per community,
    # and neither is taken for the other's (migration 0012).
    shared = {
        "communities": [
            {
                **entry,
                "slack": {**entry["slack"], "announce_channels": ["CSHARED01"]},
            }
            for entry in TWO["communities"]
        ]
    }
    async with SlackFake(bot_token="xoxb-shared") as fake:
        app = App(
            make_settings(
                any_db_url,
                shared,
                slack_bot_token="xoxb-shared",
                slack_signing_secret=fake.signing_secret,
                slack_api_url=fake.api_url,
            ),
            http=False,
            timer=False,
            resolver=fake_resolver,
        )
        await app.start()
        try:
            assert app.services.communities is not None
            ids = {c.key: c.id for c in app.services.communities}
            posts = await hero_posts(app)
        finally:
            await app.stop()
    assert posts[ids["alpha"]] == posts[ids["beta"]]
    assert {t for *_, t in posts[ids["alpha"]]} == {"slack:channel:CSHARED01"}
    assert {"hero_open", "hero_closing"} <= {kind for kind, *_ in posts[ids["beta"]]}


async def test_one_planning_pass_plans_each_meeting_for_its_own_community(
    any_db_url: str,
) -> None:
    # Start plans every community's meetings in one catch-up: each meeting's reminders go
    # to its own community's channel, and the next wake-up looks at served communities only.
    async with SlackFake(bot_token="xoxb-plans") as fake:
        settings = make_settings(
            any_db_url,
            TWO,
            slack_bot_token="xoxb-plans",
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
        )
        app = App(settings, http=False, timer=False, resolver=fake_resolver)
        await app.start()
        try:
            assert app.services.communities is not None
            ids = {c.key: c.id for c in app.services.communities}
            async with app.db.sessions() as session:
                targets = (
                    await session.execute(
                        select(Delivery.community_id, Delivery.target)
                        .where(Delivery.kind == "meeting_reminder")
                        .distinct()
                    )
                ).all()
                stray = await session.scalar(select(Meeting).order_by(Meeting.id).limit(1))
            served = await next_wake(app.services.views())
            assert stray is not None
            # A meeting of a community this process does not serve, long overdue.
            async with app.db.session() as session:
                now = datetime.now(UTC)
                other = await ensure_community(session, "Other", "UTC", now, key="other")
                copied = ("key", "name", "rrule", "local_start", "timezone", "duration_minutes")
                session.add(
                    Meeting(
                        **{c: getattr(stray, c) for c in copied},
                        community_id=other.id,
                        source=stray.source,
                        state=stray.state,
                        reminders=stray.reminders,
                        sequence=0,
                        created_at=now,
                        updated_at=now,
                        plan_at=LONG_AGO,
                        next_stale_at=LONG_AGO,
                    )
                )
            assert await next_wake(app.services.views()) == served
        finally:
            await app.stop()
    assert sorted(targets) == [
        (ids["alpha"], "slack:channel:CANNALPHA"),
        (ids["beta"], "slack:channel:CANNBETA"),
    ]
    assert served is not None and served > LONG_AGO


async def test_start_up_syncs_each_community_and_the_single_form_is_default(
    any_db_url: str,
) -> None:
    async with started(any_db_url, TWO) as app:
        async with app.db.sessions() as session:
            rows = (
                await session.execute(select(Meeting.community_id, Meeting.key, Meeting.name))
            ).all()
        assert app.services.communities is not None
        ids = {c.key: c.id for c in app.services.communities}
        assert sorted(rows) == sorted(
            [(ids["alpha"], "sync", "Alpha Sync"), (ids["beta"], "sync", "Beta Sync")]
        )
    # The single form: any workspace and any guild belong to its one community, `default`.
    async with started(any_db_url.replace("bot.db", "solo.db"), ONE) as solo:
        assert solo.services.communities is not None
        (community,) = solo.services.communities
        assert community.key == "default" and not community.mapped
        for place in (
            Place(Platform.SLACK, "C1", "T0ANYTEAM1"),
            Place(Platform.DISCORD, "1", "123"),
            Place(Platform.DISCORD, "1", None, is_dm=True),
        ):
            actor = Actor(place.platform, "UOLU" if place.platform is Platform.SLACK else "7", "o")
            reply = await solo.dispatcher.handle(Invocation("meeting", actor, place, text="next"))
            assert "Solo Sync" in text(reply), (place, reply)


async def test_each_community_has_its_own_calendar_feed(sqlite_url: str) -> None:
    async with started(sqlite_url, TWO, http=True) as app:
        base = f"http://127.0.0.1:{app.http_port}"
        async with aiohttp.ClientSession() as http:
            for key, other in (("alpha", "Beta"), ("beta", "Alpha")):
                async with http.get(f"{base}/c/{key}/calendar.ics") as resp:
                    body = await resp.text()
                    assert resp.status == 200
                assert f"SUMMARY:{key.title()} Sync" in body and f"{other} Sync" not in body
                assert f"{key.title()} Community" in body
            async with http.get(f"{base}/calendar.ics") as resp:
                assert resp.status == 404
                assert "/c/<key>/calendar.ics" in await resp.text()
            async with http.get(f"{base}/c/gamma/calendar.ics") as resp:
                assert resp.status == 404


async def test_one_community_keeps_its_unprefixed_feed(sqlite_url: str) -> None:
    async with started(sqlite_url, ONE, http=True) as app:
        base = f"http://127.0.0.1:{app.http_port}"
        async with aiohttp.ClientSession() as http:
            for path in ("/calendar.ics", "/c/default/calendar.ics"):
                async with http.get(base + path) as resp:
                    assert resp.status == 200, path
                    assert "SUMMARY:Solo Sync" in await resp.text()


async def test_maintainers_are_the_communitys_own(sqlite_url: str) -> None:
    config = {
        "communities": [
            {"key": "alpha", "slack": {"team_ids": [TEAM["alpha"]], "maintainers": ["UMAYA"]}},
            {"key": "beta", "slack": {"team_ids": [TEAM["beta"]], "maintainers": ["UMO"]}},
        ]
    }
    async with started(sqlite_url, config) as app:
        text = 'create demo --name "Demo" --start "2031-05-01 09:00 UTC"'
        maya, beta = slack(TEAM["beta"], "UMAYA")
        refused = await app.dispatcher.handle(Invocation("meeting", maya, beta, text=text))
        assert refused.outcome == "denied", refused
        mo, _ = slack(TEAM["beta"], "UMO")
        assert (
            await app.dispatcher.handle(Invocation("meeting", mo, beta, text=text))
        ).outcome == "ok"
        # The console maintainer is a maintainer of the console's community.
        console = Actor(Platform.CONSOLE, "olu", "olu", frozenset({CONSOLE_MAINTAINER_ROLE}))
        reply = await app.dispatcher.handle(
            Invocation("meeting", console, Place(Platform.CONSOLE, "main"), text=text)
        )
        assert reply.outcome == "ok", reply
