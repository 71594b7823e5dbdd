"""NodePorts (PreFilter, Filter): a pod's hostPorts must be free on the node.

Two ports conflict when protocol and port are equal and the host IPs overlap (0.0.0.0 overlaps all).
"""

from __future__ import annotations

import numpy as np

from ..framework import SKIP, CycleState, Fail, Plugin, Status
from ..types import PodInfo

REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"


def conflicts(want: tuple[str, str, int], have: tuple[str, str, int]) -> bool:
    if want[1] != have[1] or want[2] != have[2]:
        return False
    return want[0] == have[0] or ANY_IP in (want[0], have[0])


class NodePorts(Plugin):
    name = "NodePorts"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        return None if pod.host_ports else SKIP

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        m = np.zeros(cache.cap, dtype=bool)
        for want in pod.host_ports:
            for i in cache.port_nodes.get((want[1], want[2]), ()):
                if m[i]:
                    continue
                if any(conflicts(want, have) for have in cache.ports_on(i)):
                    m[i] = True
        return [Fail(m, REASON)] if m.any() else []
