"""A priority gate: at most `limit` holders at once; waiters are admitted lowest key first.

The Docker runtime passes its container creates and starts through one: when pods arrive faster than
dockerd starts containers, unlimited concurrency slows every pod in flight down together. Keyed by the
pod's arrival, the oldest pod's next step goes first, so pods finish in the order they came instead of
all finishing late (see BENCHMARKS.md, Kubelet).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator


class PriorityGate:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.busy = 0
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, key: float) -> AsyncIterator[None]:
        if self.busy < self.limit and not self._waiting:
            self.busy += 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (key, next(self._seq), fut))
            try:
                await fut
            except asyncio.CancelledError:
                # Admitted (the slot was counted for us) but cancelled before running: hand it on.
                if fut.done() and not fut.cancelled():
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        self.busy -= 1
        while self._waiting:
            _, _, fut = heapq.heappop(self._waiting)
            if not fut.done():  # a cancelled waiter is skipped
                self.busy += 1
                fut.set_result(None)
                return
