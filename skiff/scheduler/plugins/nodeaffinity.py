"""NodeAffinity (PreFilter, Filter, PreScore, Score): nodeSelector and node affinity.

Filter: every nodeSelector label must match, and one of the required nodeSelectorTerms (each term's
expressions ANDed; In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields on metadata.name).
Score: the sum of the weights of the preferred terms a node matches, scaled so the best node has 100.
"""

from __future__ import annotations

import numpy as np

from ..cache import IntArray
from ..framework import SKIP, Code, CycleState, Fail, Plugin, Status, default_normalize
from ..types import PodInfo
from .helpers import node_affinity_mask, term_mask

REASON = "node(s) didn't match Pod's node affinity/selector"


class NodeAffinity(Plugin):
    name = "NodeAffinity"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        return None if pod.has_node_constraints else SKIP

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        m = node_affinity_mask(self.cache, pod)
        if m is None:
            return []
        return [Fail(~m, REASON, Code.UNRESOLVABLE)]

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        return None if pod.preferred_terms else SKIP

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        s = np.zeros(len(idx), dtype=np.int64)
        for w, t in pod.preferred_terms:
            s += np.where(term_mask(self.cache, t)[idx], w, 0)
        return s

    def normalize(self, state: CycleState, pod: PodInfo, scores: IntArray) -> IntArray:
        return default_normalize(scores)
