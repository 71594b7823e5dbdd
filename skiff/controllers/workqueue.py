"""A keyed work queue with client-go's guarantees: a key is queued at most once, never handed to two
workers at once (re-added while in process, it comes back after done()), can be delayed, and retried
with a per-key exponential backoff until forgotten."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable


class WorkQueue:
    def __init__(self, base_delay: float = 0.05, max_delay: float = 30.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()  # queued, or to be queued again when its processing ends
        self._processing: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._failures: dict[str, int] = {}
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._ready.set()

    def add_after(self, key: str, delay: float) -> None:
        """Add the key after ``delay`` seconds (an earlier pending add wins)."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        pending = self._timers.get(key)
        if pending is not None:
            if pending.when() <= loop.time() + delay:
                return
            pending.cancel()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        """Retry a key that failed: 50 ms, doubling per failure up to max_delay, until forget()."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        self.add_after(key, min(self.base_delay * 2**n, self.max_delay))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    async def get(self) -> str:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._ready.set()

    def shutdown(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    async def serve(
        self, sync: Callable[[str], Awaitable[float | None]], log: logging.Logger, failed: str, key_name: str
    ) -> None:
        """One worker, until cancelled: hands each key to ``sync``. A failure is logged (``failed``
        says what could not be done) and retried with back-off; a returned delay queues the key
        again after it."""
        while True:
            key = await self.get()
            try:
                again = await sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("%s, will retry: %s", failed, e, extra={"kv": {key_name: key}})
                self.add_rate_limited(key)
            else:
                self.forget(key)
                if again is not None:
                    self.add_after(key, again)
            finally:
                self.done(key)
