"""The shared watch feed: how soon it flushes and how it batches when its watchers are slow to take a
flush. The loop's clock is replaced so that "slow" is exact, not a matter of this machine's speed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from skiff.apiserver import cache
from skiff.apiserver.cache import COALESCE, FEED_MIN_INTERVAL, Change, Feed, Watcher


class Clock:
    """The running loop with a settable time(): everything else (call_soon, call_later) is real."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.now = 100.0

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    loop = asyncio.new_event_loop()
    c = Clock(loop)
    monkeypatch.setattr(cache.asyncio, "get_running_loop", lambda: c)
    yield c
    loop.close()


def change(rv: int) -> Change:
    return Change("ADDED", rv, "ns", {"metadata": {"name": f"p{rv}"}}, b'{"rv":%d}' % rv, None)


def render(ch: Change) -> bytes:
    return ch.raw + b"\n"


def feed_with(n: int) -> tuple[Feed, list[Watcher]]:
    feed = Feed("ns", render)
    ws = [Watcher("ns", None, 0) for _ in range(n)]
    for w in ws:
        feed.join(w)
    return feed, ws


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_an_idle_feed_flushes_at_once(clock: Clock) -> None:
    async def run() -> None:
        feed, (w,) = feed_with(1)
        feed.append(change(1))
        assert feed.read(w) is None  # not flushed yet: the rest of the store's batch may join
        feed.append(change(2))
        await settle()
        assert feed.read(w) == (b'{"rv":1}\n{"rv":2}\n', 2)

    clock.loop.run_until_complete(run())


@pytest.mark.parametrize(
    ("took", "interval"),
    [(0.0005, FEED_MIN_INTERVAL), (0.012, 0.024), (1.0, COALESCE)],
)
def test_the_next_flush_waits_twice_as_long_as_the_watchers_took(
    clock: Clock, took: float, interval: float
) -> None:
    async def run() -> None:
        feed, (a, b) = feed_with(2)
        feed.append(change(1))
        await settle()
        assert feed.read(a) is not None
        assert feed.interval == FEED_MIN_INTERVAL  # b has not taken the flush yet
        clock.now += took
        assert feed.read(b) is not None
        assert feed.interval == pytest.approx(interval)

    clock.loop.run_until_complete(run())


def test_a_busy_feed_waits_out_its_interval(clock: Clock) -> None:
    async def run() -> None:
        feed, (a, b) = feed_with(2)
        feed.append(change(1))
        await settle()
        feed.read(a)
        clock.now += 0.012
        feed.read(b)  # interval 24 ms, of which 12 have passed
        feed.append(change(2))
        await settle()
        assert feed.read(a) is None
        await asyncio.sleep(0.03)  # call_later runs on the real clock
        assert feed.read(a) == (b'{"rv":2}\n', 2)
        assert feed.read(b) == (b'{"rv":2}\n', 2)

    clock.loop.run_until_complete(run())


def test_a_watcher_that_left_is_not_waited_for(clock: Clock) -> None:
    async def run() -> None:
        feed, (a, b) = feed_with(2)
        feed.append(change(1))
        await settle()
        assert feed.read(a) is not None
        clock.now += 0.012
        assert feed.read(b) is not None
        assert feed.interval == pytest.approx(0.024)
        feed.watchers.discard(b)  # b's client went away
        feed.append(change(2))
        await asyncio.sleep(0.03)
        assert feed.flushed == 2
        clock.now += 0.001
        assert feed.read(a) == (b'{"rv":2}\n', 2)
        assert feed.interval == pytest.approx(FEED_MIN_INTERVAL)  # a alone took the flush at once

    clock.loop.run_until_complete(run())
