"""Deadline (QueueSort, PreFilter, Permit, PreBind): earliest deadline first; never bind a late pod.

A pod's deadline is creationTimestamp (or status.startTime) + spec.activeDeadlineSeconds, or the RFC 3339
time in the annotation `skiff.io/deadline` (the earlier of the two when both are set). The queue orders
by priority (higher first), then deadline (earlier first; none last), then arrival, so without deadlines
it is PrioritySort. A pod whose deadline has passed is not bound: it stays pending and gets a Warning
event with reason DeadlineExceeded.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..framework import Code, CycleState, Plugin, Status
from ..types import PodInfo


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Deadline(Plugin):
    name = "Deadline"

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.reported: set[str] = set()

    def sort_key(self, q: Any) -> tuple[int, float, float]:
        d = q.pod.deadline
        return (-q.pod.priority, math.inf if d is None else d, q.timestamp)

    def _late(self, pod: PodInfo) -> Status | None:
        if pod.deadline is None or self.handle.clock() <= pod.deadline:
            return None
        msg = f"pod's deadline {_iso(pod.deadline)} has passed"
        if pod.uid not in self.reported:
            self.reported.add(pod.uid)
            if len(self.reported) > 100_000:
                self.reported.clear()
            self.handle.events(pod, "Warning", "DeadlineExceeded", f"Not binding {pod.key}: {msg}")
        return Status(Code.UNRESOLVABLE, [msg])

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        return self._late(pod)

    def permit(self, state: CycleState, pod: PodInfo, node: str) -> tuple[Status | None, float]:
        return self._late(pod), 0.0

    async def pre_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status | None:
        return self._late(pod)
