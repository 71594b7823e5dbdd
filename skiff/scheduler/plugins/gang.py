"""Gang (PreFilter, Permit, Reserve/Unreserve): a group of pods is bound all or nothing.

A pod joins group NAME (per namespace) with the label `skiff.io/gang: NAME`; the group needs
`skiff.io/gang-min-member: "N"` members placed at once (annotation on its pods; default 1) and waits at
most `skiff.io/gang-timeout-seconds` (annotation, else args.timeoutSeconds, default 30). Members that fit
are held at Permit with their resources reserved; when N members hold reservations, all are released to
bind. If the time runs out first, every waiting member gives its reservation back and is requeued, with
a FailedScheduling event saying how many of N could be placed. A group with fewer than N pods known to
the scheduler is not tried at all.
"""

from __future__ import annotations

import time
from typing import Any

from ..framework import Code, CycleState, Plugin, Status, WaitingPod
from ..types import GANG_LABEL, GANG_MIN_ANNOTATION, GANG_TIMEOUT_ANNOTATION, PodInfo

GangKey = tuple[str, str]


def gang_of(pod: PodInfo) -> GangKey | None:
    name = pod.labels.get(GANG_LABEL)
    return (pod.namespace, name) if name else None


def min_member(pod: PodInfo) -> int:
    try:
        return max(int(pod.annotations.get(GANG_MIN_ANNOTATION, "1")), 1)
    except ValueError:
        return 1


class Gang(Plugin):
    name = "Gang"

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.default_timeout = float(self.args.get("timeoutSeconds", 30))
        self.members: dict[GangKey, set[str]] = {}
        self.deadlines: dict[GangKey, float] = {}

    # fed by the scheduler with every pod it sees (bound or not)
    def on_pod_add(self, pod: PodInfo) -> None:
        g = gang_of(pod)
        if g is not None:
            self.members.setdefault(g, set()).add(pod.key)

    def on_pod_delete(self, pod: PodInfo) -> None:
        g = gang_of(pod)
        if g is not None and g in self.members:
            self.members[g].discard(pod.key)
            if not self.members[g]:
                del self.members[g]

    def timeout(self, pod: PodInfo) -> float:
        try:
            return float(pod.annotations.get(GANG_TIMEOUT_ANNOTATION, self.default_timeout))
        except ValueError:
            return self.default_timeout

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        g = gang_of(pod)
        if g is None:
            return None
        self.on_pod_add(pod)
        need = min_member(pod)
        have = len(self.members.get(g, ()))
        if have < need:
            return Status(Code.UNRESOLVABLE, [f"pod group {g[1]} has {have} of the {need} pods it needs"])
        return None

    def _placed(self, g: GangKey) -> int:
        cache = self.cache
        return sum(1 for k in self.members.get(g, ()) if cache.pod_entry(k) is not None)

    def permit(self, state: CycleState, pod: PodInfo, node: str) -> tuple[Status | None, float]:
        g = gang_of(pod)
        if g is None:
            return None, 0.0
        self.on_pod_add(pod)
        need = min_member(pod)
        if self._placed(g) >= need:
            self.deadlines.pop(g, None)
            for wp in list(self.handle.waiting.values()):
                if gang_of(wp.pod) == g:
                    wp.allow(self.name)
            return None, 0.0
        deadline = self.deadlines.setdefault(g, time.monotonic() + self.timeout(pod))
        return Status(Code.WAIT), deadline - time.monotonic()

    def timeout_message(self, wp: WaitingPod) -> str:
        g = gang_of(wp.pod)
        name = g[1] if g else "?"
        return (
            f"pod group {name}: only {self._placed(g) if g else 0} of {min_member(wp.pod)} members could be "
            f"placed within {self.timeout(wp.pod):g}s; reservations released"
        )

    def reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status | None:
        return None

    def unreserve(self, state: CycleState, pod: PodInfo, node: str) -> None:
        g = gang_of(pod)
        if g is None:
            return
        others = [wp for wp in self.handle.waiting.values() if gang_of(wp.pod) == g and wp.pod.key != pod.key]
        for wp in others:
            wp.reject(self.name, f"pod group {g[1]}: member {pod.key} was rejected; reservations released")
        if not others:
            self.deadlines.pop(g, None)
