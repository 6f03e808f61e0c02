"""The fake Discord's scheduled-event routes, checked on their own over plain HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_events import CANCELED, EXTERNAL, GUILD_ONLY, SCHEDULED
from tests.fakes.discord_gateway import DiscordFake

GUILD = 920000000000000001


@pytest.fixture
async def fake() -> AsyncIterator[DiscordFake]:
    async with DiscordFake() as fake:
        fake.add_guild(id=GUILD)
        yield fake


async def call(
    fake: DiscordFake, method: str, path: str, body: Any = None, **query: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, fake.api_url + path, json=body, params=query, headers=headers
        ) as response,
    ):
        data = await response.json() if response.status != 204 else None
        return response.status, data


def body(**changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=1)
    return {
        "name": "Community Meeting",
        "privacy_level": GUILD_ONLY,
        "entity_type": EXTERNAL,
        "scheduled_start_time": start.isoformat(),
        "scheduled_end_time": (start + timedelta(hours=1)).isoformat(),
        "entity_metadata": {"location": "https://example.org/join"},
        "description": "Weekly.",
    } | changes


EVENTS = f"/guilds/{GUILD}/scheduled-events"


async def test_creating_needs_manage_events(fake: DiscordFake) -> None:
    status, data = await call(fake, "POST", EVENTS, body())
    assert (status, data["code"]) == (403, 50013)
    assert fake.scheduled_events == {}


async def test_create_list_get_edit_delete(fake: DiscordFake) -> None:
    fake.allow_events(GUILD)
    status, made = await call(fake, "POST", EVENTS, body())
    assert status == 200
    assert made["creator_id"] == str(fake.bot.id)
    assert (made["status"], made["entity_type"], made["privacy_level"]) == (
        SCHEDULED,
        EXTERNAL,
        GUILD_ONLY,
    )
    assert "user_count" not in made
    fake.mark_interested(int(made["id"]), 11, 12)

    status, listed = await call(fake, "GET", EVENTS, with_user_count="1")
    assert status == 200 and [e["user_count"] for e in listed] == [2]
    status, listed = await call(fake, "GET", EVENTS)
    assert "user_count" not in listed[0]

    one = f"{EVENTS}/{made['id']}"
    status, edited = await call(fake, "PATCH", one, {"name": "Renamed"})
    assert (status, edited["name"], edited["description"]) == (200, "Renamed", "Weekly.")
    status, got = await call(fake, "GET", one, with_user_count="true")
    assert (got["name"], got["user_count"]) == ("Renamed", 2)

    status, _ = await call(fake, "DELETE", one)
    assert status == 204
    status, data = await call(fake, "GET", one)
    assert (status, data["code"]) == (404, 10070)
    status, data = await call(fake, "DELETE", one)
    assert (status, data["code"]) == (404, 10070)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entity_metadata": {"location": "x" * 101}}, "entity_metadata.location"),
        ({"entity_metadata": None}, "entity_metadata.location"),
        ({"scheduled_end_time": None}, "scheduled_end_time"),
        ({"description": "d" * 1001}, "description"),
        ({"name": "n" * 101}, "name"),
        ({"privacy_level": 1}, "privacy_level"),
        (
            {"scheduled_start_time": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
            "scheduled_start_time",
        ),
    ],
)
async def test_discord_validation(fake: DiscordFake, changes: dict[str, Any], field: str) -> None:
    fake.allow_events(GUILD)
    status, data = await call(fake, "POST", EVENTS, body(**changes))
    assert (status, data["code"]) == (400, 50035)
    assert field in data["errors"]
    assert fake.scheduled_events == {}


async def test_a_finished_event_cannot_be_edited_and_a_bad_edit_changes_nothing(
    fake: DiscordFake,
) -> None:
    fake.allow_events(GUILD)
    _, made = await call(fake, "POST", EVENTS, body())
    one = f"{EVENTS}/{made['id']}"
    status, _ = await call(fake, "PATCH", one, {"entity_metadata": {"location": "y" * 101}})
    assert status == 400
    assert fake.scheduled_events[int(made["id"])].location == "https://example.org/join"
    fake.edit_event_by_hand(int(made["id"]), status=CANCELED)
    status, _ = await call(fake, "PATCH", one, {"name": "Again"})
    assert status == 400


async def test_events_by_hand_and_other_guilds(fake: DiscordFake) -> None:
    other = fake.add_guild()
    start = datetime.now(UTC) + timedelta(days=1)
    mine = fake.add_event_by_hand(GUILD, 42, "Party", start, start + timedelta(hours=1))
    status, listed = await call(fake, "GET", EVENTS)
    assert [e["creator_id"] for e in listed] == ["42"]
    assert fake.events_in(GUILD, by_bot=False) == [mine]
    status, data = await call(fake, "GET", f"/guilds/{other.id}/scheduled-events/{mine.id}")
    assert (status, data["code"]) == (404, 10070)
