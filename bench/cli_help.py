"""How long `communitybot --help` takes, cold, as a person would run it (target: < 0.5 s).

Run by hand: python bench/cli_help.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    exe = shutil.which("communitybot")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "bot", "--help"]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    samples.sort()
    print(
        f"communitybot --help over {runs} runs: median {statistics.median(samples) * 1000:.0f} ms, "
        f"max {samples[-1] * 1000:.0f} ms (target < 500 ms)"
    )


if __name__ == "__main__":
    main()
