"""NodeResourcesFit (PreFilter, Filter, Score): requests must fit allocatable; score by a strategy.

Filter: "Too many pods" when the node's pod count is at allocatable pods, "Insufficient <resource>" for
each of cpu, memory, ephemeral-storage and extended resources the pod requests beyond what is free.
Score (args.scoringStrategy.type):
  LeastAllocated (default)  per resource (allocatable - requested) * 100 / allocatable
  MostAllocated             requested * 100 / allocatable
  RequestedToCapacityRatio  a piecewise-linear shape of utilization
                            (args.scoringStrategy.requestedToCapacityRatio.shape)
weighted by args.scoringStrategy.resources (default cpu and memory, weight 1). Requested counts cpu and
memory with kube-scheduler's non-zero defaults (100m, 200Mi per container without a request).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cache import IntArray
from ..framework import CycleState, Fail, Plugin
from ..types import CPU, MEMORY, PODS, InvalidSpec, PodInfo

STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")


def validate_args(args: dict[str, Any], where: str) -> None:
    strat = args.get("scoringStrategy") or {}
    t = strat.get("type", "LeastAllocated")
    if t not in STRATEGIES:
        raise InvalidSpec(
            f"{where}.scoringStrategy.type: Unsupported value: {t!r}: "
            f"supported values: {', '.join(STRATEGIES)}"
        )
    for i, r in enumerate(strat.get("resources") or []):
        if not isinstance(r, dict) or not r.get("name"):
            raise InvalidSpec(f"{where}.scoringStrategy.resources[{i}].name: Required value")
        w = r.get("weight", 1)
        if not isinstance(w, int) or not 1 <= w <= 100:
            raise InvalidSpec(f"{where}.scoringStrategy.resources[{i}].weight: must be in the range 1-100")
    if t == "RequestedToCapacityRatio":
        shape = (strat.get("requestedToCapacityRatio") or {}).get("shape") or []
        if not shape:
            raise InvalidSpec(f"{where}.scoringStrategy.requestedToCapacityRatio.shape: Required value")
        last = -1
        for i, p in enumerate(shape):
            u, s = p.get("utilization"), p.get("score")
            if not isinstance(u, int) or not 0 <= u <= 100 or u <= last:
                raise InvalidSpec(
                    f"{where}.scoringStrategy.requestedToCapacityRatio.shape[{i}].utilization: "
                    "must be in 0-100 and increasing"
                )
            if not isinstance(s, int) or not 0 <= s <= 10:
                raise InvalidSpec(
                    f"{where}.scoringStrategy.requestedToCapacityRatio.shape[{i}].score: "
                    "must be in the range 0-10"
                )
            last = u


def broken_linear(util: IntArray, shape: list[tuple[int, int]]) -> IntArray:
    """The shape's piecewise-linear function at integer utilizations (integer arithmetic, as kube's)."""
    out = np.full(len(util), shape[-1][1], dtype=np.int64)
    done = np.zeros(len(util), dtype=bool)
    for i, (u, s) in enumerate(shape):
        here = ~done & (util <= u)
        if i == 0:
            out[here] = s
        else:
            pu, ps = shape[i - 1]
            out[here] = ps + (s - ps) * (util[here] - pu) // (u - pu)
        done |= here
    return out


class NodeResourcesFit(Plugin):
    name = "NodeResourcesFit"

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        validate_args(self.args, "args")
        strat = self.args.get("scoringStrategy") or {}
        self.strategy = strat.get("type", "LeastAllocated")
        self.weights = [(r["name"], int(r.get("weight", 1))) for r in strat.get("resources") or []] or [
            (CPU, 1),
            (MEMORY, 1),
        ]
        shape = (strat.get("requestedToCapacityRatio") or {}).get("shape") or []
        self.shape = [(int(p["utilization"]), int(p["score"]) * 10) for p in shape]
        self.ignored = set(self.args.get("ignoredResources") or [])
        self.ignored_groups = set(self.args.get("ignoredResourceGroups") or [])

    def _ignored(self, r: str) -> bool:
        if r in self.ignored:
            return True
        return "/" in r and r.split("/")[0] in self.ignored_groups

    def pre_filter(self, state: CycleState, pod: PodInfo) -> None:
        cache = self.cache
        cols = []
        for r, v in pod.requests.items():
            if v > 0 and r != PODS and not ("/" in r and self._ignored(r)):
                cols.append((cache.resource_column(r), r, v))
        state["fit"] = cols

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        req = cache.req
        alloc = cache.alloc
        nominated = self.handle.nominated
        if nominated:
            req = req.copy()
            for key, (p, node) in nominated.items():
                i = cache.index.get(node)
                if (
                    i is None
                    or key == pod.key
                    or p.priority < pod.priority
                    or cache.pod_entry(key) is not None
                ):
                    continue
                for r, v in p.requests.items():
                    if r in cache.res_index:
                        req[i, cache.res_index[r]] += v
                req[i, 3] += 1
        fails = []
        too_many = alloc[:, 3] < req[:, 3] + 1
        if too_many.any():
            fails.append(Fail(too_many, "Too many pods"))
        for c, r, v in state.get("fit") or ():
            short = alloc[:, c] - req[:, c] < v
            if short.any():
                fails.append(Fail(short, f"Insufficient {r}"))
        return fails

    def _requested(self, pod: PodInfo, idx: np.ndarray, r: str) -> tuple[IntArray, IntArray]:
        cache = self.cache
        c = cache.res_index.get(r)
        if c is None:
            z = np.zeros(len(idx), dtype=np.int64)
            return z, z
        alloc = cache.alloc[idx, c]
        if r == CPU:
            return alloc, cache.nz_cpu[idx] + pod.nonzero_cpu
        if r == MEMORY:
            return alloc, cache.nz_mem[idx] + pod.nonzero_mem
        v = pod.requests.get(r, 0)
        if v == 0 and r not in (CPU, MEMORY, "ephemeral-storage", PODS):
            z = np.zeros(len(idx), dtype=np.int64)
            return z, z  # an extended resource the pod does not ask for does not count
        return alloc, cache.req[idx, c] + v

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        total = np.zeros(len(idx), dtype=np.int64)
        wsum = np.zeros(len(idx), dtype=np.int64)
        for r, w in self.weights:
            alloc, requested = self._requested(pod, idx, r)
            has = alloc > 0
            safe = np.where(has, alloc, 1)
            if self.strategy == "LeastAllocated":
                s = np.where(requested > alloc, 0, (alloc - requested) * 100 // safe)
            elif self.strategy == "MostAllocated":
                s = np.minimum(requested, alloc) * 100 // safe
            else:
                util = np.minimum(requested, alloc) * 100 // safe
                s = broken_linear(util, self.shape)
            total += np.where(has, s * w, 0)
            wsum += np.where(has, w, 0)
        safe_w = np.where(wsum > 0, wsum, 1)
        if self.strategy == "RequestedToCapacityRatio":
            out = np.rint(total / safe_w).astype(np.int64)
        else:
            out = total // safe_w
        return np.where(wsum > 0, out, 0)
