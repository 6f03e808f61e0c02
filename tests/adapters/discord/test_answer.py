"""OnePerTurn: interactions of a burst start one per turn of the event loop, in arrival order."""

from __future__ import annotations

import asyncio
import itertools

from bot.adapters.discord.answer import OnePerTurn


async def _turns_until(done: asyncio.Future[None], counter: list[int]) -> None:
    # Counts turns of the loop: one increment per turn while the test runs.
    while not done.done():
        counter[0] += 1
        await asyncio.sleep(0)


async def test_waiters_start_in_arrival_order_one_per_turn() -> None:
    gate = OnePerTurn()
    turn = [0]
    all_started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    counting = asyncio.create_task(_turns_until(all_started, turn))
    started: list[tuple[str, int]] = []

    async def command(name: str) -> None:
        await gate.turn()
        started.append((name, turn[0]))
        if len(started) == 4:
            all_started.set_result(None)

    await asyncio.gather(*(command(name) for name in "abcd"))
    await counting
    assert [name for name, _ in started] == list("abcd")
    turns = [at for _, at in started]
    assert all(later > earlier for earlier, later in itertools.pairwise(turns))


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    gate = OnePerTurn()
    order: list[str] = []

    async def command(name: str) -> None:
        await gate.turn()
        order.append(name)

    first = asyncio.create_task(command("first"))
    second = asyncio.create_task(command("second"))
    third = asyncio.create_task(command("third"))
    await asyncio.sleep(0)  # all three are waiting
    second.cancel()
    await asyncio.gather(first, third)
    assert order == ["first", "third"]
    assert second.cancelled()
    # The gate is idle again and lets the next one straight through.
    await asyncio.wait_for(command("later"), timeout=1)
    assert order[-1] == "later"
