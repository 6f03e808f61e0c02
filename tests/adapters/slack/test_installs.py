"""The tables migration 0009 creates are the ones slack_sdk's SQLAlchemy stores expect, and the
stores work on them, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import MetaData, Table

from bot.adapters.slack.installs import Installs, installation_store, state_store
from bot.store import slack_installs
from bot.store.db import Database

CLIENT_ID = "1111.2222"


def shape(table: Table) -> tuple[object, ...]:
    columns = tuple(
        (c.name, type(c.type).__name__, getattr(c.type, "length", None), c.nullable, c.primary_key)
        for c in table.columns
    )
    indexes = sorted((i.name, tuple(c.name for c in i.columns)) for i in table.indexes)
    return columns, tuple(indexes)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            slack_installs.installations,
            SQLAlchemyInstallationStore.build_installations_table(
                MetaData(), slack_installs.INSTALLATIONS
            ),
        ),
        (
            slack_installs.bots,
            SQLAlchemyInstallationStore.build_bots_table(MetaData(), slack_installs.BOTS),
        ),
        (
            slack_installs.oauth_states,
            SQLAlchemyOAuthStateStore.build_oauth_states_table(
                MetaData(), slack_installs.OAUTH_STATES
            ),
        ),
    ],
)
def test_the_schema_is_the_librarys(ours: Table, theirs: Table) -> None:
    assert shape(ours) == shape(theirs)


def installed(team_id: str, token: str, **extra: object) -> Installation:
    return Installation(
        app_id="A0FAKE0001",
        team_id=team_id,
        team_name=f"Team {team_id}",
        bot_token=token,
        bot_id="B0FAKE",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write",
        user_id="UINSTALLR",
        **extra,  # type: ignore[arg-type]
    )


async def test_installations_are_saved_found_and_removed(db: Database) -> None:
    store = installation_store(CLIENT_ID, db.engine)
    installs = Installs(store, CLIENT_ID, "secret", AsyncWebClient())
    await store.async_save(installed("TALPHA001", "xoxb-alpha-1"))
    await store.async_save(installed("TBETA0001", "xoxb-beta-1"))
    # A reinstall is a newer row; the newest one's token is the workspace's.
    await store.async_save(installed("TALPHA001", "xoxb-alpha-2", installed_at=time.time() + 5))

    found = await store.async_find_installation(enterprise_id=None, team_id="TALPHA001")
    assert found is not None and found.bot_token == "xoxb-alpha-2"
    assert await installs.bot_token("TALPHA001") == "xoxb-alpha-2"
    assert await installs.teams() == ["TALPHA001", "TBETA0001"]

    await installs.remove("TALPHA001")
    assert await installs.bot_token("TALPHA001") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="TALPHA001") is None
    assert await installs.teams() == ["TBETA0001"]


async def test_another_apps_installations_are_not_read(db: Database) -> None:
    await installation_store("9999.0000", db.engine).async_save(installed("TALPHA001", "x"))
    installs = Installs(installation_store(CLIENT_ID, db.engine), CLIENT_ID, "s", AsyncWebClient())
    assert await installs.bot_token("TALPHA001") is None
    assert await installs.teams() == []


async def test_an_oauth_state_is_used_once(db: Database) -> None:
    states = state_store(db.engine)
    state = await states.async_issue()
    assert await states.async_consume(state)
    assert not await states.async_consume(state)
    assert not await states.async_consume("never-issued")
