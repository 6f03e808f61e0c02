"""Meetings as Discord Guild Scheduled Events: the whole bot on discord.py against the fake.

Commands travel as real interactions; the reconciler is called with an explicit `now` (the
timer is off), except in the test of the running bot, which polls with a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
import yarl
from sqlalchemy import select, update

from bot.adapters.discord.sync import sync_tree
from bot.app import App
from bot.core.invocation import Platform
from bot.features.meetings.platform_events import BLOCKED_FOR, MeetingEvents, event_spec
from bot.features.meetings.recurrence import Occurrence
from bot.scheduling.notices import NOTICE_KIND
from bot.store.meeting_events import MeetingEvent
from bot.store.meetings import Meeting
from bot.store.models import Delivery
from tests.conftest import make_settings
from tests.fakes.discord_events import EXTERNAL, GUILD_ONLY
from tests.fakes.discord_gateway import DiscordFake, FakeChannel, FakeRole
from tests.scenarios.conftest import fake_resolver

GUILD = 920000000000000001
GENERAL = 930000000000000001
MAINT_CHANNEL = 930000000000000002
MAINT_ROLE = 900000000000000001
MAYA = 700000000000000001
EVENTS = "/guilds/{guild_id}/scheduled-events"
EVENT = "/guilds/{guild_id}/scheduled-events/{event_id}"
JOIN = "https://example.org/join"
REGISTER = "https://example.org/register"


def first_start() -> datetime:
    """Two days from now at 17:00 UTC: in the future for the fake's real clock."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def config(*, events: bool = True, meetings: list[dict[str, Any]] | None = None) -> dict:
    return {
        "community": {"name": "Example Community", "timezone": "UTC"},
        "discord": {
            "maintainer_roles": [MAINT_ROLE],
            "maintainer_channel": MAINT_CHANNEL,
            "guild_ids": [GUILD],
            "scheduled_events": events,
        },
        "meetings": meetings or [],
    }


@asynccontextmanager
async def world() -> AsyncIterator[DiscordFake]:
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with DiscordFake() as fake:
            fake.add_guild(
                id=GUILD,
                roles=[FakeRole(id=MAINT_ROLE, name="maintainers")],
                channels=[FakeChannel(id=c, name=f"c{c}") for c in (GENERAL, MAINT_CHANNEL)],
            )
            fake.add_member(GUILD, "maya", roles=[MAINT_ROLE], id=MAYA)
            yield fake
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


@asynccontextmanager
async def running(
    fake: DiscordFake, db_url: str, *, timer: bool = False, **file: Any
) -> AsyncIterator[App]:
    settings = make_settings(
        db_url,
        config(**file),
        discord_token=fake.token,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )
    app = App(settings, http=False, timer=timer, resolver=fake_resolver)
    try:
        await app.start()
        yield app
    finally:
        await app.stop()


def keeper(app: App) -> MeetingEvents:
    assert app.services.scheduled_events is not None
    return MeetingEvents(app.services, app.services.scheduled_events)


async def say(app: App, fake: DiscordFake, command: str, **options: Any) -> str:
    if not fake.global_commands:
        await sync_tree(app.adapters[Platform.DISCORD].tree, [])  # type: ignore[attr-defined]
    iid = await fake.send_interaction(
        command, user_id=MAYA, guild_id=GUILD, channel_id=GENERAL, options=options
    )
    reply = await fake.wait_for_reply(iid, within=10)
    return str(reply["content"])


async def create_weekly(app: App, fake: DiscordFake, **extra: Any) -> str:
    start = first_start()
    answer = await say(
        app,
        fake,
        "meeting create",
        meeting="community",
        name="Community Meeting",
        start=start.strftime("%Y-%m-%d %H:%M") + " UTC",
        rrule="FREQ=WEEKLY",
        duration="60m",
        join=JOIN,
        register=REGISTER,
        description="Our weekly call.",
        **extra,
    )
    assert answer.startswith("Created"), answer
    return start.strftime("%Y-%m-%d")


def only_event(fake: DiscordFake) -> Any:
    mine = fake.events_in(GUILD, by_bot=True)
    assert len(mine) == 1, mine
    return mine[0]


def now() -> datetime:
    return datetime.now(UTC)


