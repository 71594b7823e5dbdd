"""Vectorized building blocks shared by plugins: label requirements, node selectors, taints."""

from __future__ import annotations

import numpy as np

from ..cache import BoolArray, Cache
from ..types import NodeSelectorTerm, PodInfo, Requirement, Taint, Toleration, tolerated


def requirement_mask(cache: Cache, r: Requirement) -> BoolArray:
    col = cache.labels.get(r.key)
    if col is None:
        absent = r.op in ("NotIn", "DoesNotExist")
        return np.full(cache.cap, absent, dtype=bool)
    codes = col.codes
    if r.op in ("In", "NotIn"):
        wanted = [col.index[v] for v in r.values if v in col.index]
        m = np.isin(codes, wanted) if wanted else np.zeros(cache.cap, dtype=bool)
        return m if r.op == "In" else ~m
    if r.op == "Exists":
        return codes >= 0
    if r.op == "DoesNotExist":
        return codes < 0
    nums = col.numeric()
    vals = np.where(codes >= 0, nums[np.maximum(codes, 0)] if len(nums) else np.nan, np.nan)
    want = int(next(iter(r.values)))
    with np.errstate(invalid="ignore"):
        return (vals > want) if r.op == "Gt" else (vals < want)


def field_mask(cache: Cache, r: Requirement) -> BoolArray:
    """matchFields on metadata.name."""
    m = np.zeros(cache.cap, dtype=bool)
    if r.op in ("In", "NotIn"):
        for v in r.values:
            i = cache.index.get(v)
            if i is not None:
                m[i] = True
        return m if r.op == "In" else ~m
    if r.op == "Exists":
        return np.ones(cache.cap, dtype=bool)
    return m


def term_mask(cache: Cache, term: NodeSelectorTerm) -> BoolArray:
    if not term.labels and not term.fields:
        return np.zeros(cache.cap, dtype=bool)
    m = np.ones(cache.cap, dtype=bool)
    for r in term.labels:
        m &= requirement_mask(cache, r)
    for r in term.fields:
        m &= field_mask(cache, r)
    return m


_memo: dict[tuple[object, ...], tuple[int, int, BoolArray]] = {}


def node_affinity_mask(cache: Cache, pod: PodInfo) -> BoolArray | None:
    """Nodes matching the pod's nodeSelector and required node affinity; None when the pod has neither."""
    if not pod.node_selector and pod.required_terms is None:
        return None
    key = (tuple(sorted(pod.node_selector.items())), pod.required_terms)
    hit = _memo.get(key)
    if hit is not None and hit[0] == id(cache) and hit[1] == cache.node_generation:
        return hit[2]
    m = np.ones(cache.cap, dtype=bool)
    for k, v in pod.node_selector.items():
        m &= requirement_mask(cache, Requirement(k, "In", frozenset([v])))
    if pod.required_terms is not None:
        anym = np.zeros(cache.cap, dtype=bool)
        for t in pod.required_terms:
            anym |= term_mask(cache, t)
        m &= anym
    if len(_memo) > 4096:
        _memo.clear()
    _memo[key] = (id(cache), cache.node_generation, m)
    return m


def taint_sets_ok(cache: Cache, tolerations: tuple[Toleration, ...], effects: tuple[str, ...]) -> np.ndarray:
    """For each distinct taint set, whether every taint with one of `effects` is tolerated."""
    ok = np.ones(len(cache.taint_sets), dtype=bool)
    for s, taints in enumerate(cache.taint_sets):
        for t in taints:
            if t.effect in effects and not tolerated(tolerations, t):
                ok[s] = False
                break
    return ok


def first_untolerated(taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]) -> Taint | None:
    for t in taints:
        if t.effect in ("NoSchedule", "NoExecute") and not tolerated(tolerations, t):
            return t
    return None


def taints_tolerated_mask(cache: Cache, pod: PodInfo) -> BoolArray:
    if len(cache.taint_sets) == 1:
        return np.ones(cache.cap, dtype=bool)
    ok = taint_sets_ok(cache, pod.tolerations, ("NoSchedule", "NoExecute"))
    return ok[cache.taint_set]
