"""NodeResourcesBalancedAllocation (Score): prefer nodes whose cpu and memory use stay in balance.

Per node, the fraction requested/allocatable of each resource (capped at 1, pod included); the score is
(1 - standard deviation of the fractions) * 100. Uses actual requests (no non-zero defaults).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cache import IntArray
from ..framework import SKIP, CycleState, Plugin, Status
from ..types import CPU, MEMORY, PodInfo


class NodeResourcesBalancedAllocation(Plugin):
    name = "NodeResourcesBalancedAllocation"

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.resources = [r["name"] for r in self.args.get("resources") or []] or [CPU, MEMORY]

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        if not any(pod.requests.get(r, 0) for r in self.resources):
            return SKIP  # a best-effort pod leaves balance unchanged everywhere
        return None

    def score_signature(self, pod: PodInfo) -> Any:
        return tuple(sorted(pod.requests.items()))

    def score_node(self, pod: PodInfo, i: int) -> int:
        """One node's score with Python scalars (the memo refreshes one or two nodes per pod)."""
        cache = self.cache
        fracs = []
        for r in self.resources:
            c = cache.res_index.get(r)
            if c is None:
                continue
            v = pod.requests.get(r, 0)
            if v == 0 and r not in (CPU, MEMORY):
                continue
            alloc = int(cache.alloc[c, i])
            if alloc <= 0:
                continue
            fracs.append(min((int(cache.req[c, i]) + v) / alloc, 1.0))
        if len(fracs) < 2:
            return 100
        if len(fracs) == 2:
            std = abs(fracs[0] - fracs[1]) / 2
        else:
            mean = sum(fracs) / len(fracs)
            std = (sum((f - mean) ** 2 for f in fracs) / len(fracs)) ** 0.5
        return int((1 - std) * 100)

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        fracs = []
        for r in self.resources:
            c = cache.res_index.get(r)
            if c is None:
                continue
            v = pod.requests.get(r, 0)
            if v == 0 and r not in (CPU, MEMORY):
                continue
            alloc = cache.alloc[c, idx].astype(np.float64)
            req = (cache.req[c, idx] + v).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(alloc > 0, np.minimum(req / np.where(alloc > 0, alloc, 1), 1.0), np.nan)
            fracs.append(f)
        if not fracs:
            return np.zeros(len(idx), dtype=np.int64)
        if len(fracs) == 2:
            a, b = fracs
            both = ~np.isnan(a) & ~np.isnan(b)
            std = np.where(both, np.abs(a - b) / 2, 0.0)
        else:
            m = np.vstack(fracs)
            with np.errstate(invalid="ignore"):
                std = np.nan_to_num(np.nanstd(m, axis=0))
        return ((1 - std) * 100).astype(np.int64)
