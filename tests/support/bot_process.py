"""A real `communitybot run` as a child process, started as an operator would start it.

Shared by every process test: a clean environment (nothing of the caller's SLACK_*, DISCORD_*
or COMMUNITYBOT_* leaks in), HTTP on port 0, the log read as it is written, and waits that
poll with a deadline instead of sleeping for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
    }
    env["COMMUNITYBOT_HTTP_PORT"] = "0"
    env.update(extra)
    return env


class BotProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, cwd: Path, env: Mapping[str, str]) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=cwd,
            env=clean_env(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self.changed.set()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    @property
    def log(self) -> str:
        """The end of the log, for failure messages."""
        return "\n".join(self.lines[-60:])

    def port(self) -> int | None:
        """The HTTP port the bot bound (it logs it at start)."""
        for line in self.lines:
            found = re.search(r"HTTP on [\d.]+:(\d+)", line)
            if found:
                return int(found.group(1))
        return None

    async def wait_for(self, predicate: Callable[[], object], within: float, what: str) -> object:
        """Poll `predicate` (re-checked whenever the bot logs) until truthy, or fail."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            self.changed.clear()
            value = predicate()
            if value:
                return value
            if self.proc.returncode is not None:
                raise AssertionError(f"the bot exited while waiting for {what}:\n{self.stderr}")
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {what} within {within} s:\n{self.stderr}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))

    async def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await self.reader

    async def stop(self, sig: int = signal.SIGTERM, within: float = 25.0) -> int:
        """Signal the bot and return its exit code (killing it if it outlives `within`)."""
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await self.reader