async def test_the_next_occurrence_is_an_event_and_follows_every_change(
    any_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with world() as fake, running(fake, any_db_url) as app:
        fake.allow_events(GUILD)
        theirs = fake.add_event_by_hand(
            GUILD, MAYA, "Maya's party", first_start(), first_start() + timedelta(hours=2)
        )
        day = await create_weekly(app, fake)
        # One 429 on the first create: discord.py waits it out and the event is made once.
        fake.rate_limit("POST", EVENTS, retry_after=0.05)
        events = keeper(app)
        await events.reconcile(now())
        event = only_event(fake)
        assert len(fake.calls("POST", EVENTS)) == 2
        assert (event.entity_type, event.privacy_level) == (EXTERNAL, GUILD_ONLY)
        assert event.name == "Community Meeting"
        assert (event.start, event.end) == (first_start(), first_start() + timedelta(hours=1))
        assert event.location == JOIN
        assert event.description.startswith("Our weekly call.")
        assert f"Register: {REGISTER}" in event.description
        first_id = event.id

        # Move: the same event, at the new time.
        moved = first_start() + timedelta(hours=3)
        await say(
            app, fake, "meeting move", meeting="community", date=day,
            time=moved.strftime("%Y-%m-%d %H:%M") + " UTC",
        )  # fmt: skip
        await events.reconcile(now())
        event = only_event(fake)
        assert (event.id, event.start) == (first_id, moved)

        # Edit: the same event, renamed.
        await say(app, fake, "meeting edit", meeting="community", name="Community Call")
        await events.reconcile(now())
        event = only_event(fake)
        assert (event.id, event.name) == (first_id, "Community Call")

        # Skip: that occurrence's event goes, the next one's is made.
        await say(app, fake, "meeting skip", meeting="community", date=day)
        await events.reconcile(now())
        event = only_event(fake)
        assert event.id != first_id and first_id not in fake.scheduled_events
        assert event.start == first_start() + timedelta(days=7)
        second_id = event.id

        # That occurrence ends: the one after has its own event.
        await events.reconcile(event.end + timedelta(minutes=1))
        event = only_event(fake)
        assert event.id != second_id
        assert event.start == first_start() + timedelta(days=14)

        # Cancel: no event left.
        await say(app, fake, "meeting cancel", meeting="community", yes=True)
        await events.reconcile(now())
        assert fake.events_in(GUILD, by_bot=True) == []
        async with app.db.sessions() as session:
            assert (await session.scalars(select(MeetingEvent))).all() == []

        # Maya's own event was never touched.
        assert theirs.id in fake.scheduled_events and theirs.edits == 0
        touched = {
            c.path.rsplit("/", 1)[-1] for c in fake.calls() if "/scheduled-events/" in c.path
        }
        assert str(theirs.id) not in touched


async def test_a_meeting_added_or_removed_in_the_config(any_db_url: str) -> None:
    declared = {
        "id": "office-hours",
        "name": "Office Hours",
        "start": first_start().strftime("%Y-%m-%d %H:%M"),
        "timezone": "UTC",
        "rrule": "FREQ=WEEKLY",
        "register_url": REGISTER,
    }
    async with world() as fake:
        fake.allow_events(GUILD)
        async with running(fake, any_db_url, meetings=[declared]) as app:
            await keeper(app).reconcile(now())
            event = only_event(fake)
            assert (event.name, event.location) == ("Office Hours", REGISTER)
        async with running(fake, any_db_url, meetings=[]) as app:
            await keeper(app).reconcile(now())
            assert fake.events_in(GUILD, by_bot=True) == []


async def test_two_replicas_and_a_restart_never_double_an_event(any_db_url: str) -> None:
    async with world() as fake:
        fake.allow_events(GUILD)
        async with running(fake, any_db_url) as one, running(fake, any_db_url) as two:
            await create_weekly(one, fake)
            # Both replicas reconcile at once, many times over.
            a, b = keeper(one), keeper(two)
            await asyncio.gather(*(k.reconcile(now()) for _ in range(3) for k in (a, b)))
            assert only_event(fake)
            assert len(fake.calls("POST", EVENTS)) == 1
        # A restart: a new process, the same database.
        async with running(fake, any_db_url) as again:
            await keeper(again).reconcile(now())
            event = only_event(fake)
            assert len(fake.calls("POST", EVENTS)) == 1

            # A crash right after Discord made an event, before its id was stored: the row
            # has no id, and the next pass adopts the event instead of making another.
            async with again.db.session() as session:
                await session.execute(update(MeetingEvent).values(event_id=None))
            await keeper(again).reconcile(now())
            assert only_event(fake).id == event.id
            assert len(fake.calls("POST", EVENTS)) == 1
            async with again.db.sessions() as session:
                row = await session.scalar(select(MeetingEvent))
            assert row is not None and row.event_id == str(event.id)


async def test_hand_deleted_is_recreated_and_hand_edited_is_set_back(
    any_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with world() as fake, running(fake, any_db_url) as app:
        fake.allow_events(GUILD)
        await create_weekly(app, fake)
        events = keeper(app)
        await events.reconcile(now())
        event = only_event(fake)

        fake.edit_event_by_hand(event.id, name="Party!", location="my place")
        with caplog.at_level(logging.WARNING):
            await events.reconcile(now())
        assert (event.name, event.location) == ("Community Meeting", JOIN)
        assert "edited by hand (name, location); setting it back" in caplog.text

        fake.delete_event_by_hand(event.id)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await events.reconcile(now())
        again = only_event(fake)
        assert again.id != event.id and again.name == "Community Meeting"
        assert "deleted or ended by hand; recreating it" in caplog.text

        # Nothing changed: a pass makes no call but the listing.
        before = len(fake.requests)
        await events.reconcile(now())
        assert [c.route for c in fake.requests[before:]] == [EVENTS]


async def test_missing_manage_events_is_reported_once(any_db_url: str) -> None:
    async with world() as fake, running(fake, any_db_url) as app:
        await create_weekly(app, fake)
        events = keeper(app)
        await events.reconcile(now())
        assert len(fake.calls("POST", EVENTS)) == 1  # refused: 403
        await events.reconcile(now())
        assert len(fake.calls("POST", EVENTS)) == 1  # not retried while blocked
        await events.reconcile(now() + BLOCKED_FOR + timedelta(minutes=1))
        assert len(fake.calls("POST", EVENTS)) == 2  # tried once more an hour later
        await app.run_due(now() + timedelta(minutes=1))
        notices = fake.channel_messages(MAINT_CHANNEL)
        assert len(notices) == 1
        assert "Manage Events" in notices[0]["content"]
        async with app.db.sessions() as session:
            rows = (
                await session.scalars(select(Delivery).where(Delivery.kind == NOTICE_KIND))
            ).all()
        assert len(rows) == 1
        assert fake.scheduled_events == {}


async def test_meeting_next_shows_the_interest_from_the_cache(any_db_url: str) -> None:
    async with world() as fake, running(fake, any_db_url) as app:
        fake.allow_events(GUILD)
        await create_weekly(app, fake)
        events = keeper(app)
        await events.reconcile(now())
        fake.mark_interested(only_event(fake).id, 1, 2, 3)
        await events.reconcile(now())  # the pass that reads the count
        before = len(fake.calls(route=EVENTS))
        answer = await say(app, fake, "meeting next")
        assert "3 interested" in answer
        assert len(fake.calls(route=EVENTS)) == before  # answered without asking Discord


async def test_off_means_no_scheduled_event_call(any_db_url: str) -> None:
    async with world() as fake:
        fake.allow_events(GUILD)
        async with running(fake, any_db_url, timer=True, events=False) as app:
            assert app.services.scheduled_events is None
            await create_weekly(app, fake)
            answer = await say(app, fake, "meeting next")
            assert "interested" not in answer
            await app.run_due()
        assert [c for c in fake.requests if "scheduled-events" in c.path] == []


async def test_the_running_bot_makes_events_at_start_and_after_a_command(
    any_db_url: str,
) -> None:
    declared = {
        "id": "office-hours",
        "name": "Office Hours",
        "start": first_start().strftime("%Y-%m-%d %H:%M"),
        "timezone": "UTC",
        "rrule": "FREQ=WEEKLY",
        "join_url": JOIN,
    }
    async with world() as fake:
        fake.allow_events(GUILD)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with running(fake, any_db_url, timer=True, meetings=[declared]) as app:
            await fake.wait_for(lambda: fake.events_in(GUILD, by_bot=True), within=15)
            assert loop.time() - started < 15
            event = only_event(fake)
            day = first_start().strftime("%Y-%m-%d")
            moved = first_start() + timedelta(hours=2)
            asked = loop.time()
            await say(
                app, fake, "meeting move", meeting="office-hours", date=day,
                time=moved.strftime("%Y-%m-%d %H:%M") + " UTC",
            )  # fmt: skip
            await fake.wait_for(lambda: event.start == moved, within=10)
            assert loop.time() - asked < 10
            assert only_event(fake).id == event.id


def _meeting(**fields: Any) -> Meeting:
    base: dict[str, Any] = {
        "name": "Community Meeting",
        "description": "",
        "join_url": None,
        "register_url": None,
        "agenda_url": None,
    }
    return Meeting(**(base | fields))


OCCURRENCE = Occurrence(
    first_start().date(), first_start(), first_start() + timedelta(hours=1), first_start()
)


def test_location_takes_the_first_link_that_fits_and_the_description_stays_within_limits() -> None:
    long_join = "https://example.org/" + "j" * 100
    spec = event_spec(_meeting(join_url=long_join, register_url=REGISTER), OCCURRENCE)
    assert spec.location == REGISTER
    assert f"Join: {long_join}" in spec.description

    long_register = "https://example.org/" + "r" * 100
    spec = event_spec(_meeting(join_url=long_join, register_url=long_register), OCCURRENCE)
    assert spec.location == "Community Meeting"

    spec = event_spec(_meeting(description="x" * 1000, register_url=REGISTER), OCCURRENCE)
    assert len(spec.description) <= 1000
    assert spec.description.endswith(f"Register: {REGISTER}")
    assert "…" in spec.description

    spec = event_spec(_meeting(name="N" * 100), OCCURRENCE)
    assert (spec.name, spec.location, spec.description) == ("N" * 100, "N" * 100, "")
