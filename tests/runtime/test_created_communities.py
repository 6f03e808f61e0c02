"""Communities created at run time: `joined` and `left`, kept in the database, seen by
another replica, isolated from the config's communities, and their deliveries stopped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.core.targets import Target, TargetKind
from bot.runtime.communities import UNSERVED
from bot.runtime.feature import Feature, Setup
from bot.runtime.services import Services
from bot.scheduling.deliveries import NOTICE_KIND, Planned, enqueue
from bot.store.models import Community as CommunityRow
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings
from tests.scenarios.conftest import fake_resolver
from tests.support.clock import Clock

TEAM, OTHER_TEAM = "T0ALPHA01", "T0NEW0001"
GUILD = "930000000000000009"

OPEN: dict[str, Any] = {
    "deployment": {"open_installs": True},
    "communities": [
        {
            "key": "alpha",
            "name": "Alpha",
            "slack": {"team_ids": [TEAM], "maintainers": ["UMAYA"]},
        }
    ],
}
CLOSED: dict[str, Any] = {"communities": OPEN["communities"]}


@asynccontextmanager
async def started(db_url: str, config: dict[str, Any], clock: Clock) -> AsyncIterator[App]:
    app = App(
        make_settings(db_url, config, http_port=0),
        http=False,
        timer=False,
        resolver=fake_resolver,
        clock=clock,
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def text(reply: Reply) -> str:
    return render(reply.message)


def on_slack(team: str, user: str) -> tuple[Actor, Place]:
    return Actor(Platform.SLACK, user, user.lower()), Place(Platform.SLACK, "CGENERAL", team)


async def command(app: App, team: str, user: str, line: str, group: str = "communitybot") -> Reply:
    actor, place = on_slack(team, user)
    return await app.dispatcher.handle(Invocation(group, actor, place, text=line))


async def test_an_install_creates_a_community_of_its_own(any_db_url: str, clock: Clock) -> None:
    async with started(any_db_url, OPEN, clock) as app:
        communities = app.services.communities
        assert communities is not None
        made = await communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer="UINSTALLER"
        )
        assert made is not None and made.created
        assert made.key == "slack-t0new0001"
        assert made.settings.community.name == "Newcomers"
        assert made.settings.community.timezone == "UTC"
        assert made.settings.slack.maintainers == ["UINSTALLER"]
        assert made.settings.file.section("web").public_page is False
        # Its installer is its maintainer; a maintainer of another community is not.
        assert (await command(app, OTHER_TEAM, "UINSTALLER", "audit")).outcome == "ok"
        refused = await command(app, OTHER_TEAM, "UMAYA", "audit")
        assert refused.outcome == "denied", refused
        # The config's workspace is still the config's community.
        alpha = await communities.joined(Platform.SLACK, TEAM, name="x", maintainer="UOTHER")
        assert alpha is not None and alpha.key == "alpha" and not alpha.created
        # Joining again (a re-install) is the same community.
        again = await communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer=None
        )
        assert again is not None and again.id == made.id


async def test_without_open_installs_nothing_is_created(any_db_url: str, clock: Clock) -> None:
    async with started(any_db_url, CLOSED, clock) as app:
        communities = app.services.communities
        assert communities is not None
        new = await communities.joined(Platform.SLACK, OTHER_TEAM, name="N", maintainer="U0NEWBIE")
        assert new is None
        assert await communities.joined(Platform.DISCORD, GUILD, name="G", maintainer=None) is None
        reply = await command(app, OTHER_TEAM, "U0NEWBIE", "help")
        assert "not part of any community" in text(reply)
        async with app.db.sessions() as session:
            keys = (await session.scalars(select(CommunityRow.key))).all()
        assert keys == ["alpha"]


async def test_another_replica_sees_an_install_and_a_leave(any_db_url: str, clock: Clock) -> None:
    async with (
        started(any_db_url, OPEN, clock) as first,
        started(any_db_url, OPEN, clock) as second,
    ):
        assert first.services.communities is not None and second.services.communities is not None
        await first.services.communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer="UINSTALLER"
        )
        # The second replica never heard of it: the first command from there loads it.
        reply = await command(second, OTHER_TEAM, "UINSTALLER", "audit")
        assert reply.outcome == "ok", text(reply)
        await first.services.communities.left(Platform.SLACK, OTHER_TEAM)
        await second.refresh_communities()
        reply = await command(second, OTHER_TEAM, "UINSTALLER", "audit")
        assert "not part of any community" in text(reply)


async def test_another_replicas_install_has_its_home_tab_at_once(
    any_db_url: str, clock: Clock
) -> None:
    from bot.adapters.slack.home import home_message

    async with (
        started(any_db_url, OPEN, clock) as first,
        started(any_db_url, OPEN, clock) as second,
    ):
        assert first.services.communities is not None
        await first.services.communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer="UINSTALLER"
        )
        # Opening the Home tab is the first thing the second replica hears of the workspace.
        actor, _ = on_slack(OTHER_TEAM, "UINSTALLER")
        home, _zone = await home_message(second.services, second.dispatcher, actor, OTHER_TEAM)
        assert render(home).startswith("Newcomers"), render(home)


async def test_a_restart_keeps_created_communities(any_db_url: str, clock: Clock) -> None:
    async with started(any_db_url, OPEN, clock) as app:
        assert app.services.communities is not None
        await app.services.communities.joined(
            Platform.DISCORD, GUILD, name="Guild", maintainer=None
        )
    async with started(any_db_url, OPEN, clock) as app:
        assert app.services.communities is not None
        keys = {c.key for c in app.services.communities}
        assert keys == {"alpha", f"discord-{GUILD}"}
        found = app.services.communities.for_place(Place(Platform.DISCORD, "1", GUILD))
        assert found is not None and found.settings.discord.manage_server_maintainers


async def _pending(app: App, community_id: int, channel: str, platform: Platform) -> None:
    """A notice due in an hour: a delivery still waiting when the bot is removed."""
    target = Target(platform, TargetKind.CHANNEL, channel)
    now = app.clock()
    planned = Planned(NOTICE_KIND, "s", "o", target, now + timedelta(hours=1), {"text": "hi"})
    async with app.db.session() as session:
        await enqueue(session, community_id, [planned], now)


async def test_leaving_fails_pending_deliveries_with_the_reason(
    any_db_url: str, clock: Clock
) -> None:
    async with started(any_db_url, OPEN, clock) as app:
        communities = app.services.communities
        assert communities is not None
        made = await communities.joined(Platform.SLACK, OTHER_TEAM, name="N", maintainer="U0NEWBIE")
        alpha = communities.by_key("alpha")
        assert made is not None and alpha is not None
        await _pending(app, made.id, "CNEWS", Platform.SLACK)
        await _pending(app, alpha.id, "CALPHA", Platform.SLACK)
        gone = await communities.left(Platform.SLACK, OTHER_TEAM)
        assert gone is not None and not gone.active
        async with app.db.sessions() as session:
            rows = {r.community_id: r for r in await session.scalars(select(Delivery))}
        assert rows[made.id].state == DeliveryState.FAILED
        assert rows[made.id].last_error == "not sent: the bot was removed from this workspace"
        # Another community's deliveries are untouched.
        assert rows[alpha.id].state == DeliveryState.PENDING
        assert communities.sends_stopped(made.id, Platform.SLACK) is not None
        assert communities.sends_stopped(alpha.id, Platform.SLACK) is None


async def test_a_config_community_left_stops_its_sends_until_it_is_back(
    any_db_url: str, clock: Clock
) -> None:
    async with started(any_db_url, OPEN, clock) as app:
        communities = app.services.communities
        assert communities is not None
        alpha = communities.by_key("alpha")
        assert alpha is not None
        await _pending(app, alpha.id, "CALPHA", Platform.SLACK)
        stayed = await communities.left(Platform.SLACK, TEAM)
        assert stayed is not None and stayed.key == "alpha" and stayed.active
        assert communities.sends_stopped(alpha.id, Platform.SLACK) is not None
        async with app.db.sessions() as session:
            (row,) = await session.scalars(select(Delivery))
        assert row.state == DeliveryState.FAILED
        back = await communities.joined(Platform.SLACK, TEAM, name="Alpha", maintainer=None)
        assert back is not None and back.id == alpha.id
        assert communities.sends_stopped(alpha.id, Platform.SLACK) is None


async def test_a_created_community_gets_start_hooks_and_background_work(
    sqlite_url: str, clock: Clock
) -> None:
    hooked: list[int] = []
    running: dict[int, asyncio.Event] = {}
    cancelled: list[int] = []
    stopped = asyncio.Event()

    async def hook(views: Sequence[Services]) -> None:
        # Start hooks take every community's view at once (one pass per feature).
        hooked.extend(v.community_id for v in views)

    async def work(services: Services) -> None:
        running.setdefault(services.community_id, asyncio.Event()).set()
        try:
            await asyncio.Event().wait()  # a feature's loop, until the bot stops or leaves
        except asyncio.CancelledError:
            cancelled.append(services.community_id)
            stopped.set()
            raise

    def register(setup: Setup) -> None:
        setup.on_start(hook)
        setup.background("recording", work)

    app = App(
        make_settings(sqlite_url, OPEN, http_port=0),
        http=False,
        resolver=fake_resolver,
        clock=clock,
        extra_features=(Feature("recording", register),),
    )
    await app.start()
    try:
        communities = app.services.communities
        assert communities is not None
        alpha = communities.by_key("alpha")
        assert alpha is not None and hooked == [alpha.id]
        made = await communities.joined(Platform.DISCORD, GUILD, name="G", maintainer=None)
        assert made is not None and hooked == [alpha.id, made.id]
        await asyncio.wait_for(running.setdefault(made.id, asyncio.Event()).wait(), 5)
        await communities.left(Platform.DISCORD, GUILD)
        await asyncio.wait_for(stopped.wait(), 5)
        assert cancelled == [made.id]
    finally:
        await app.stop()


async def test_the_single_form_serves_every_place_and_stops_slack_on_uninstall(
    any_db_url: str, clock: Clock
) -> None:
    async with started(any_db_url, {"community": {"name": "Solo"}}, clock) as app:
        communities = app.services.communities
        assert communities is not None
        solo = communities.default
        joined = await communities.joined(Platform.DISCORD, GUILD, name="Any", maintainer=None)
        assert joined is solo and len(communities) == 1
        # One of the guilds it is in removed the bot: the others still get their posts.
        await communities.left(Platform.DISCORD, GUILD)
        assert communities.sends_stopped(solo.id, Platform.DISCORD) is None
        # Its one workspace uninstalled the app: nothing more goes to Slack.
        await _pending(app, solo.id, "CNEWS", Platform.SLACK)
        await communities.left(Platform.SLACK, OTHER_TEAM)
        assert communities.sends_stopped(solo.id, Platform.SLACK) == (
            "not sent: the bot was removed from this workspace"
        )
        async with app.db.sessions() as session:
            (row,) = await session.scalars(select(Delivery))
        assert row.state == DeliveryState.FAILED
        await communities.joined(Platform.SLACK, OTHER_TEAM, name="Solo", maintainer=None)
        assert communities.sends_stopped(solo.id, Platform.SLACK) is None


async def test_a_setting_made_on_one_replica_reaches_the_other(
    any_db_url: str, clock: Clock
) -> None:
    async with (
        started(any_db_url, OPEN, clock) as first,
        started(any_db_url, OPEN, clock) as second,
    ):
        assert first.services.communities is not None and second.services.communities is not None
        await first.services.communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer="UINSTALLER"
        )
        await second.refresh_communities()
        assert (await command(second, OTHER_TEAM, "UINSTALLER", "page on")).outcome == "ok"
        added = await command(first, OTHER_TEAM, "UINSTALLER", "channel add C0NEWS01")
        assert added.outcome == "ok", text(added)
        seen = second.services.communities.by_key("slack-t0new0001")
        assert seen is not None and seen.settings.slack.announce_channels == []
        await second.refresh_communities()
        seen = second.services.communities.by_key("slack-t0new0001")
        assert seen is not None and seen.settings.slack.announce_channels == ["C0NEWS01"]
        # What the second one stored is not lost by the first one's later change.
        assert seen.own.public_page is True


async def test_turning_open_installs_off_stops_serving_created_communities(
    any_db_url: str, clock: Clock
) -> None:
    async with started(any_db_url, OPEN, clock) as app:
        assert app.services.communities is not None
        await app.services.communities.joined(
            Platform.SLACK, OTHER_TEAM, name="Newcomers", maintainer="UINSTALLER"
        )
        made = app.services.communities.by_key("slack-t0new0001")
        assert made is not None
        await _pending(app, made.id, "CNEWS", Platform.SLACK)
    async with started(any_db_url, CLOSED, clock) as app:
        assert app.services.communities is not None
        assert [c.key for c in app.services.communities] == ["alpha"]
        # Its waiting posts are not sent with another community's settings: not at all.
        assert app.services.sends_stopped(made.id, Platform.SLACK) == UNSERVED
        reply = await command(app, OTHER_TEAM, "UINSTALLER", "help")
        assert "not part of any community" in text(reply)
    async with started(any_db_url, OPEN, clock) as app:
        assert (await command(app, OTHER_TEAM, "UINSTALLER", "audit")).outcome == "ok"
