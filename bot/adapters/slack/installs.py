"""Slack installations (OAuth mode): slack_sdk's SQLAlchemy stores on the bot's own database.

Each workspace that installs the app through `GET /slack/install` gets its own bot token, which
bolt's OAuth flow saves with slack_sdk's `AsyncSQLAlchemyInstallationStore`; the OAuth `state`
of a flow in progress lives in `AsyncSQLAlchemyOAuthStateStore`. Both get the bot's engine, so
installations are in the same database as everything else (SQLite or PostgreSQL, shared by
replicas), in the tables migration 0009 created (bot/store/slack_installs.py). The stores open
their own transactions on that engine, outside `Database.session()`: on SQLite a write waits
for the lock in sqlite_inline, which never blocks the loop, and the adapter never calls a store
while it holds a transaction of its own (which would wait for itself).

The app asks for no user token, so the bot token is all there is: bolt runs "bot only"
(`installation_store_bot_only`), reading and refreshing the workspace's row in `slack_bots`;
`slack_installations` keeps the record of each install. `Installs` answers the question
everything outbound asks the same way: the current bot token of a workspace. With token
rotation on, a token close to expiry is refreshed first (`oauth.v2.access` with the refresh
token, through slack_sdk's `AsyncTokenRotator`) and saved, one refresh at a time per workspace.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import desc, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.slack_installs import BOTS, INSTALLATIONS, OAUTH_STATES

log = logging.getLogger(__name__)

# How long an OAuth flow may take from /slack/install to the redirect back (bolt's default).
STATE_SECONDS = 600
# A rotating token is refreshed when it has less than this left (bolt's default is 120; a
# Slack token lives 12 hours).
ROTATE_MINUTES = 120


def installation_store(client_id: str, engine: AsyncEngine) -> AsyncSQLAlchemyInstallationStore:
    return AsyncSQLAlchemyInstallationStore(
        client_id=client_id,
        engine=engine,
        bots_table_name=BOTS,
        installations_table_name=INSTALLATIONS,
        logger=log,
    )


def state_store(engine: AsyncEngine) -> AsyncSQLAlchemyOAuthStateStore:
    return AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_SECONDS, engine=engine, table_name=OAUTH_STATES, logger=log
    )


def authorize_url(api_url: str) -> str:
    """Slack's authorize page, on the host of its Web API (`…/api/` → `…/oauth/v2/authorize`):
    slack.com in production, the fake in tests."""
    base = api_url.rstrip("/").removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


class Installs:
    """The installed workspaces and their current bot tokens."""

    def __init__(
        self,
        store: AsyncSQLAlchemyInstallationStore,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        *,
        rotate_minutes: int = ROTATE_MINUTES,
    ) -> None:
        self.store = store
        self.rotate_minutes = rotate_minutes
        # The rotator calls oauth.v2.access through the adapter's client (SLACK_API_URL).
        self._rotator = AsyncTokenRotator(
            client_id=client_id, client_secret=client_secret, client=client
        )
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def latest(self, team_id: str) -> Bot | None:
        """The workspace's newest bot, whatever Enterprise Grid it may be part of.

        (The store's own find methods also match on the enterprise id, which an outbound
        message does not know.)"""
        table = self.store.bots
        query = (
            table.select()
            .where(table.c.client_id == self.store.client_id, table.c.team_id == team_id)
            .order_by(desc(table.c.installed_at))
            .limit(1)
        )
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None or row["bot_token"] is None:
            return None
        return SQLAlchemyInstallationStore.build_bot_entity(row)

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's bot token, refreshed first when it is about to expire; None when
        the app is not installed there."""
        bot = await self.latest(team_id)
        if bot is None or bot.bot_refresh_token is None:
            return bot.bot_token if bot else None
        lock = self._refreshing.setdefault(team_id, asyncio.Lock())
        async with lock:
            # Read again under the lock: another send may have refreshed it meanwhile.
            bot = await self.latest(team_id)
            if bot is None:
                return None
            refreshed = await self._rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.rotate_minutes
            )
            if refreshed is None:
                return bot.bot_token
            await self.store.async_save_bot(refreshed)
            log.info("refreshed the bot token of Slack workspace %s", team_id)
            return refreshed.bot_token

    async def teams(self) -> list[str]:
        """Every workspace with an installation, in team id order."""
        table = self.store.bots
        query = (
            select(table.c.team_id)
            .distinct()
            .where(table.c.client_id == self.store.client_id, table.c.team_id.is_not(None))
            .order_by(table.c.team_id)
        )
        async with self.store.engine.connect() as conn:
            return [str(team) for team in (await conn.execute(query)).scalars()]

    async def remove(self, team_id: str, enterprise_id: str | None = None) -> None:
        """Forget every installation and bot token of the workspace."""
        await self.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
