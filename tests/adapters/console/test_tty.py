"""Issue 15, item 12: the interactive console on a real terminal (a pty).

Ctrl-C at the prompt stops it at once (it used to wait for Enter), and a channel post printed
while the prompt shows is followed by the prompt again. A real `communitybot console`, its
terminal a pseudo-terminal this test drives; every wait polls with a deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bot_process import clean_env

pytestmark = pytest.mark.process


class Terminal:
    def __init__(self, cwd: Path) -> None:
        self.master, slave = os.openpty()

        def controlling_terminal() -> None:
            # The pty becomes the child's terminal, so that ^C typed on it sends SIGINT.
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--user", "olu", "--maintainer"],
            cwd=cwd,
            env=clean_env({"HOME": str(cwd), "TERM": "dumb"}),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, predicate: object, within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while not predicate(self.output):  # type: ignore[operator]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {within} s:\n{self.output!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    if self.proc.poll() is not None:
                        raise AssertionError(f"the console exited:\n{self.output!r}")
                    continue
                self.output += chunk

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def wait_exit(self, within: float) -> int:
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running {within} s later:\n{self.output!r}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    self.output += os.read(self.master, 65536)
        return int(self.proc.returncode)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def test_ctrl_c_at_the_prompt_stops_the_console_at_once(terminal: Terminal) -> None:
    terminal.read_until(lambda out: out.endswith(b"> "), 60, "prompt")
    terminal.type(b"/communitybot timez")  # half a command, no Enter
    terminal.type(b"\x03")
    code = terminal.wait_exit(10)
    assert code == 130
    assert b"Traceback" not in terminal.output


def test_a_channel_post_redraws_the_prompt_after_it(terminal: Terminal) -> None:
    terminal.read_until(lambda out: out.endswith(b"> "), 60, "prompt")
    terminal.type(b"/announce --yes Hello from the terminal\r")
    # The announcement is posted by the delivery timer, usually while the prompt after the
    # answer already shows, sometimes a moment before it does.
    answered = b"shows how each copy went.\r\n"
    posted = b"]\r\nHello from the terminal\r\n"
    terminal.read_until(lambda out: posted in out and out.endswith(b"> "), 30, "post")
    after_answer = terminal.output[terminal.output.rindex(answered) + len(answered) :]
    if after_answer.startswith(b"> "):
        # The prompt was on screen: the post is written over its line (carriage return, erase
        # line), and the prompt comes again below it.
        assert after_answer == b"> \r\x1b[K[#main" + posted + b"> ", after_answer
    else:
        # It came first: printed as it is, with the one prompt after it.
        assert after_answer == b"[#main" + posted + b"> ", after_answer
    terminal.type(b"\x04")  # Ctrl-D quits as before
    assert terminal.wait_exit(20) == 0
