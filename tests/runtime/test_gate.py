"""The priority gate that orders the Docker runtime's creates and starts."""

from __future__ import annotations

import asyncio

from skiff.runtime.gate import PriorityGate


async def test_admits_up_to_limit_then_lowest_key_first() -> None:
    gate = PriorityGate(2)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str, key: float) -> None:
        async with gate.slot(key):
            order.append(name)
            await release.wait()

    holders = [asyncio.create_task(hold(n, 0)) for n in ("a", "b")]
    await asyncio.sleep(0)
    assert order == ["a", "b"] and gate.busy == 2
    late = [asyncio.create_task(hold(n, k)) for n, k in (("new", 5.0), ("old", 1.0), ("mid", 3.0))]
    await asyncio.sleep(0)
    assert order == ["a", "b"]  # full: everyone else waits
    release.set()
    await asyncio.gather(*holders, *late)
    assert order == ["a", "b", "old", "mid", "new"]
    assert gate.busy == 0


async def test_cancelled_waiter_gives_its_turn_away() -> None:
    gate = PriorityGate(1)
    release = asyncio.Event()
    ran: list[str] = []

    async def hold(name: str, key: float) -> None:
        async with gate.slot(key):
            ran.append(name)
            await release.wait()

    first = asyncio.create_task(hold("first", 0))
    await asyncio.sleep(0)
    gone = asyncio.create_task(hold("gone", 1))
    after = asyncio.create_task(hold("after", 2))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(first, after)
    assert ran == ["first", "after"] and gate.busy == 0
