"""LoadAware (Score): prefer nodes whose measured usage is low (inter-workload interference).

The kubelet reports usage in the node annotation `skiff.io/usage`, a JSON object with quantities and the
time of measurement, e.g. {"cpu": "1250m", "memory": "3Gi", "time": "2026-11-27T18:00:00Z"}. A report
older than args.maxAgeSeconds (default 300) is ignored. Per node, utilization of cpu and memory is
(usage + the pod's request) / allocatable, capped at 1; the score is (1 - their mean) * 100. A node
without a (fresh) report is scored from its requested resources instead.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..cache import IntArray
from ..framework import SKIP, CycleState, Plugin, Status
from ..types import CPU, MEMORY, InvalidSpec, PodInfo, parse_time, resource_amount

USAGE_ANNOTATION = "skiff.io/usage"


def parse_usage(raw: str) -> tuple[int, int, float | None] | None:
    try:
        d = json.loads(raw)
        return (
            resource_amount(CPU, d.get("cpu", 0)),
            resource_amount(MEMORY, d.get("memory", 0)),
            parse_time(d.get("time")),
        )
    except (ValueError, TypeError, AttributeError, InvalidSpec):
        return None


class LoadAware(Plugin):
    name = "LoadAware"

    def __init__(self, handle: Any, args: dict[str, Any] | None = None) -> None:
        super().__init__(handle, args)
        self.max_age = float(self.args.get("maxAgeSeconds", 300))
        self._gen = -1
        self._cpu = np.zeros(0, dtype=np.int64)
        self._mem = np.zeros(0, dtype=np.int64)
        self._time = np.zeros(0)
        self._any = False

    def _refresh(self) -> None:
        cache = self.cache
        if self._gen == cache.node_generation and len(self._cpu) == cache.cap:
            return
        self._gen = cache.node_generation
        self._cpu = np.zeros(cache.cap, dtype=np.int64)
        self._mem = np.zeros(cache.cap, dtype=np.int64)
        self._time = np.full(cache.cap, -np.inf)
        self._any = False
        for i, node in cache.iter_nodes():
            raw = node.annotations.get(USAGE_ANNOTATION)
            if raw is None:
                continue
            u = parse_usage(raw)
            if u is None:
                continue
            self._cpu[i], self._mem[i] = u[0], u[1]
            self._time[i] = u[2] if u[2] is not None else np.inf
            self._any = True

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        self._refresh()
        return None if self._any else SKIP

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        fresh = self._time[idx] >= self.handle.clock() - self.max_age
        utils = []
        for r, usage, nz, podreq in (
            (CPU, self._cpu, cache.nz_cpu, pod.nonzero_cpu),
            (MEMORY, self._mem, cache.nz_mem, pod.nonzero_mem),
        ):
            alloc = cache.alloc[cache.res_index[r], idx].astype(np.float64)
            used = np.where(fresh, usage[idx], nz[idx]) + podreq
            utils.append(np.where(alloc > 0, np.minimum(used / np.where(alloc > 0, alloc, 1), 1.0), 1.0))
        return ((1 - (utils[0] + utils[1]) / 2) * 100).astype(np.int64)
