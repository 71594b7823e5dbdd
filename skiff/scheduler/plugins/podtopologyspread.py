"""PodTopologySpread (PreFilter, Filter, PreScore, Score): spread matching pods over topology domains.

Filter (whenUnsatisfiable: DoNotSchedule): for each constraint, count the pods matching its selector
(plus matchLabelKeys) in each domain of topologyKey, over nodes that pass nodeAffinityPolicy (Honor: the
pod's nodeSelector/affinity) and nodeTaintsPolicy (Honor: the pod's tolerations) and carry every
constraint's key. Placing the pod on a node must keep count(domain) + self - min(count) <= maxSkew, where
min is 0 while fewer than minDomains domains exist. A node without the key is unresolvable.
Score (ScheduleAnyway): fewer matching pods in the node's domains is better, weighted per constraint by
log(domains + 2), reversed and scaled to 0-100.
"""

from __future__ import annotations

import math

import numpy as np

from ..cache import BoolArray, IntArray
from ..framework import MAX_NODE_SCORE, SKIP, Code, CycleState, Fail, Plugin, Status
from ..types import HOSTNAME_LABEL, PodInfo, SpreadConstraint
from .helpers import node_affinity_mask, taints_tolerated_mask

REASON = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"

    def _eligible(self, pod: PodInfo, c: SpreadConstraint, has_keys: BoolArray) -> BoolArray:
        cache = self.cache
        m = cache.live & has_keys
        if c.honor_affinity:
            am = node_affinity_mask(cache, pod)
            if am is not None:
                m = m & am
        if c.honor_taints:
            m = m & taints_tolerated_mask(cache, pod)
        return m

    def _has_keys(self, constraints: list[SpreadConstraint]) -> BoolArray:
        m = np.ones(self.cache.cap, dtype=bool)
        for c in constraints:
            m &= self.cache.domain_of(c.topology_key) >= 0
        return m

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        hard = [c for c in pod.spread if c.hard]
        if not hard:
            return SKIP
        state["spread_hard"] = hard
        return None

    def filter(self, state: CycleState, pod: PodInfo) -> list[Fail]:
        cache = self.cache
        hard: list[SpreadConstraint] = state.get("spread_hard") or [c for c in pod.spread if c.hard]
        if not hard:
            return []
        has_keys = self._has_keys(hard)
        ns = frozenset([pod.namespace])
        skewed = np.zeros(cache.cap, dtype=bool)
        for c in hard:
            codes = cache.domain_of(c.topology_key)
            elig = self._eligible(pod, c, has_keys)
            per_node = cache.matching_counts(c.selector, ns)
            ndom = max(cache.num_domains(c.topology_key), 1)
            dc = np.bincount(codes[elig], weights=per_node[elig], minlength=ndom).astype(np.int64)
            present = np.zeros(ndom, dtype=bool)
            present[codes[elig]] = True
            n_present = int(present.sum())
            min_match = int(dc[present].min()) if n_present else 0
            if n_present < c.min_domains:
                min_match = 0
            self_match = 1 if c.selector.matches(pod.labels) else 0
            node_count = np.where(codes >= 0, dc[np.maximum(codes, 0)], 0)
            skewed |= (codes >= 0) & (node_count + self_match - min_match > c.max_skew)
        fails = []
        missing = cache.live & ~has_keys
        if missing.any():
            fails.append(Fail(missing, MISSING, Code.UNRESOLVABLE))
        skewed &= has_keys
        if skewed.any():
            fails.append(Fail(skewed, REASON))
        return fails

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        soft = [c for c in pod.spread if not c.hard]
        if not soft:
            return SKIP
        state["spread_soft"] = soft
        return None

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        soft: list[SpreadConstraint] = state.get("spread_soft") or [c for c in pod.spread if not c.hard]
        has_keys = self._has_keys(soft)
        feasible = np.zeros(cache.cap, dtype=bool)
        feasible[idx] = True
        scored = feasible & has_keys
        ns = frozenset([pod.namespace])
        total = np.zeros(cache.cap, dtype=np.float64)
        for c in soft:
            codes = cache.domain_of(c.topology_key)
            per_node = cache.matching_counts(c.selector, ns)
            if c.topology_key == HOSTNAME_LABEL:
                size = int(scored.sum())
                cnt = per_node.astype(np.float64)
            else:
                ndom = max(cache.num_domains(c.topology_key), 1)
                cand = np.zeros(ndom, dtype=bool)
                cand[codes[scored]] = True
                size = int(cand.sum())
                elig = self._eligible(pod, c, has_keys)
                dc = np.bincount(codes[elig], weights=per_node[elig], minlength=ndom)
                cnt = np.where(codes >= 0, dc[np.maximum(codes, 0)], 0.0)
            w = math.log(size + 2)
            total += np.where(codes >= 0, cnt * w + (c.max_skew - 1), 0.0)
        state["spread_ignored"] = ~has_keys[idx]
        return np.floor(total[idx] + 0.5).astype(np.int64)

    def normalize(self, state: CycleState, pod: PodInfo, scores: IntArray) -> IntArray:
        ignored: BoolArray = state.get("spread_ignored", np.zeros(len(scores), dtype=bool))
        valid = scores[~ignored]
        if len(valid) == 0:
            return np.zeros(len(scores), dtype=np.int64)
        lo, hi = int(valid.min()), int(valid.max())
        if hi == 0:
            out = np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64)
        else:
            out = MAX_NODE_SCORE * (hi + lo - scores) // hi
        return np.where(ignored, 0, out)
