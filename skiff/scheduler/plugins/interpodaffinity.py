"""InterPodAffinity (PreFilter, Filter, PreScore, Score).

Filter, per node, first failing check wins:
  1. existing pods' required anti-affinity terms that match the incoming pod forbid their topology
     domain: "node(s) didn't satisfy existing pods anti-affinity rules";
  2. the pod's required anti-affinity: no matching pod may share the node's domain:
     "node(s) didn't match pod anti-affinity rules";
  3. the pod's required affinity: a pod matching all its terms must share the node's domain (the first
     pod of a group that matches its own terms may go anywhere with the topology labels):
     "node(s) didn't match pod affinity rules" (unresolvable by preemption).
Terms select pods by labelSelector within `namespaces` and/or `namespaceSelector` (default: the pod's
namespace). Score: preferred terms of the pod (+weight affinity, -weight anti-affinity) and of existing
pods towards the incoming pod (their required affinity counts with weight 1), per topology domain,
scaled to 0-100 between the lowest and highest node.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..cache import BoolArray, Cache, IntArray
from ..framework import MAX_NODE_SCORE, SKIP, Code, CycleState, Fail, Plugin, Status
from ..types import AffinityTerm, PodInfo

EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
AFFINITY = "node(s) didn't match pod affinity rules"


def domain_counts(cache: Cache, key: str, per_node: IntArray) -> tuple[npt.NDArray[np.int32], IntArray]:
    """(domain code per node, matching pods per domain code) for topology key `key`."""
    codes = cache.domain_of(key)
    ok = (codes >= 0) & cache.live
    counts = np.bincount(codes[ok], weights=per_node[ok], minlength=max(cache.num_domains(key), 1))
    return codes, counts.astype(np.int64)


def spread_to_nodes(codes: npt.NDArray[np.int32], dcounts: IntArray) -> IntArray:
    """Each node's domain total (0 for nodes without the topology label)."""
    return np.where(codes >= 0, dcounts[np.maximum(codes, 0)], 0)


def pods_matching_all(cache: Cache, terms: tuple[AffinityTerm, ...]) -> IntArray:
    if len(terms) == 1:
        return cache.term_counts(terms[0])
    out = np.zeros(cache.cap, dtype=np.int64)
    for i in range(cache.size):
        if not cache.live[i]:
            continue
        out[i] = sum(1 for p in cache.pods_on(i).values() if all(cache.term_matches(t, p) for t in terms))
    return out


class InterPodAffinity(Plugin):
    name = "InterPodAffinity"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        if not pod.affinity and not pod.anti_affinity and not self.cache.anti_groups:
            return SKIP
        return None

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        cap = cache.cap
        existing = np.zeros(cap, dtype=bool)
        for g in cache.anti_groups.values():
            if not cache.term_matches(g.term, pod):
                continue
            codes, dc = domain_counts(cache, g.term.topology_key, g.counts)
            existing |= spread_to_nodes(codes, dc) > 0
        anti = np.zeros(cap, dtype=bool)
        for t in pod.anti_affinity:
            codes, dc = domain_counts(cache, t.topology_key, cache.term_counts(t))
            anti |= spread_to_nodes(codes, dc) > 0
        anti &= ~existing
        aff = np.zeros(cap, dtype=bool)
        if pod.affinity:
            aff = self._affinity_fails(pod) & ~existing & ~anti
        fails = []
        if existing.any():
            fails.append(Fail(existing, EXISTING_ANTI))
        if anti.any():
            fails.append(Fail(anti, ANTI))
        if aff.any():
            fails.append(Fail(aff, AFFINITY, Code.UNRESOLVABLE))
        return fails

    def _affinity_fails(self, pod: PodInfo) -> BoolArray:
        cache = self.cache
        per_node = pods_matching_all(cache, pod.affinity)
        has_all = np.ones(cache.cap, dtype=bool)
        exist = np.ones(cache.cap, dtype=bool)
        any_match = False
        for t in pod.affinity:
            codes, dc = domain_counts(cache, t.topology_key, per_node)
            has_all &= codes >= 0
            exist &= spread_to_nodes(codes, dc) > 0
            any_match = any_match or bool(dc.any())
        if not any_match and all(cache.term_matches(t, pod) for t in pod.affinity):
            return ~has_all  # the first pod of a self-affine group
        return ~(has_all & exist)

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        if not pod.preferred_affinity and not pod.preferred_anti_affinity and not self.cache.score_groups:
            return SKIP
        return None

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        total = np.zeros(cache.cap, dtype=np.int64)
        touched = False
        for sign, terms in ((1, pod.preferred_affinity), (-1, pod.preferred_anti_affinity)):
            for t in terms:
                codes, dc = domain_counts(cache, t.topology_key, cache.term_counts(t))
                if dc.any():
                    touched = True
                    total += sign * t.weight * spread_to_nodes(codes, dc)
        for g in cache.score_groups.values():
            if not cache.term_matches(g.term, pod):
                continue
            codes, dc = domain_counts(cache, g.term.topology_key, g.counts)
            if dc.any():
                touched = True
                total += g.weight * spread_to_nodes(codes, dc)
        state["interpod_touched"] = touched
        return total[idx]

    def normalize(self, state: CycleState, pod: PodInfo, scores: IntArray) -> IntArray:
        if not state.get("interpod_touched") or len(scores) == 0:
            return np.zeros(len(scores), dtype=np.int64)
        lo, hi = int(scores.min()), int(scores.max())
        if hi == lo:
            return np.zeros(len(scores), dtype=np.int64)
        return (MAX_NODE_SCORE * ((scores - lo) / (hi - lo))).astype(np.int64)
