"""How steady is this machine's CPU? The same small piece of work, timed over and over.

    python bench/cpu_steady.py [--seconds 10]

Latency tails in the other benchmarks are only meaningful next to this: on a machine that now
and then runs a process at a fraction of its speed for tens of milliseconds (a virtual machine
whose host is busy), every p99 here carries those stalls, the bare baselines' included. Prints
the distribution of one ~1 ms piece of pure-Python work, and when the slow ones happened.
"""

from __future__ import annotations

import argparse
import itertools
import time


def work() -> int:
    total = 0
    for i in range(20_000):
        total += i * i
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    start = time.monotonic()
    runs: list[tuple[float, float]] = []
    while (now := time.monotonic()) - start < args.seconds:
        began = time.perf_counter()
        work()
        runs.append((now - start, (time.perf_counter() - began) * 1000))
    times = sorted(ms for _, ms in runs)
    median = times[len(times) // 2]

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p / 100 * len(times)))]

    print(f"{len(times)} runs of the same work over {args.seconds:.0f} s")
    print(
        f"ms per run: p50 {median:.2f}  p99 {pct(99):.2f}  p99.9 {pct(99.9):.2f}  "
        f"max {times[-1]:.2f}"
    )
    slow = [(at, ms) for at, ms in runs if ms > 5 * median]
    print(f"runs over 5x the median: {len(slow)}")
    # Group slow runs less than 100 ms apart into one stall.
    stalls: list[list[float]] = []
    for at, ms in slow:
        if stalls and at - stalls[-1][1] < 0.1:
            stalls[-1][1], stalls[-1][2] = at, max(stalls[-1][2], ms)
        else:
            stalls.append([at, at, ms])
    for began_at, _, worst in stalls[:20]:
        print(f"  stall at {began_at:6.2f} s: slowest run {worst:.1f} ms")
    if len(stalls) > 1:
        gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(stalls))
        print(f"stalls: {len(stalls)}, median gap between them {gaps[len(gaps) // 2]:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
