"""What the benchmark scripts share for the processes they start."""

from __future__ import annotations

import asyncio
import signal


async def stop_process(proc: asyncio.subprocess.Process, within: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `within` seconds."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), within)
        except TimeoutError:
            proc.kill()
