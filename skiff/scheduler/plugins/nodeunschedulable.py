"""NodeUnschedulable (Filter): a cordoned node (spec.unschedulable) takes only pods tolerating
node.kubernetes.io/unschedulable:NoSchedule."""

from __future__ import annotations

import numpy as np

from ..framework import Code, CycleState, Fail, Plugin
from ..types import UNSCHEDULABLE_TAINT, PodInfo, Taint, tolerated

REASON = "node(s) were unschedulable"
_TAINT = Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule")


class NodeUnschedulable(Plugin):
    name = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        m = self.cache.unschedulable
        if not m.any() or tolerated(pod.tolerations, _TAINT):
            return []
        return [Fail(np.array(m), REASON, Code.UNRESOLVABLE)]
