"""Graceful stop for commands: count the ones in progress, refuse new ones, wait for the rest.

A command being handled is a transaction about to commit and an answer about to be sent;
cancelling it on SIGTERM would leave the asker with a timeout and nothing done. So a
stopping process first closes the gate (new commands get a one-sentence "restarting"
answer, which on Discord beats "the application did not respond"), then waits a bounded
time for the commands already inside.
"""

from __future__ import annotations

import asyncio

from bot import metrics
from bot.core.dispatch import Dispatcher
from bot.core.invocation import Invocation, Press
from bot.core.message import Message
from bot.core.replies import Reply
from bot.core.services import Services

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


class GatedDispatcher(Dispatcher):
    """The Dispatcher, with its two entry points passing through a CommandGate."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.gate = CommandGate()

    async def handle(self, inv: Invocation) -> Reply:
        if not self.gate.enter():
            metrics.COMMANDS.labels(inv.command, str(inv.actor.platform), "unavailable").inc()
            return Reply(Message.text(RESTARTING), outcome="unavailable")
        try:
            return await super().handle(inv)
        finally:
            self.gate.leave()

    async def press(self, press: Press) -> Reply:
        if not self.gate.enter():
            kind = press.action_id.partition(":")[0]
            metrics.COMMANDS.labels(
                f"button {kind}", str(press.actor.platform), "unavailable"
            ).inc()
            return Reply(Message.text(RESTARTING), outcome="unavailable")
        try:
            return await super().press(press)
        finally:
            self.gate.leave()
