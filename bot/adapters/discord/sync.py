"""Registering the Discord commands: the explicit deploy step, over REST only.

`communitybot discord sync [--guild ID]` logs in over REST (no gateway connection), builds
the command tree from the registry and bulk-overwrites the commands globally, or in the given
guild(s) where changes show at once. `[discord] sync_on_start` does the same at start, only
when the schema's hash differs from the one stored after the last sync.
"""

from __future__ import annotations

import discord
from discord import app_commands
from sqlalchemy import select

from bot.adapters.discord.client import make_client
from bot.adapters.discord.tree import install
from bot.config import Settings
from bot.core.commands import ArgType, CommandSpec, Registry
from bot.runtime.services import Services
from bot.store.models import BotState
from bot.store.upsert import upsert


async def sync_tree(tree: app_commands.CommandTree, guild_ids: list[int]) -> int:
    """Bulk-overwrite the tree's commands globally, or in each of `guild_ids`."""
    if not guild_ids:
        return len(await tree.sync())
    count = 0
    for guild_id in guild_ids:
        guild = discord.Object(guild_id)
        tree.copy_global_to(guild=guild)
        count = len(await tree.sync(guild=guild))
    return count


async def _unused_command(
    interaction: discord.Interaction, spec: CommandSpec, values: dict[str, object]
) -> None:
    raise AssertionError("a sync-only tree never runs commands")


async def _no_suggestions(interaction: discord.Interaction, kind: ArgType, typed: str) -> list[str]:
    return []


async def sync_commands(settings: Settings, registry: Registry, guild_id: int | None) -> str:
    """Log in over REST, register every command, and say what was done."""
    assert settings.discord_token is not None
    client = make_client(settings, intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    install(tree, registry, _unused_command, _no_suggestions)
    guilds = [guild_id] if guild_id is not None else settings.discord_guild_ids
    try:
        await client.login(settings.discord_token.get_secret_value())
        count = await sync_tree(tree, guilds)
    finally:
        await client.close()
    where = f"in guild {', '.join(map(str, guilds))}" if guilds else "globally"
    return f"Registered {count} Discord commands {where}."


async def stored_hash(services: Services, key: str) -> str | None:
    async with services.db.sessions() as session:
        return await session.scalar(select(BotState.value).where(BotState.key == key))


async def store_hash(services: Services, key: str, digest: str) -> None:
    async with services.db.session() as session:
        await upsert(
            session,
            BotState.__table__,  # type: ignore[arg-type]
            {"key": key, "value": digest, "updated_at": services.clock()},
            ("key",),
            ("value", "updated_at"),
        )
