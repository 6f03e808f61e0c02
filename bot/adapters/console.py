"""The console: the same bot in a terminal, with no platform credentials.

On a terminal it prompts (with history) and asks y/N before side-effecting commands; with piped
input it reads one command per line, prints each reply, and exits 0 at the end of input.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bot.core.invocation import Actor, Invocation, Place, Platform, Press
from bot.core.message import Message
from bot.core.plaintext import render
from bot.core.replies import Reply
from bot.core.targets import Target, TargetKind
from bot.runtime.dispatch import CANCEL, CONFIRM, Dispatcher
from bot.runtime.permissions import CONSOLE_MAINTAINER_ROLE

PLACE = Place(Platform.CONSOLE, channel_id="main")
HISTORY = Path.home() / ".communitybot_history"


def split_command(line: str) -> tuple[str, str] | None:
    """`/hero nominate @olu …` → ("hero", "nominate @olu …")."""
    line = line.strip()
    if not line.startswith("/") or len(line) < 2:
        return None
    head, _, rest = line[1:].partition(" ")
    return head.lower(), rest


class ConsoleAdapter:
    platform = Platform.CONSOLE

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        user: str,
        maintainer: bool = False,
        out: TextIO | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.user = user
        self.maintainer = maintainer
        self.out = out or sys.stdout
        self._connected = False
        self.on_line: Callable[[], None] = lambda: None
        # The console user's own zone, as the last answer to them carried it: channel posts
        # are read by them too.
        self.zone: str | None = None
        # The prompt on screen while the console waits for a line (None otherwise): a post
        # printed meanwhile redraws it below itself, with what was typed so far.
        self._prompt: str | None = None

    def actor(self, name: str | None = None, *, maintainer: bool | None = None) -> Actor:
        """The console user (or, for tests, anyone else by name)."""
        is_maint = self.maintainer if maintainer is None else maintainer
        who = name or self.user
        return Actor(
            Platform.CONSOLE,
            who,
            who,
            frozenset({CONSOLE_MAINTAINER_ROLE}) if is_maint else frozenset(),
        )

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        self._connected = True

    async def stop(self) -> None:
        self._connected = False

    # -- commands --

    async def say(self, line: str, actor: Actor | None = None) -> Reply:
        parts = split_command(line)
        if parts is None:
            return Reply(
                Message.text("Commands start with /; try /communitybot help."), outcome="rejected"
            )
        command, rest = parts
        inv = Invocation(command=command, actor=actor or self.actor(), place=PLACE, text=rest)
        return await self.dispatcher.handle(inv)

    async def press(self, action_id: str, actor: Actor | None = None) -> Reply:
        return await self.dispatcher.press(Press(action_id, actor or self.actor(), PLACE))

    async def show(self, reply: Reply, actor: Actor | None = None) -> None:
        if actor is None or actor == self.actor():
            # The person at this terminal reads the channel too: remember their zone.
            self.zone = reply.zone
        self._print(render(reply.message, reply.zone, buttons=False))

    def _print(self, text: str) -> None:
        text = text.rstrip("\n") + "\n"
        if self._prompt is not None:
            # Over the prompt's line (carriage return, erase line), then the prompt again.
            text = f"\r\x1b[K{text}{self._prompt}{_typed_so_far()}"
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # The reader went away (`communitybot console | head`): nobody is left to print
            # for, so stop delivering here rather than fail every send after this.
            self._connected = False

    async def handle_line(self, line: str, *, interactive: bool) -> None:
        if not line.strip():
            return
        reply = await self.say(line)
        await self.show(reply)
        confirm = next(
            (b.action_id for b in reply.message.actions if b.action_id.startswith(f"{CONFIRM}:")),
            None,
        )
        if confirm is None:
            return
        token = confirm.partition(":")[2]
        if not interactive:
            self._print("(Piped input cannot answer y/N: add --yes to the command to go ahead.)")
            await self.press(f"{CANCEL}:{token}")
            return
        answer = (await self._read_line("Go ahead? [y/N] ")).strip().lower()
        action = CONFIRM if answer in ("y", "yes") else CANCEL
        await self.show(await self.press(f"{action}:{token}"))

    async def run(self, stdin: TextIO | None = None) -> None:
        """Read commands until the end of input."""
        stdin = stdin or sys.stdin
        interactive = stdin.isatty()
        if interactive:
            _load_history()
            terminal = _terminal_state(stdin)
            self._print(
                f"communitybot console — you are @{self.user}"
                f"{' (maintainer)' if self.maintainer else ''}. "
                "Try /communitybot help; Ctrl-D quits."
            )
        try:
            while True:
                if interactive:
                    try:
                        line = await self._read_line("> ")
                    except EOFError:
                        self._print("")
                        return
                else:
                    line = await asyncio.to_thread(stdin.readline)
                    if not line:
                        return
                await self.handle_line(line, interactive=interactive)
                self.on_line()
        finally:
            if interactive:
                _save_history()
                _restore_terminal(stdin, terminal)

    async def _read_line(self, prompt: str) -> str:
        """input(prompt) on a thread of its own, so that Ctrl-C stops the console at once.

        On asyncio's worker threads, a line still being read kept the process alive after
        Ctrl-C (asyncio.run waits for them) until Enter was pressed. A daemon thread left
        waiting in input() does not hold the process back.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()

        def settle(result: str | None, error: BaseException | None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result or "")

        def shown() -> None:
            # Only from here on is there a prompt on screen for a post to redraw: a post
            # printed before it would otherwise show two prompts, and a key typed at the
            # first could be lost while readline set the terminal up.
            self._prompt = prompt

        def read() -> None:
            try:
                line: str | None = _input(prompt, shown)
                error: BaseException | None = None
            except BaseException as exc:  # EOFError at Ctrl-D, or the terminal went away
                line, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle, line, error)

        try:
            threading.Thread(target=read, name="console-input", daemon=True).start()
            return await done
        finally:
            self._prompt = None

    # -- deliveries --

    async def send(
        self, target: Target, message: Message, *, nonce: str | None = None, zone: str | None = None
    ) -> str:
        del nonce
        if target.kind is TargetKind.DM:
            where = f"direct message to @{target.id}"
        else:
            zone = self.zone
            where = f"#{target.id}"
        self._print(f"[{where}]\n{render(message, zone, buttons=False)}")
        return uuid.uuid4().hex

    async def edit(
        self, target: Target, ref: str, message: Message, *, zone: str | None = None
    ) -> None:
        del zone
        self._print(f"[#{target.id}, edited {ref[:8]}]\n{render(message, buttons=False)}")

    async def delete(self, target: Target, ref: str) -> None:
        self._print(f"[#{target.id}: message {ref[:8]} deleted]")

    async def check_channels(self, channel_ids: Sequence[str]) -> Mapping[str, str]:
        """The console's one channel is always there."""
        del channel_ids
        return {}


