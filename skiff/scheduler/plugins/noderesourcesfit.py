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
        self._nom_key: Any = None
        self._nom_extra: IntArray | None = None
        self._fmemo: dict[Any, tuple[dict[str, Any], int, int, dict[str, int]]] = {}

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
        if self.handle.nominated:
            return self._filter_all(state, pod)
        # Node-local: keep the masks per request signature; refresh only the nodes that changed since.
        checks = state.get("fit") or ()
        key = tuple(checks)
        memo = self._fmemo.get(key)
        changed = None if memo is None or memo[2] != cache.cap else cache.changed_since(memo[1])
        if changed is None:
            masks = {f.reason: f.mask for f in self._filter_all(state, pod)}
            counts = {r: int(np.count_nonzero(m)) for r, m in masks.items()}
            if len(self._fmemo) >= 64:
                self._fmemo.pop(next(iter(self._fmemo)))
            memo = (masks, cache.seq, cache.cap, counts)
            self._fmemo[key] = memo
        elif changed:
            assert memo is not None
            masks, _, _, counts = memo
            alloc, req = cache.alloc, cache.req
            for i in set(changed):
                self._set(masks, counts, "Too many pods", i, bool(alloc[3, i] < req[3, i] + 1))
                for c, r, v in checks:
                    self._set(masks, counts, f"Insufficient {r}", i, bool(alloc[c, i] - req[c, i] < v))
            memo = (masks, cache.seq, cache.cap, counts)
            self._fmemo[key] = memo
        assert memo is not None
        masks, counts = memo[0], memo[3]
        return [Fail(masks[r], r) for r, n in counts.items() if n > 0]

    def _set(self, masks: dict[str, Any], counts: dict[str, int], reason: str, i: int, short: bool) -> None:
        m = masks.get(reason)
        if m is None:
            if not short:
                return
            m = np.zeros(self.cache.cap, dtype=bool)
            masks[reason] = m
            counts[reason] = 0
        if bool(m[i]) != short:
            m[i] = short
            counts[reason] += 1 if short else -1

    def _filter_all(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        req = cache.req
        alloc = cache.alloc
        if self.handle.nominated:
            req = req + self._nominated_extra(pod)
        fails = []
        too_many = alloc[3] < req[3] + 1
        if too_many.any():
            fails.append(Fail(too_many, "Too many pods"))
        for c, r, v in state.get("fit") or ():
            short = alloc[c] - req[c] < v
            if short.any():
                fails.append(Fail(short, f"Insufficient {r}"))
        return fails

    def _nominated_extra(self, pod: PodInfo) -> IntArray:
        """Requests of pods nominated to each node (by preemption) that outrank or equal `pod`: they
        keep their place. Built once per (cache state, pod) and reused across simulations."""
        cache = self.cache
        key = (tuple(self.handle.nominated), cache.node_generation, pod.key, pod.priority, cache.req.shape)
        if self._nom_key == key and self._nom_extra is not None:
            return self._nom_extra
        extra = np.zeros_like(cache.req)
        for k, (p, node) in self.handle.nominated.items():
            i = cache.index.get(node)
            if i is None or k == pod.key or p.priority < pod.priority or cache.pod_entry(k) is not None:
                continue
            for r, v in p.requests.items():
                c = cache.res_index.get(r)
                if c is not None:
                    extra[c, i] += v
            extra[3, i] += 1
        self._nom_key, self._nom_extra = key, extra
        return extra

    def _requested(self, pod: PodInfo, idx: np.ndarray, r: str) -> tuple[IntArray, IntArray]:
        cache = self.cache
        c = cache.res_index.get(r)
        if c is None:
            z = np.zeros(len(idx), dtype=np.int64)
            return z, z
        alloc = cache.alloc[c, idx]
        if r == CPU:
            return alloc, cache.nz_cpu[idx] + pod.nonzero_cpu
        if r == MEMORY:
            return alloc, cache.nz_mem[idx] + pod.nonzero_mem
        v = pod.requests.get(r, 0)
        if v == 0 and r not in (CPU, MEMORY, "ephemeral-storage", PODS):
            z = np.zeros(len(idx), dtype=np.int64)
            return z, z  # an extended resource the pod does not ask for does not count
        return alloc, cache.req[c, idx] + v

    def score_signature(self, pod: PodInfo) -> Any:
        """Node-local: a node's score depends on its own columns and the pod's requests only."""
        return (pod.nonzero_cpu, pod.nonzero_mem, tuple(sorted(pod.requests.items())))

    def score_node(self, pod: PodInfo, i: int) -> int:
        """One node's score with Python scalars (the memo refreshes one or two nodes per pod)."""
        if self.strategy == "RequestedToCapacityRatio":
            return int(self.score(CycleState(), pod, np.array([i]))[0])
        cache = self.cache
        total = wsum = 0
        for r, w in self.weights:
            c = cache.res_index.get(r)
            if c is None:
                continue
            alloc = int(cache.alloc[c, i])
            if r == CPU:
                requested = int(cache.nz_cpu[i]) + pod.nonzero_cpu
            elif r == MEMORY:
                requested = int(cache.nz_mem[i]) + pod.nonzero_mem
            else:
                v = pod.requests.get(r, 0)
                if v == 0 and r not in ("ephemeral-storage", PODS):
                    continue
                requested = int(cache.req[c, i]) + v
            if alloc <= 0:
                continue
            if self.strategy == "LeastAllocated":
                s = 0 if requested > alloc else (alloc - requested) * 100 // alloc
            else:
                s = min(requested, alloc) * 100 // alloc
            total += s * w
            wsum += w
        return total // wsum if wsum else 0

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
