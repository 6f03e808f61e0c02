"""Posts to Discord channels and direct messages: deliveries, their edits and deletions.

A long message becomes several posts (its ref lists their ids); each carries its own nonce
with `enforce_nonce`, so a retried send returns the post Discord already made instead of a
second one. Failures become DeliveryError: transient (429 beyond the wait we accept, 5xx,
network) are retried by the delivery loop, permanent ones (unknown channel, DMs closed,
missing access) are not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import aiohttp
import discord

from bot.adapters.discord.render import render
from bot.core.message import Message
from bot.core.ports import DeliveryError
from bot.core.targets import Target, TargetKind


class DiscordPosts:
    def __init__(
        self,
        client: discord.Client,
        ping_role: int | None,
        pings: Mapping[str, int | None] | None = None,
    ) -> None:
        self.client = client
        self.ping_role = ping_role
        # Channel id → the role its community's announce_ping names (several communities).
        self.pings = pings or {}

    def _ping_for(self, target: Target) -> int | None:
        return self.pings.get(target.id, self.ping_role)

    async def _channel(self, target: Target) -> discord.abc.Messageable:
        if target.kind is TargetKind.DM:
            return await self.client.create_dm(discord.Object(int(target.id)))
        return self.client.get_partial_messageable(int(target.id))

    async def send(self, target: Target, message: Message, *, nonce: str | None = None) -> str:
        ids: list[str] = []
        with delivery_errors():
            channel = await self._channel(target)
            for index, chunk in enumerate(render(message, ping_role=self._ping_for(target))):
                view = chunk.view()
                sent = await channel.send(
                    chunk.content,
                    allowed_mentions=chunk.allowed_mentions,
                    nonce=_part_nonce(nonce, index),
                    **({"view": view} if view is not None else {}),
                )
                ids.append(str(sent.id))
        return ",".join(ids)

    async def edit(self, target: Target, ref: str, message: Message) -> None:
        with delivery_errors():
            channel = await self._channel(target)
            old = [int(i) for i in ref.split(",") if i]
            chunks = render(message, ping_role=self._ping_for(target))
            for mid, chunk in zip(old, chunks, strict=False):
                view = chunk.view()
                await channel.get_partial_message(mid).edit(  # type: ignore[attr-defined]
                    content=chunk.content, allowed_mentions=chunk.allowed_mentions, view=view
                )
            for mid in old[len(chunks) :]:
                await channel.get_partial_message(mid).delete()  # type: ignore[attr-defined]
            for chunk in chunks[len(old) :]:
                view = chunk.view()
                await channel.send(
                    chunk.content,
                    allowed_mentions=chunk.allowed_mentions,
                    **({"view": view} if view is not None else {}),
                )

    async def delete(self, target: Target, ref: str) -> None:
        with delivery_errors():
            channel = await self._channel(target)
            for mid in (int(i) for i in ref.split(",") if i):
                # Already gone is what we wanted.
                with contextlib.suppress(discord.NotFound):
                    await channel.get_partial_message(mid).delete()  # type: ignore[attr-defined]


def _part_nonce(nonce: str | None, index: int) -> str | None:
    """Discord nonces are at most 25 characters; each part of a split message needs its own."""
    if nonce is None:
        return None
    return nonce[:25] if index == 0 else f"{nonce[:21]}p{index}"


@contextlib.contextmanager
def delivery_errors() -> Iterator[None]:
    """Discord failures as DeliveryError: transient ones retried later, permanent ones not."""
    try:
        yield
    except discord.RateLimited as exc:
        wait = exc.retry_after
        raise DeliveryError(
            f"rate limited for {wait:.0f} s", permanent=False, retry_after=wait
        ) from exc
    except discord.DiscordServerError as exc:
        raise DeliveryError(f"Discord server error {exc.status}", permanent=False) from exc
    except discord.HTTPException as exc:
        transient = exc.status == 429 or exc.status >= 500
        reason = f"Discord {exc.status} (code {exc.code}): {exc.text[:200]}"
        raise DeliveryError(reason, permanent=not transient) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"could not reach Discord: {exc!r}"[:300], permanent=False) from exc
