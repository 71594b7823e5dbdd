"""SchedulingGates (PreEnqueue): a pod with spec.schedulingGates stays out of the active queue."""

from __future__ import annotations

from ..framework import Code, Plugin, Status
from ..types import PodInfo


class SchedulingGates(Plugin):
    name = "SchedulingGates"

    def pre_enqueue(self, pod: PodInfo) -> Status | None:
        if not pod.gates:
            return None
        return Status(Code.UNRESOLVABLE, [f"waiting for scheduling gates: [{' '.join(pod.gates)}]"])