def _input(prompt: str, shown: Callable[[], None]) -> str:
    """input(prompt), calling `shown` once the prompt is on screen and the terminal is being
    read (readline's pre-input hook; without readline, just before)."""
    try:
        import readline
    except ImportError:
        shown()
        return input(prompt)
    readline.set_pre_input_hook(shown)
    try:
        return input(prompt)
    finally:
        readline.set_pre_input_hook(None)


def _typed_so_far() -> str:
    try:
        import readline

        return readline.get_line_buffer()
    except ImportError:
        return ""


def _terminal_state(stdin: TextIO) -> list | None:  # type: ignore[type-arg]
    """The terminal's settings, to restore if the console stops while readline holds it."""
    try:
        import termios

        return termios.tcgetattr(stdin.fileno())
    except (ImportError, OSError, ValueError):
        return None


def _restore_terminal(stdin: TextIO, state: list | None) -> None:  # type: ignore[type-arg]
    if state is None:
        return
    try:
        import termios

        termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, state)
    except (ImportError, OSError, ValueError):
        pass


def _load_history() -> None:
    try:
        import readline

        if HISTORY.exists():
            readline.read_history_file(HISTORY)
    except (ImportError, OSError):
        pass


def _save_history() -> None:
    try:
        import readline

        readline.set_history_length(1000)
        readline.write_history_file(HISTORY)
        os.chmod(HISTORY, 0o600)
    except (ImportError, OSError):
        pass
