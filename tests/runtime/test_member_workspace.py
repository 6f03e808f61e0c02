"""Issue 19 item 7: a Slack user id is unique only within its workspace, so a member is keyed
by (community, platform, workspace, user id) — two workspaces of one community may hold two
different people with the same id — and members from before migration 0011 keep their rows."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.store.models import Member
from tests.runtime.test_communities import started
from tests.support.migrations import migrate_to

ONE = {"community": {"name": "Solo"}}


async def _zone(app: App, team: str, user: str, zone: str) -> None:
    reply = await app.dispatcher.handle(
        Invocation(
            "communitybot",
            Actor(Platform.SLACK, user, user.lower()),
            Place(Platform.SLACK, "CGENERAL", team),
            text=f"timezone {zone}",
        )
    )
    assert reply.outcome == "ok", reply


async def _discord_zone(app: App, user: str, zone: str) -> None:
    reply = await app.dispatcher.handle(
        Invocation(
            "communitybot",
            Actor(Platform.DISCORD, user, "dee"),
            Place(Platform.DISCORD, "1", "920000000000000001"),
            text=f"timezone {zone}",
        )
    )
    assert reply.outcome == "ok", reply


async def _members(app: App) -> dict[tuple[str, str, str], tuple[int, str | None]]:
    """(platform, workspace, user id) -> (member id, zone)."""
    async with app.db.sessions() as session:
        rows = (await session.scalars(select(Member))).all()
    return {(m.platform, m.workspace, m.platform_user_id): (m.id, m.timezone) for m in rows}


async def test_the_same_slack_id_in_two_workspaces_is_two_members(any_db_url: str) -> None:
    async with started(any_db_url, ONE) as app:
        await _zone(app, "T0AAAAAA1", "U0SAME", "Asia/Tokyo")
        await _zone(app, "T0BBBBBB2", "U0SAME", "Europe/Berlin")
        await _zone(app, "T0AAAAAA1", "U0SAME", "Asia/Seoul")  # the first one again
        await _discord_zone(app, "7001", "America/Lima")
        members = await _members(app)
    assert {key: zone for key, (_, zone) in members.items()} == {
        ("slack", "T0AAAAAA1", "U0SAME"): "Asia/Seoul",
        ("slack", "T0BBBBBB2", "U0SAME"): "Europe/Berlin",
        ("discord", "", "7001"): "America/Lima",
    }


async def test_members_from_before_the_upgrade_keep_their_rows(any_db_url: str) -> None:
    async with started(any_db_url, ONE) as app:
        await _zone(app, "T0AAAAAA1", "U0OLD", "Asia/Tokyo")
        await _discord_zone(app, "7001", "America/Lima")
    # Back to the previous release's schema (the workspace column goes), then forward again.
    await migrate_to(any_db_url, "0008", down=True)
    await migrate_to(any_db_url, "head")
    async with started(any_db_url, ONE) as app:
        before = await _members(app)
        assert set(before) == {("slack", "", "U0OLD"), ("discord", "", "7001")}
        (old_id, zone) = before[("slack", "", "U0OLD")]
        assert zone == "Asia/Tokyo"
        # Their workspace takes the row over: the same member, with everything it had.
        await _zone(app, "T0AAAAAA1", "U0OLD", "Asia/Tokyo")
        # Another workspace's U0OLD is someone else.
        await _zone(app, "T0BBBBBB2", "U0OLD", "Europe/Berlin")
        after = await _members(app)
    assert after[("slack", "T0AAAAAA1", "U0OLD")] == (old_id, "Asia/Tokyo")
    assert after[("slack", "T0BBBBBB2", "U0OLD")][1] == "Europe/Berlin"
    assert after[("slack", "T0BBBBBB2", "U0OLD")][0] != old_id
    assert after[("discord", "", "7001")] == before[("discord", "", "7001")]
    assert ("slack", "", "U0OLD") not in after
