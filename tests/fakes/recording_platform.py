"""A fake *platform* for scheduler unit tests, behind the Adapter protocol.

It stands where Slack or Discord would: it records what arrives, dedups by nonce as Discord
does with `enforce_nonce`, and fails, slows or hangs on demand the way a platform can. The
scheduler's code runs unchanged in front of it. (Process tests use the real adapters against
the HTTP fakes in this package instead.)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.invocation import Platform
from bot.core.message import Message
from bot.core.plaintext import render
from bot.core.ports import DeliveryError
from bot.core.targets import Target


@dataclass
class Post:
    target: str
    text: str
    nonce: str | None
    ref: str
    edits: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Failure:
    reason: str
    permanent: bool
    retry_after: float | None
    target: str | None  # only sends to this target fail; None: any


class RecordingPlatform:
    """Implements bot.core.ports.Adapter; `posts` is what the platform's users would see."""

    def __init__(self, platform: Platform, *, connected: bool = True) -> None:
        self.platform = platform
        self._connected = connected
        self.posts: list[Post] = []
        self.calls: list[tuple[str, str | None]] = []  # every send: (target, nonce)
        self.nonces: dict[str, Post] = {}
        self._failures: list[Failure] = []
        self._hold: asyncio.Event | None = None  # for the next send
        self._held: asyncio.Event | None = None  # the one a send is waiting on
        self.holding = asyncio.Event()  # set while a send is held
        self._ids = itertools.count(1)

    # -- the Adapter protocol --

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        self._connected = True

    async def stop(self) -> None:
        self._connected = False

    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        self.calls.append((str(target), nonce))
        if self._hold is not None:
            hold, self._hold = self._hold, None  # only this send waits; later ones go through
            self.holding.set()
            await hold.wait()
        failure = self._next_failure(str(target))
        if failure is not None:
            raise DeliveryError(
                failure.reason, permanent=failure.permanent, retry_after=failure.retry_after
            )
        if nonce is not None and nonce in self.nonces:
            return self.nonces[nonce].ref  # Discord with enforce_nonce: the earlier message
        post = Post(
            str(target), render(message, zone or "UTC", buttons=False), nonce, f"m{next(self._ids)}"
        )
        self.posts.append(post)
        if nonce is not None:
            self.nonces[nonce] = post
        return post.ref

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        post = self._post(target, ref)
        post.edits.append(render(message, zone or "UTC", buttons=False))

    async def delete(self, target: Target, ref: str) -> None:
        self._post(target, ref).deleted = True

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        del channel_ids
        return {}

    # -- what tests arrange --

    def disconnect(self) -> None:
        self._connected = False

    def fail(
        self,
        times: int = 1,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        reason: str | None = None,
        target: Target | None = None,
    ) -> None:
        """The next `times` sends (to `target`, if given) fail as a platform would fail them."""
        why = reason or ("channel_not_found" if permanent else "503 service unavailable")
        for _ in range(times):
            self._failures.append(
                Failure(why, permanent, retry_after, None if target is None else str(target))
            )

    def hold(self) -> None:
        """The next send waits (as on a hung connection) until `release()`."""
        self._hold = asyncio.Event()
        self._held = self._hold
        self.holding.clear()

    def release(self) -> None:
        if self._held is not None:
            self._held.set()
        self._hold = self._held = None

    def texts(self, target: Target | None = None) -> list[str]:
        return [p.text for p in self.posts if target is None or p.target == str(target)]

    def _next_failure(self, target: str) -> Failure | None:
        for i, failure in enumerate(self._failures):
            if failure.target is None or failure.target == target:
                return self._failures.pop(i)
        return None

    def _post(self, target: Target, ref: str) -> Post:
        for post in self.posts:
            if post.ref == ref and post.target == str(target):
                return post
        raise DeliveryError(f"unknown message {ref}", permanent=True)
