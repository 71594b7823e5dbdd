"""The scheduler's cache: every node's state as numpy columns, so plugins work on all nodes at once.

Rows are node slots (a removed node's slot is reused). Columns:
  alloc[r], req[r]         allocatable and requested per resource r (cpu in millicores; `pods` counts pods),
                           one contiguous row per resource
  nz_cpu, nz_mem           requested with kube-scheduler's non-zero defaults (for scoring)
  unschedulable            spec.unschedulable
  taint_set                an id of the node's taint list (plugins decide per distinct list, not per node)
  label columns            per label key, an int code per node for its value (-1: label absent)
Indexes kept beside them: host ports in use, image names -> nodes, pods per node, and counters the
inter-pod plugins ask for (pods matching a selector per node; existing pods' affinity terms per node).

A pod counts against its node from `assume` (before its binding lands) until `forget` (binding failed)
or until the informer reports it bound (`add_pod` confirms it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .types import CPU, EPHEMERAL, MEMORY, PODS, AffinityTerm, NodeInfo, PodInfo, Selector, Taint

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

BASE_RESOURCES = (CPU, MEMORY, EPHEMERAL, PODS)
ALL_NAMESPACES = None


class LabelColumn:
    """One label key over all node slots: codes[i] is the value's code, -1 when node i lacks the key."""

    __slots__ = ("_float", "codes", "index", "values")

    def __init__(self, cap: int) -> None:
        self.codes: npt.NDArray[np.int32] = np.full(cap, -1, dtype=np.int32)
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self._float: npt.NDArray[np.float64] | None = None

    def code(self, value: str) -> int:
        c = self.index.get(value)
        if c is None:
            c = len(self.values)
            self.index[value] = c
            self.values.append(value)
            self._float = None
        return c

    def numeric(self) -> npt.NDArray[np.float64]:
        """The values parsed as integers (NaN when not an integer), per code, for Gt/Lt."""
        if self._float is None or len(self._float) != len(self.values):
            out = np.full(len(self.values), np.nan)
            for i, v in enumerate(self.values):
                try:
                    out[i] = int(v)
                except ValueError:
                    pass
            self._float = out
        return self._float


@dataclass(slots=True)
class TermGroup:
    """Existing pods holding one affinity term: how many such pods sit on each node."""

    term: AffinityTerm
    weight: int
    counts: IntArray
    total: int = 0


@dataclass(slots=True)
class SelectorIndex:
    selector: Selector
    namespaces: frozenset[str] | None
    counts: IntArray
    used: int = 0


@dataclass(slots=True)
class PodEntry:
    pod: PodInfo
    node: str
    assumed: bool
    binding_done: bool = False


@dataclass(slots=True)
class _NodeExtra:
    ports: dict[tuple[str, str, int], int] = field(default_factory=dict)
    pods: dict[str, PodInfo] = field(default_factory=dict)


