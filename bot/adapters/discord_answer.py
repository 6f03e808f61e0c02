"""Answering one Discord interaction: respond within 3 s, or defer and follow up.

Persist, then respond: the dispatcher writes what a command changes before it returns the
Reply, and only then does anything reach Discord. Whether a deferred answer is private or
public is decided before any work starts (Discord fixes it at the defer), and an error after
a public defer is still answered privately: the public "thinking" message is removed and the
error goes to the asker alone. Answers notify no one: mentions in them are shown, not pinged
(posts to channels are where pings belong).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import discord

from bot.adapters.discord_render import Rendered, render
from bot.core.replies import Reply

log = logging.getLogger(__name__)

# Discord drops an interaction not acknowledged within 3 s; answer directly when the work
# is done well inside that, else defer.
RESPOND_WITHIN = 2.0


async def answer_command(
    interaction: discord.Interaction,
    work: Awaitable[Reply],
    *,
    public: bool,
    respond_within: float = RESPOND_WITHIN,
) -> None:
    """Run `work` and answer a slash command (or form) with its Reply."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=respond_within)
    if done:
        reply = task.result()
        chunks = render(reply.message, ping_role=None, ping_members=False)
        await _send_first(interaction, chunks[0], ephemeral=not reply.public)
        await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        return
    await interaction.response.defer(ephemeral=not public, thinking=True)
    reply = await task
    chunks = render(reply.message, ping_role=None, ping_members=False)
    if public and not reply.public:
        # Errors stay private even when the command would have answered in public.
        await interaction.delete_original_response()
    await _follow(interaction, chunks, ephemeral=not reply.public)


async def answer_press(
    interaction: discord.Interaction,
    work: Awaitable[Reply],
    *,
    respond_within: float = RESPOND_WITHIN,
) -> None:
    """Run `work` and answer a button press: replace the pressed message, or reply."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=respond_within)
    if done:
        reply = task.result()
        chunks = render(reply.message, ping_role=None, ping_members=False)
        if reply.replace:
            await interaction.response.edit_message(
                content=chunks[0].content,
                view=chunks[0].view() if len(chunks) == 1 else None,
                allowed_mentions=chunks[0].allowed_mentions,
            )
            await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        else:
            await _send_first(interaction, chunks[0], ephemeral=not reply.public)
            await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        return
    await interaction.response.defer()  # no visible change until the answer is ready
    reply = await task
    chunks = render(reply.message, ping_role=None, ping_members=False)
    if reply.replace:
        first, chunks = chunks[0], chunks[1:]
        await interaction.edit_original_response(
            content=first.content,
            view=first.view() if not chunks else None,
            allowed_mentions=first.allowed_mentions,
        )
    await _follow(interaction, chunks, ephemeral=not reply.public)


async def _send_first(
    interaction: discord.Interaction, first: Rendered, *, ephemeral: bool
) -> None:
    view = first.view()
    kwargs = {"view": view} if view is not None else {}
    await interaction.response.send_message(
        first.content, ephemeral=ephemeral, allowed_mentions=first.allowed_mentions, **kwargs
    )


async def _follow(
    interaction: discord.Interaction, chunks: list[Rendered], *, ephemeral: bool
) -> None:
    for chunk in chunks:
        view = chunk.view()
        kwargs = {"view": view} if view is not None else {}
        await interaction.followup.send(
            chunk.content,
            ephemeral=ephemeral,
            allowed_mentions=chunk.allowed_mentions,
            **kwargs,
        )
