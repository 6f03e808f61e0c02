"""Draining for a graceful stop: count commands in progress, refuse new ones, await the rest.

A command being handled is a transaction about to commit and an answer about to be sent;
cancelling it on SIGTERM would leave the asker with a timeout and nothing done. So a
stopping process first closes the gate (new commands get a one-sentence "restarting"
answer, which on Discord beats "the application did not respond"), then waits a bounded
time for the commands already inside.
"""

from __future__ import annotations

import asyncio

RESTARTING = "I'm restarting right now; please try again in a minute."


class CommandGate:
    """How many commands are in progress, and whether new ones may start."""

    def __init__(self) -> None:
        self.open = True
        self.in_progress = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> bool:
        if not self.open:
            return False
        self.in_progress += 1
        self._idle.clear()
        return True

    def leave(self) -> None:
        self.in_progress -= 1
        if self.in_progress == 0:
            self._idle.set()

    def close(self) -> None:
        """Refuse new commands from now on."""
        self.open = False

    async def idle(self) -> None:
        """Return once no command is in progress."""
        await self._idle.wait()
