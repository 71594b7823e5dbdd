"""NodeName (Filter): a pod naming a node in spec.nodeName fits only that node."""

from __future__ import annotations

import numpy as np

from ..framework import Code, CycleState, Fail, Plugin
from ..types import PodInfo

REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = "NodeName"

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        if not pod.node_name:
            return []
        m = np.ones(self.cache.cap, dtype=bool)
        i = self.cache.index.get(pod.node_name)
        if i is not None:
            m[i] = False
        return [Fail(m, REASON, Code.UNRESOLVABLE)]
