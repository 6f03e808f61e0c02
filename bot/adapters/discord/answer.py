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
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord.utils import MISSING

from bot.adapters.discord.render import Rendered, render_answer
from bot.core.replies import Reply

log = logging.getLogger(__name__)

# Discord drops an interaction not acknowledged within 3 s; answer directly when the work
# is done well inside that, else defer.
RESPOND_WITHIN = 2.0


class OnePerTurn:
    """Lets waiters go one per turn of the event loop, first come, first served.

    Why: on Python 3.11 aiohttp writes a request's body in a task of its own, which runs on
    the loop's next turn. A burst of interactions arrives in one turn, so every command's work
    ran before any answer was written, and even the first answer left only after the last
    command's work. Started one per turn, each command's answer is written before the
    command after next starts. Only starts are paced: a command waiting on the network does
    not hold up the next one.
    """

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._releasing = False

    async def turn(self) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        if not self._releasing:
            self._releasing = True
            loop.call_soon(self._release)
        await waiter

    def _release(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled waiter gives its turn to the next
                waiter.set_result(None)
                break
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._release)
        else:
            self._releasing = False


async def _work_or_defer(
    work: Awaitable[Reply], within: float, defer: Callable[[], Awaitable[None]]
) -> tuple[Reply, bool]:
    """Run `work` in this task; if it is not done within `within`, `defer` runs meanwhile.

    Returns the reply and whether the interaction was deferred. The work runs here rather than
    in a task of its own so that its answer leaves the moment it is ready: in a burst, a task
    per command let every other interaction's work run before the first answer was sent.
    """
    deferring: asyncio.Task[None] | None = None

    def late() -> None:
        nonlocal deferring
        deferring = asyncio.ensure_future(defer())

    timer = asyncio.get_running_loop().call_later(within, late)
    try:
        reply = await work
    finally:
        timer.cancel()
    if deferring is None:
        return reply, False
    await deferring
    return reply, True


async def answer_command(
    interaction: discord.Interaction,
    work: Awaitable[Reply],
    *,
    public: bool,
    respond_within: float = RESPOND_WITHIN,
) -> None:
    """Run `work` and answer a slash command (or form) with its Reply."""
    reply, deferred = await _work_or_defer(
        work,
        respond_within,
        lambda: interaction.response.defer(ephemeral=not public, thinking=True),
    )
    chunks = render_answer(reply.message)
    if not deferred:
        await _send_first(interaction, chunks[0], ephemeral=not reply.public)
        await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        return
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
    # Deferring a press shows no visible change until the answer is ready.
    reply, deferred = await _work_or_defer(work, respond_within, interaction.response.defer)
    chunks = render_answer(reply.message)
    if not deferred:
        if reply.replace:
            await interaction.response.edit_message(
                content=chunks[0].content or None,
                embeds=chunks[0].embeds(),
                view=chunks[0].view() if len(chunks) == 1 else None,
                allowed_mentions=chunks[0].allowed_mentions,
            )
            await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        else:
            await _send_first(interaction, chunks[0], ephemeral=not reply.public)
            await _follow(interaction, chunks[1:], ephemeral=not reply.public)
        return
    if reply.replace:
        first, chunks = chunks[0], chunks[1:]
        await interaction.edit_original_response(
            content=first.content or None,
            embeds=first.embeds(),
            view=first.view() if not chunks else None,
            allowed_mentions=first.allowed_mentions,
        )
    await _follow(interaction, chunks, ephemeral=not reply.public)


async def _send_first(
    interaction: discord.Interaction, first: Rendered, *, ephemeral: bool
) -> None:
    await interaction.response.send_message(
        first.content or None,
        ephemeral=ephemeral,
        allowed_mentions=first.allowed_mentions,
        **_extras(first),
    )


async def _follow(
    interaction: discord.Interaction, chunks: list[Rendered], *, ephemeral: bool
) -> None:
    for chunk in chunks:
        await interaction.followup.send(
            chunk.content or MISSING,
            ephemeral=ephemeral,
            allowed_mentions=chunk.allowed_mentions,
            **_extras(chunk),
        )


def _extras(chunk: Rendered) -> dict[str, Any]:
    """The buttons and embeds of a message, passed only when it has them."""
    extras: dict[str, Any] = {}
    if (view := chunk.view()) is not None:
        extras["view"] = view
    if chunk.cards:
        extras["embeds"] = chunk.embeds()
    return extras
