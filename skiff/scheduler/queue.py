"""The scheduling queue, as kube-scheduler's: activeQ, backoffQ and the unschedulable pods.

- activeQ: pods ready to be tried, ordered by the profile's QueueSort key (smallest first).
- backoffQ: pods that failed recently, each waiting 1 s doubling per attempt up to 10 s.
- unschedulable: pods that did not fit; a cluster event that could make them fit (node added or changed,
  pod deleted) moves them to backoffQ (still backing off) or activeQ; after 5 minutes they are retried
  anyway. A failure seen after such an event arrived during the pod's own cycle goes to backoffQ, so the
  event is not missed.
- gated: pods refused by PreEnqueue (scheduling gates); re-checked when the pod is updated.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .types import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
UNSCHEDULABLE_TIMEOUT = 300.0


@dataclass(eq=False)
class QueuedPod:
    pod: PodInfo
    timestamp: float
    attempts: int = 0
    initial_attempt: float | None = None
    backoff_until: float = 0.0
    unschedulable_plugins: set[str] = field(default_factory=set)
    version: int = 0
    where: str = ""  # active, backoff, unschedulable, gated, flight
    cycle: int = 0
    noticed_at: float = field(default_factory=time.time)  # wall clock of the first add, for the trace
    noticed_revision: str = ""  # the pod's resourceVersion when first seen, for the trace


class SchedulingQueue:
    def __init__(
        self,
        sort_key: Callable[[QueuedPod], Any],
        pre_enqueue: Callable[[PodInfo], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        initial_backoff: float = INITIAL_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        unschedulable_timeout: float = UNSCHEDULABLE_TIMEOUT,
    ) -> None:
        self.sort_key = sort_key
        self.pre_enqueue = pre_enqueue or (lambda pod: None)
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.unschedulable_timeout = unschedulable_timeout
        self.pods: dict[str, QueuedPod] = {}
        self._active: list[tuple[Any, int, int, QueuedPod]] = []
        self._backoff: list[tuple[float, int, int, QueuedPod]] = []
        self._seq = itertools.count()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._last_sweep = float("-inf")
        self.ready = asyncio.Event()
        self.on_gated: Callable[[PodInfo, Any], None] = lambda pod, status: None

    # ------------------------------------------------------------ sizes

    def __len__(self) -> int:
        return len(self.pods)

    def count(self, where: str) -> int:
        return sum(1 for q in self.pods.values() if q.where == where)

    # ------------------------------------------------------------ internal moves

    def _to_active(self, q: QueuedPod) -> None:
        q.where = "active"
        q.version += 1
        heapq.heappush(self._active, (self.sort_key(q), next(self._seq), q.version, q))
        self.ready.set()

    def _to_backoff(self, q: QueuedPod) -> None:
        q.where = "backoff"
        q.version += 1
        heapq.heappush(self._backoff, (q.backoff_until, next(self._seq), q.version, q))

    def _enqueue(self, q: QueuedPod) -> None:
        st = self.pre_enqueue(q.pod)
        if st is not None:
            q.where = "gated"
            q.version += 1
            self.on_gated(q.pod, st)
            return
        if q.backoff_until > self.clock():
            self._to_backoff(q)
        else:
            self._to_active(q)

    def backoff_duration(self, attempts: int) -> float:
        d = self.initial_backoff
        for _ in range(1, attempts):
            d *= 2
            if d >= self.max_backoff:
                return self.max_backoff
        return min(d, self.max_backoff)

    # ------------------------------------------------------------ informer side

    def add(self, pod: PodInfo) -> None:
        old = self.pods.get(pod.key)
        if old is not None:
            self.update(pod)
            return
        q = QueuedPod(pod, self.clock())
        meta = getattr(pod.obj, "metadata", None)
        q.noticed_revision = (getattr(meta, "resource_version", None) or "") if meta is not None else ""
        self.pods[pod.key] = q
        self._enqueue(q)

    def update(self, pod: PodInfo) -> None:
        q = self.pods.get(pod.key)
        if q is None:
            self.add(pod)
            return
        q.pod = pod
        if q.where == "flight":
            return
        if q.where in ("gated", "unschedulable"):
            self._enqueue(q)
        elif q.where == "active":
            self._to_active(q)  # re-sort with the new spec (stale heap entry skipped by version)

    def delete(self, key: str) -> None:
        q = self.pods.pop(key, None)
        if q is not None:
            q.version += 1
            q.where = "deleted"

    def move_all(self, event: str = "") -> None:
        """A cluster event that may make unschedulable pods fit: retry them (after their backoff)."""
        self.move_request_cycle = self.scheduling_cycle
        for q in list(self.pods.values()):
            if q.where == "unschedulable":
                self._enqueue(q)

    def move_where(self, pred: Callable[[PodInfo], bool]) -> None:
        for q in list(self.pods.values()):
            if q.where == "unschedulable" and pred(q.pod):
                self._enqueue(q)

    # ------------------------------------------------------------ scheduler side

    def flush(self) -> None:
        """Backoff expiries every call; the 5-minute sweep of unschedulable pods at most once a second."""
        now = self.clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, ver, q = heapq.heappop(self._backoff)
            if q.version == ver and q.where == "backoff":
                self._to_active(q)
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        for q in list(self.pods.values()):
            if q.where == "unschedulable" and now - q.timestamp >= self.unschedulable_timeout:
                self._enqueue(q)

    def next_backoff_expiry(self) -> float | None:
        while self._backoff:
            exp, _, ver, q = self._backoff[0]
            if q.version == ver and q.where == "backoff":
                return exp
            heapq.heappop(self._backoff)
        return None

    def pop(self) -> QueuedPod | None:
        while self._active:
            _, _, ver, q = heapq.heappop(self._active)
            if q.version != ver or q.where != "active":
                continue
            q.where = "flight"
            q.version += 1
            q.attempts += 1
            if q.initial_attempt is None:
                q.initial_attempt = self.clock()
            self.scheduling_cycle += 1
            q.cycle = self.scheduling_cycle
            return q
        self.ready.clear()
        return None

    def done(self, q: QueuedPod) -> None:
        """The pod was bound (or is being bound): it leaves the queue."""
        if self.pods.get(q.pod.key) is q:
            del self.pods[q.pod.key]
        q.where = "done"

    def add_unschedulable(self, q: QueuedPod, plugins: set[str] | None = None) -> None:
        """The pod did not fit (or failed): back to unschedulable, or backoff if an event came meanwhile."""
        if self.pods.get(q.pod.key) is not q:
            if q.pod.key in self.pods or q.where == "deleted":
                return
            self.pods[q.pod.key] = q
        q.timestamp = self.clock()
        q.backoff_until = q.timestamp + self.backoff_duration(q.attempts)
        q.unschedulable_plugins = set(plugins or ())
        if self.move_request_cycle >= q.cycle:
            self._to_backoff(q)
        else:
            q.where = "unschedulable"
            q.version += 1

    def add_backoff(self, q: QueuedPod) -> None:
        """An error (not a fit failure): retry after backoff."""
        if self.pods.get(q.pod.key) is not q:
            if q.pod.key in self.pods or q.where == "deleted":
                return
            self.pods[q.pod.key] = q
        q.timestamp = self.clock()
        q.backoff_until = q.timestamp + self.backoff_duration(q.attempts)
        self._to_backoff(q)
