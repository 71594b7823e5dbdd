"""DefaultPreemption (PostFilter): make room for a pod by evicting pods of lower priority.

As kube-scheduler: only nodes that failed a filter with a resolvable reason are tried (others count as
"Preemption is not helpful for scheduling"); on each, all lower-priority pods are removed in simulation,
the pod must then fit, and victims are reprieved one by one from the most important (higher priority,
then earlier start) while the pod still fits. Among candidate nodes the one chosen has, in order: the
lowest highest-victim priority, the lowest sum of victim priorities, the fewest victims, the latest start
among its highest-priority victims, then the first found. PodDisruptionBudgets are not consulted.
"""

from __future__ import annotations

import random

import numpy as np

from ..cache import PodEntry
from ..framework import Code, CycleState, Diagnosis, Plugin, PostFilterResult, Status
from ..types import PodInfo

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
MIN_CANDIDATES_PERCENT = 10
MIN_CANDIDATES_ABSOLUTE = 100
INT32_OFFSET = 2**31


def start_of(p: PodInfo) -> float:
    return p.start_time if p.start_time is not None else p.created


class DefaultPreemption(Plugin):
    name = "DefaultPreemption"

    def _fail(self, msg: str) -> PostFilterResult:
        return PostFilterResult(status=Status(Code.UNSCHEDULABLE, ["preemption: " + msg]))

    def post_filter(self, state: CycleState, pod: PodInfo, diag: Diagnosis) -> PostFilterResult:
        cache = self.cache
        if pod.preemption_policy == "Never":
            return self._fail("not eligible due to preemptionPolicy=Never.")
        nom = cache.index.get(pod.nominated_node_name) if pod.nominated_node_name else None
        if nom is not None and any(
            p.deleting and p.priority < pod.priority for p in cache.pods_on(nom).values()
        ):
            return self._fail("not eligible due to a terminating pod on the nominated node.")
        live = cache.live
        rejected = diag.rejected if diag.rejected is not None else live
        unresolvable = diag.unresolvable if diag.unresolvable is not None else np.zeros(cache.cap, bool)
        potential = np.flatnonzero(live & rejected & ~unresolvable)
        reasons: dict[str, int] = {}
        n_not_helpful = int(np.count_nonzero(live & ~(rejected & ~unresolvable)))
        if n_not_helpful:
            reasons[NOT_HELPFUL] = n_not_helpful
        candidates: list[tuple[int, list[PodInfo]]] = []
        fw = self.handle.framework
        assert fw is not None
        pre = CycleState()
        if len(potential) and fw.run_pre_filter(pre, pod) is not None:
            n = cache.num_nodes
            return self._fail(f"0/{n} nodes are available: {n} {NOT_HELPFUL}.")
        if len(potential):
            want = min(
                len(potential), max(len(potential) * MIN_CANDIDATES_PERCENT // 100, MIN_CANDIDATES_ABSOLUTE)
            )
            off = random.randrange(len(potential))
            for j in range(len(potential)):
                i = int(potential[(off + j) % len(potential)])
                victims, why = self.select_victims(pod, i, pre)
                if victims:
                    candidates.append((i, victims))
                    if len(candidates) >= want:
                        break
                else:
                    for r in why:
                        reasons[r] = reasons.get(r, 0) + 1
        if not candidates:
            parts = sorted(f"{n} {r}" for r, n in reasons.items())
            return self._fail(f"0/{cache.num_nodes} nodes are available: {', '.join(parts)}.")
        i, victims = pick_one(candidates)
        node = cache.nodes[i]
        assert node is not None
        return PostFilterResult(nominated_node=node.name, victims=victims, status=Status(Code.SUCCESS))

    def select_victims(self, pod: PodInfo, i: int, pre: CycleState) -> tuple[list[PodInfo], list[str]]:
        cache = self.cache
        fw = self.handle.framework
        assert fw is not None
        lower = [p for p in cache.pods_on(i).values() if p.priority < pod.priority]
        if not lower:
            return [], [NO_VICTIMS]
        removed: dict[str, PodEntry] = {}
        for p in lower:
            e = cache.take(p.key)
            if e is not None:
                removed[p.key] = e
        try:
            ok, why = fw.evaluate_node(pod, i, pre)
            if not ok:
                return [], why
            victims = []
            for p in sorted(lower, key=lambda p: (-p.priority, start_of(p))):
                e = removed.pop(p.key, None)
                if e is None:
                    continue
                cache.put(e)
                ok, _ = fw.evaluate_node(pod, i, pre)
                if not ok:
                    cache.take(p.key)
                    removed[p.key] = e
                    victims.append(p)
            return victims, []
        finally:
            for e in removed.values():
                cache.put(e)


def pick_one(candidates: list[tuple[int, list[PodInfo]]]) -> tuple[int, list[PodInfo]]:
    """kube-scheduler's choice among nodes where preemption would work (victims: most important first)."""
    cands = candidates
    criteria = (
        lambda vs: max(v.priority for v in vs),
        lambda vs: sum(v.priority + INT32_OFFSET for v in vs),
        lambda vs: len(vs),
    )
    for crit in criteria:
        scores = [crit(vs) for _, vs in cands]
        best = min(scores)
        cands = [c for c, s in zip(cands, scores, strict=True) if s == best]
        if len(cands) == 1:
            return cands[0]

    def latest(vs: list[PodInfo]) -> float:
        top = max(v.priority for v in vs)
        return min(start_of(v) for v in vs if v.priority == top)

    scores2 = [latest(vs) for _, vs in cands]
    best2 = max(scores2)
    return next(c for c, s in zip(cands, scores2, strict=True) if s == best2)
