"""TaintToleration (Filter, PreScore, Score).

Filter: every NoSchedule/NoExecute taint must be tolerated; the reason names the first that is not:
"node(s) had untolerated taint {key: value}". Score: fewer untolerated PreferNoSchedule taints is better
(counted, then scaled reversed so the node with the fewest has 100).
"""

from __future__ import annotations

import numpy as np

from ..cache import IntArray
from ..framework import SKIP, Code, CycleState, Fail, Plugin, Status, default_normalize
from ..types import PodInfo, tolerated
from .helpers import first_untolerated


class TaintToleration(Plugin):
    name = "TaintToleration"

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        if len(cache.taint_sets) == 1:
            return []
        bad: dict[str, list[int]] = {}
        for s, taints in enumerate(cache.taint_sets):
            t = first_untolerated(taints, pod.tolerations)
            if t is not None:
                bad.setdefault(f"node(s) had untolerated taint {{{t.key}: {t.value}}}", []).append(s)
        fails = []
        for reason, sets in bad.items():
            m = np.isin(cache.taint_set, sets) & cache.live
            if m.any():
                fails.append(Fail(m, reason, Code.UNRESOLVABLE))
        return fails

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        # Without PreferNoSchedule taints every node scores the same: skip the work.
        if not any(t.effect == "PreferNoSchedule" for ts in self.cache.taint_sets for t in ts):
            return SKIP
        return None

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        if len(cache.taint_sets) == 1:
            return np.zeros(len(idx), dtype=np.int64)
        tols = tuple(t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule"))
        per_set = np.array(
            [
                sum(1 for t in ts if t.effect == "PreferNoSchedule" and not tolerated(tols, t))
                for ts in cache.taint_sets
            ],
            dtype=np.int64,
        )
        return per_set[cache.taint_set[idx]]

    def normalize(self, state: CycleState, pod: PodInfo, scores: IntArray) -> IntArray:
        return default_normalize(scores, reverse=True)