class Cache:
    def __init__(self, capacity: int = 64) -> None:
        self.cap = capacity
        self.size = 0  # slots in use or freed (rows 0..size-1)
        self.nodes: list[NodeInfo | None] = []
        self.extra: list[_NodeExtra] = []
        self.index: dict[str, int] = {}
        self.free: list[int] = []
        self.resources: list[str] = list(BASE_RESOURCES)
        self.res_index: dict[str, int] = {r: i for i, r in enumerate(self.resources)}
        self.live: BoolArray = np.zeros(capacity, dtype=bool)
        self.alloc: IntArray = np.zeros((len(self.resources), capacity), dtype=np.int64)
        self.req: IntArray = np.zeros((len(self.resources), capacity), dtype=np.int64)
        self.nz_cpu: IntArray = np.zeros(capacity, dtype=np.int64)
        self.nz_mem: IntArray = np.zeros(capacity, dtype=np.int64)
        # bumped whenever a node slot's state changes: lets plugins refresh per-node results incrementally
        self.node_version: IntArray = np.zeros(capacity, dtype=np.int64)
        self._version_seq = 0
        self._log: list[int] = []
        self._log_base = 0
        self._all_idx: npt.NDArray[np.intp] | None = None
        self.unschedulable: BoolArray = np.zeros(capacity, dtype=bool)
        self.taint_set: npt.NDArray[np.int32] = np.zeros(capacity, dtype=np.int32)
        self.taint_sets: list[tuple[Taint, ...]] = [()]
        self.taint_set_index: dict[tuple[Taint, ...], int] = {(): 0}
        self.labels: dict[str, LabelColumn] = {}
        self.port_nodes: dict[tuple[str, int], set[int]] = {}
        self.image_nodes: dict[str, set[int]] = {}
        self.pods: dict[str, PodEntry] = {}
        self.pods_by_node: dict[str, dict[str, PodInfo]] = {}
        self.selector_indexes: dict[tuple[Selector, frozenset[str] | None], SelectorIndex] = {}
        # Existing pods' terms: required anti-affinity (filter), and scoring terms (weight signed).
        self.anti_groups: dict[tuple[Any, ...], TermGroup] = {}
        self.score_groups: dict[tuple[Any, ...], TermGroup] = {}
        self.namespace_labels: dict[str, dict[str, str]] = {}
        self.generation = 0  # bumped on every change; plugins may cache per generation
        self.node_generation = 0  # bumped on node changes only

    # ------------------------------------------------------------ shape

    @property
    def num_nodes(self) -> int:
        return len(self.index)

    def _grow(self) -> None:
        new = self.cap * 2

        def grow(a: Any, fill: Any = 0) -> Any:
            shape = (new, *a.shape[1:])
            b = np.full(shape, fill, dtype=a.dtype)
            b[: self.cap] = a
            return b

        def grow2(a: Any) -> Any:
            b = np.zeros((a.shape[0], new), dtype=a.dtype)
            b[:, : self.cap] = a
            return b

        self.live = grow(self.live, False)
        self.alloc = grow2(self.alloc)
        self.req = grow2(self.req)
        self.nz_cpu = grow(self.nz_cpu)
        self.nz_mem = grow(self.nz_mem)
        self.node_version = grow(self.node_version)
        self.unschedulable = grow(self.unschedulable, False)
        self.taint_set = grow(self.taint_set)
        for col in self.labels.values():
            col.codes = grow(col.codes, -1)
        for si in self.selector_indexes.values():
            si.counts = grow(si.counts)
        for g in (*self.anti_groups.values(), *self.score_groups.values()):
            g.counts = grow(g.counts)
        self.cap = new

    def resource_column(self, name: str) -> int:
        i = self.res_index.get(name)
        if i is None:
            i = len(self.resources)
            self.resources.append(name)
            self.res_index[name] = i
            self.alloc = np.concatenate([self.alloc, np.zeros((1, self.cap), dtype=np.int64)], axis=0)
            self.req = np.concatenate([self.req, np.zeros((1, self.cap), dtype=np.int64)], axis=0)
        return i

    def label_column(self, key: str) -> LabelColumn:
        col = self.labels.get(key)
        if col is None:
            col = LabelColumn(self.cap)
            self.labels[key] = col
        return col

    def node_names(self, idx: npt.NDArray[np.intp]) -> list[str]:
        return [n.name for n in (self.nodes[int(i)] for i in idx) if n is not None]

    def iter_nodes(self) -> Iterator[tuple[int, NodeInfo]]:
        for name, i in self.index.items():
            n = self.nodes[i]
            assert n is not None, name
            yield i, n

    # ------------------------------------------------------------ nodes

    def add_node(self, node: NodeInfo) -> None:
        if node.name in self.index:
            self.update_node(node)
            return
        if self.free:
            i = self.free.pop()
        else:
            if self.size == self.cap:
                self._grow()
            i = self.size
            self.size += 1
            self.nodes.append(None)
            self.extra.append(_NodeExtra())
        self.index[node.name] = i
        self.live[i] = True
        self._all_idx = None
        self._set_node_columns(i, node)
        ex = _NodeExtra()
        self.extra[i] = ex
        for pod in self.pods_by_node.get(node.name, {}).values():
            self._account(i, pod, +1)
        self.generation += 1
        self.node_generation += 1

    def update_node(self, node: NodeInfo) -> None:
        i = self.index.get(node.name)
        if i is None:
            self.add_node(node)
            return
        old = self.nodes[i]
        if old is not None:
            self._clear_node_columns(i, old)
        self._set_node_columns(i, node)
        self.generation += 1
        self.node_generation += 1

    def remove_node(self, name: str) -> None:
        i = self.index.pop(name, None)
        if i is None:
            return
        old = self.nodes[i]
        if old is not None:
            self._clear_node_columns(i, old)
        for pod in self.pods_by_node.get(name, {}).values():
            self._account(i, pod, -1)
        self.nodes[i] = None
        self.extra[i] = _NodeExtra()
        self.live[i] = False
        self._all_idx = None
        self._touch(i)
        self.req[:, i] = 0
        self.nz_cpu[i] = 0
        self.nz_mem[i] = 0
        self.free.append(i)
        self.generation += 1
        self.node_generation += 1

    def _touch(self, i: int) -> None:
        self._version_seq += 1
        self.node_version[i] = self._version_seq
        self._log.append(i)
        if len(self._log) > 100_000:
            drop = len(self._log) // 2
            del self._log[:drop]
            self._log_base += drop

    @property
    def seq(self) -> int:
        """A counter of node-slot changes; `changed_since(seq)` lists the slots touched after it."""
        return self._version_seq

    def changed_since(self, seq: int) -> list[int] | None:
        """Node slots changed after `seq` (with repeats), or None when that is too long ago to know."""
        if seq < self._log_base:
            return None
        return self._log[seq - self._log_base :]

    def all_idx(self) -> npt.NDArray[np.intp]:
        """Every live slot, as an index array (cached until a node changes)."""
        if self._all_idx is None:
            self._all_idx = np.flatnonzero(self.live[: self.size]) if self.free else np.arange(self.size)
        return self._all_idx

    def _set_node_columns(self, i: int, node: NodeInfo) -> None:
        self.nodes[i] = node
        self._touch(i)
        for r, amount in node.allocatable.items():
            c = self.resource_column(r)  # may widen the arrays: look them up after
            self.alloc[c, i] = amount
        for k, v in node.labels.items():
            col = self.label_column(k)
            col.codes[i] = col.code(v)
        self.unschedulable[i] = node.unschedulable
        ts = self.taint_set_index.get(node.taints)
        if ts is None:
            ts = len(self.taint_sets)
            self.taint_sets.append(node.taints)
            self.taint_set_index[node.taints] = ts
        self.taint_set[i] = ts
        for img in node.images:
            self.image_nodes.setdefault(img, set()).add(i)

    def _clear_node_columns(self, i: int, node: NodeInfo) -> None:
        self.alloc[:, i] = 0
        for k in node.labels:
            self.labels[k].codes[i] = -1
        for img in node.images:
            s = self.image_nodes.get(img)
            if s is not None:
                s.discard(i)
                if not s:
                    del self.image_nodes[img]

    # ------------------------------------------------------------ namespaces

    def set_namespace(self, name: str, labels: dict[str, str] | None) -> None:
        if labels is None:
            self.namespace_labels.pop(name, None)
        else:
            self.namespace_labels[name] = dict(labels)
        self.generation += 1

    def term_namespaces(self, term: AffinityTerm) -> frozenset[str] | None:
        """The namespaces a term selects; None means every namespace."""
        if term.namespace_selector is None:
            return term.namespaces
        if not term.namespace_selector.reqs and not term.namespace_selector.nothing:
            return ALL_NAMESPACES
        selected = {n for n, lb in self.namespace_labels.items() if term.namespace_selector.matches(lb)}
        return frozenset(selected | term.namespaces)

    def term_matches(self, term: AffinityTerm, pod: PodInfo) -> bool:
        ns = self.term_namespaces(term)
        if ns is not None and pod.namespace not in ns:
            return False
        return term.selector.matches(pod.labels)

    # ------------------------------------------------------------ pods

    def add_pod(self, pod: PodInfo) -> None:
        """A bound pod seen by the informer (confirms an assumed pod)."""
        entry = self.pods.get(pod.key)
        if entry is not None:
            self._remove_entry(entry)
        self._insert(PodEntry(pod, pod.node_name, assumed=False))

    def confirm(self, key: str, node: str, obj: Any) -> PodInfo | None:
        """The informer's echo of our own binding: the assumed pod, already counted on that node,
        becomes bound in place (no re-accounting). None when it is not assumed there."""
        entry = self.pods.get(key)
        if entry is None or not entry.assumed or entry.node != node:
            return None
        entry.assumed = False
        entry.pod.node_name = node
        entry.pod.obj = obj
        return entry.pod

    def update_pod(self, pod: PodInfo) -> None:
        self.add_pod(pod)

    def remove_pod(self, key: str) -> None:
        entry = self.pods.get(key)
        if entry is not None:
            self._remove_entry(entry)

    def assume(self, pod: PodInfo, node: str) -> None:
        entry = self.pods.get(pod.key)
        if entry is not None:
            self._remove_entry(entry)
        self._insert(PodEntry(pod, node, assumed=True))

    def forget(self, pod: PodInfo) -> None:
        entry = self.pods.get(pod.key)
        if entry is not None and entry.assumed:
            self._remove_entry(entry)

    def take(self, key: str) -> PodEntry | None:
        """Remove a pod for a simulation (preemption); `put` restores it exactly."""
        entry = self.pods.get(key)
        if entry is not None:
            self._remove_entry(entry)
        return entry

    def put(self, entry: PodEntry) -> None:
        self._insert(entry)

    def is_assumed(self, key: str) -> bool:
        e = self.pods.get(key)
        return e is not None and e.assumed

    def pod_entry(self, key: str) -> PodEntry | None:
        return self.pods.get(key)

    def _insert(self, entry: PodEntry) -> None:
        self.pods[entry.pod.key] = entry
        self.pods_by_node.setdefault(entry.node, {})[entry.pod.key] = entry.pod
        i = self.index.get(entry.node)
        if i is not None:
            self._account(i, entry.pod, +1)
        self.generation += 1

    def _remove_entry(self, entry: PodEntry) -> None:
        key = entry.pod.key
        self.pods.pop(key, None)
        on_node = self.pods_by_node.get(entry.node)
        if on_node is not None:
            on_node.pop(key, None)
            if not on_node:
                del self.pods_by_node[entry.node]
        i = self.index.get(entry.node)
        if i is not None:
            self._account(i, entry.pod, -1)
        self.generation += 1

    def _account(self, i: int, pod: PodInfo, sign: int) -> None:
        """Add (+1) or take away (-1) one pod's share of node i's columns and indexes."""
        self._touch(i)
        for r, v in pod.requests.items():
            c = self.res_index.get(r)
            if c is None:
                c = self.resource_column(r)
            self.req[c, i] += sign * v
        self.req[3, i] += sign
        self.nz_cpu[i] += sign * pod.nonzero_cpu
        self.nz_mem[i] += sign * pod.nonzero_mem
        ex = self.extra[i]
        if sign > 0:
            ex.pods[pod.key] = pod
        else:
            ex.pods.pop(pod.key, None)
        for hp in pod.host_ports:
            n = ex.ports.get(hp, 0) + sign
            pk = (hp[1], hp[2])
            if n > 0:
                ex.ports[hp] = n
                self.port_nodes.setdefault(pk, set()).add(i)
            else:
                ex.ports.pop(hp, None)
                if not any((p[1], p[2]) == pk for p in ex.ports):
                    s = self.port_nodes.get(pk)
                    if s is not None:
                        s.discard(i)
                        if not s:
                            del self.port_nodes[pk]
        for si in self.selector_indexes.values():
            if (si.namespaces is None or pod.namespace in si.namespaces) and si.selector.matches(pod.labels):
                si.counts[i] += sign
        if pod.anti_affinity:
            for t in pod.anti_affinity:
                self._group(self.anti_groups, t, 0, i, sign)
        if pod.affinity or pod.preferred_affinity or pod.preferred_anti_affinity:
            # Existing pods' required affinity counts for incoming pods with weight 1
            # (hardPodAffinityWeight), their preferred terms with their own weight.
            for t in pod.affinity:
                self._group(self.score_groups, t, 1, i, sign)
            for t in pod.preferred_affinity:
                self._group(self.score_groups, t, t.weight, i, sign)
            for t in pod.preferred_anti_affinity:
                self._group(self.score_groups, t, -t.weight, i, sign)

    def _group(
        self, groups: dict[tuple[Any, ...], TermGroup], t: AffinityTerm, w: int, i: int, sign: int
    ) -> None:
        k = (*t.key(), w)
        g = groups.get(k)
        if g is None:
            if sign < 0:
                return
            g = TermGroup(t, w, np.zeros(self.cap, dtype=np.int64))
            groups[k] = g
        g.counts[i] += sign
        g.total += sign
        if g.total <= 0:
            del groups[k]

    # ------------------------------------------------------------ queries for plugins

    def pods_on(self, i: int) -> dict[str, PodInfo]:
        return self.extra[i].pods

    def ports_on(self, i: int) -> dict[tuple[str, str, int], int]:
        return self.extra[i].ports

    def matching_counts(self, selector: Selector, namespaces: frozenset[str] | None) -> IntArray:
        """How many pods on each node match `selector` within `namespaces` (None: all namespaces).

        Built once by scanning all pods, then kept up to date on every pod change.
        """
        key = (selector, namespaces)
        si = self.selector_indexes.get(key)
        if si is None:
            if len(self.selector_indexes) >= 256:
                victim = min(self.selector_indexes, key=lambda k: self.selector_indexes[k].used)
                del self.selector_indexes[victim]
                for other in self.selector_indexes.values():
                    other.used = 0
            counts = np.zeros(self.cap, dtype=np.int64)
            for i, ex in enumerate(self.extra):
                if not self.live[i]:
                    continue
                n = 0
                for p in ex.pods.values():
                    if (namespaces is None or p.namespace in namespaces) and selector.matches(p.labels):
                        n += 1
                counts[i] = n
            si = SelectorIndex(selector, namespaces, counts)
            self.selector_indexes[key] = si
        si.used += 1
        return si.counts

    def term_counts(self, term: AffinityTerm) -> IntArray:
        return self.matching_counts(term.selector, self.term_namespaces(term))

    def domain_of(self, key: str) -> npt.NDArray[np.int32]:
        """Per node slot, the code of its value for topology key `key` (-1: node lacks the label)."""
        col = self.labels.get(key)
        if col is None:
            return np.full(self.cap, -1, dtype=np.int32)
        return col.codes

    def num_domains(self, key: str) -> int:
        col = self.labels.get(key)
        return 0 if col is None else len(col.values)
