"""The scheduling framework: kube-scheduler's extension points, run over all nodes at once.

Extension points and what a plugin implements for each (a plugin implements any subset):
  PreEnqueue   pre_enqueue(pod) -> Status | None           (None: may enter the active queue)
  QueueSort    sort_key(qpod) -> tuple                      (smaller first; one plugin per profile)
  PreFilter    pre_filter(state, pod) -> Status | None      (SKIP: this plugin's filter is not needed)
  Filter       filter(state, pod) -> list[Fail]             (vectorized: masks over every node slot)
  PostFilter   post_filter(state, pod, diagnosis) -> PostFilterResult
  PreScore     pre_score(state, pod, idx) -> Status | None  (SKIP: this plugin's score is not needed)
  Score        score(state, pod, idx) -> int64 array over the feasible nodes `idx`
               normalize(state, pod, scores) -> array      (NormalizeScore; optional)
  Reserve      reserve(state, pod, node) -> Status | None; unreserve(state, pod, node)
  Permit       permit(state, pod, node) -> (Status | None, timeout seconds)   (WAIT: hold the pod)
  PreBind      async pre_bind(state, pod, node) -> Status | None
  Bind         async bind(state, pod, node) -> Status       (SKIP: let the next binder bind)
  PostBind     post_bind(state, pod, node)

A Filter returns the nodes it rejects as (mask, reason, code) triples; as in kube-scheduler, a node's
reasons are those of the first plugin (in configured order) that rejects it.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .cache import BoolArray, Cache, IntArray
from .types import PodInfo

MAX_NODE_SCORE = 100
MIN_FEASIBLE_NODES_TO_FIND = 100


class Code(enum.IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNRESOLVABLE = 3  # UnschedulableAndUnresolvable: preemption cannot help
    WAIT = 4
    SKIP = 5


@dataclass(slots=True)
class Status:
    code: Code
    reasons: list[str] = field(default_factory=list)
    plugin: str = ""

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    @property
    def ok(self) -> bool:
        return self.code == Code.SUCCESS

    @property
    def rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNRESOLVABLE)


def unschedulable(reason: str, resolvable: bool = True) -> Status:
    return Status(Code.UNSCHEDULABLE if resolvable else Code.UNRESOLVABLE, [reason])


SKIP = Status(Code.SKIP)


class Fail(NamedTuple):
    mask: BoolArray
    reason: str
    code: Code = Code.UNSCHEDULABLE


class CycleState(dict[str, Any]):
    """Per scheduling cycle storage shared by a pod's plugin calls."""

    def __init__(self) -> None:
        super().__init__()
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()


@dataclass(slots=True)
class PostFilterResult:
    nominated_node: str | None = None
    victims: list[PodInfo] = field(default_factory=list)
    status: Status | None = None


@dataclass(slots=True)
class Diagnosis:
    num_nodes: int
    # per plugin, in order: (plugin, reason -> count of nodes, code per reason)
    reasons: dict[str, int] = field(default_factory=dict)
    unresolvable: BoolArray | None = None  # nodes where preemption cannot help
    rejected: BoolArray | None = None  # nodes rejected by some filter
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    plugins: set[str] = field(default_factory=set)


def fit_error_message(d: Diagnosis) -> str:
    """kube-scheduler's FitError text: '0/5 nodes are available: 3 Insufficient cpu, ... .'"""
    msg = f"0/{d.num_nodes} nodes are available:"
    if d.pre_filter_msg:
        msg += f" {d.pre_filter_msg}."
    else:
        parts = sorted(f"{n} {r}" for r, n in d.reasons.items())
        if parts:
            msg += " " + ", ".join(parts) + "."
    if d.post_filter_msg:
        pf = d.post_filter_msg
        msg += f" {pf}" if pf.endswith(".") else f" {pf}."
    return msg


class FitError(Exception):
    def __init__(self, pod: PodInfo, diagnosis: Diagnosis) -> None:
        super().__init__(fit_error_message(diagnosis))
        self.pod = pod
        self.diagnosis = diagnosis

    @property
    def message(self) -> str:
        return fit_error_message(self.diagnosis)


@dataclass(slots=True)
class ScheduleResult:
    node: str
    evaluated: int
    feasible: int
    top_scores: tuple[tuple[str, int], ...] = ()  # the best few (node, total score), for the trace


class WaitingPod:
    """A pod held at Permit until every plugin that said WAIT allows it, one rejects it, or time runs out."""

    def __init__(self, pod: PodInfo, node: str, pending: dict[str, float]) -> None:
        self.pod = pod
        self.node = node
        self.pending = dict(pending)  # plugin -> deadline (monotonic)
        self.future: asyncio.Future[Status] | None = None
        self.result: Status | None = None

    def allow(self, plugin: str) -> None:
        self.pending.pop(plugin, None)
        if not self.pending:
            self._finish(Status(Code.SUCCESS))

    def reject(self, plugin: str, reason: str) -> None:
        self._finish(Status(Code.UNSCHEDULABLE, [reason], plugin))

    def _finish(self, st: Status) -> None:
        if self.result is None:
            self.result = st
            if self.future is not None and not self.future.done():
                self.future.set_result(st)


class Plugin:
    """Base of every plugin: a name, the framework handle, and its args from the configuration."""

    name = ""

    def __init__(self, handle: Handle, args: dict[str, Any] | None = None) -> None:
        self.handle = handle
        self.args = args or {}

    @property
    def cache(self) -> Cache:
        return self.handle.cache


async def _no_binder(pod: PodInfo, node: str) -> Status:
    return Status(Code.ERROR, ["no API client to bind with"])


class Handle:
    """What plugins may use: the cache, the waiting pods, an event sink, a clock."""

    def __init__(self, cache: Cache, clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.clock = clock
        self.waiting: dict[str, WaitingPod] = {}
        self.events: Callable[[PodInfo, str, str, str], None] = lambda pod, type_, reason, msg: None
        self.framework: Framework | None = None
        # Pods nominated to a node by preemption, counted there against pods of lower priority.
        self.nominated: dict[str, tuple[PodInfo, str]] = {}
        self.bind_pod: Callable[[PodInfo, str], Awaitable[Status]] = _no_binder


POINTS = (
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
)
_METHOD = {
    "preEnqueue": "pre_enqueue",
    "queueSort": "sort_key",
    "preFilter": "pre_filter",
    "filter": "filter",
    "postFilter": "post_filter",
    "preScore": "pre_score",
    "score": "score",
    "reserve": "reserve",
    "permit": "permit",
    "preBind": "pre_bind",
    "bind": "bind",
    "postBind": "post_bind",
}


def implements(plugin: Any, point: str) -> bool:
    """Whether a plugin (instance or class) implements an extension point."""
    return callable(getattr(plugin, _METHOD[point], None))


class Framework:
    """One profile: its plugins per extension point, score weights, and the scheduling algorithm."""

    def __init__(
        self,
        handle: Handle,
        scheduler_name: str,
        points: dict[str, list[Plugin]],
        weights: dict[str, int],
        percentage_of_nodes_to_score: int = 0,
        seed: int | None = None,
    ) -> None:
        self.handle = handle
        self.cache = handle.cache
        self.scheduler_name = scheduler_name
        self.points = {p: points.get(p, []) for p in POINTS}
        self.weights = weights
        self.percentage = percentage_of_nodes_to_score
        self.random = random.Random(seed)
        self.next_start = 0
        self.plugins: list[Plugin] = []
        self._memo: dict[Any, tuple[IntArray, int]] = {}
        sorts = self.points["queueSort"]
        self.sort_key: Callable[[Any], Any] = sorts[0].sort_key if sorts else (lambda q: 0)  # type: ignore[attr-defined]
        handle.framework = self

    # ------------------------------------------------------------ queue side

    def pre_enqueue(self, pod: PodInfo) -> Status | None:
        for pl in self.points["preEnqueue"]:
            st = pl.pre_enqueue(pod)  # type: ignore[attr-defined]
            if st is not None and not st.ok:
                st.plugin = pl.name
                return st
        return None

    # ------------------------------------------------------------ scheduling cycle

    def run_pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        for pl in self.points["preFilter"]:
            st = pl.pre_filter(state, pod)  # type: ignore[attr-defined]
            if st is None or st.ok:
                continue
            if st.code == Code.SKIP:
                state.skip_filter.add(pl.name)
                continue
            st.plugin = pl.name
            return st
        return None

    def run_filters(
        self, state: CycleState, pod: PodInfo, diagnose: bool = True
    ) -> tuple[BoolArray | None, Diagnosis]:
        """Every Filter over every node; the diagnosis (reasons per node) is built only when no node
        is left, since only then is it reported."""
        cache = self.cache
        alive: BoolArray | None = None  # None: every live node (nothing rejected yet)
        record: list[tuple[str, list[Fail], BoolArray]] = []
        for pl in self.points["filter"]:
            if pl.name in state.skip_filter:
                continue
            fails: list[Fail] = pl.filter(state, pod)  # type: ignore[attr-defined]
            if not fails:
                continue
            rejected = fails[0].mask
            for f in fails[1:]:
                rejected = rejected | f.mask
            before = cache.live if alive is None else alive
            record.append((pl.name, fails, before))
            alive = before & ~rejected
        diag = Diagnosis(num_nodes=cache.num_nodes)
        if diagnose and alive is not None and not alive.any():
            unresolvable = np.zeros(cache.cap, dtype=bool)
            for name, fails, before in record:
                rejected = np.zeros(cache.cap, dtype=bool)
                for f in fails:
                    rejected |= f.mask
                newly = rejected & before
                if not newly.any():
                    continue
                diag.plugins.add(name)
                for f in fails:
                    n = int(np.count_nonzero(f.mask & newly))
                    if n:
                        diag.reasons[f.reason] = diag.reasons.get(f.reason, 0) + n
                        if f.code == Code.UNRESOLVABLE:
                            unresolvable |= f.mask & newly
            diag.unresolvable = unresolvable
            diag.rejected = cache.live & ~alive
        return alive, diag

    def find_feasible(self, state: CycleState, pod: PodInfo) -> tuple[npt.NDArray[np.intp], Diagnosis]:
        st = self.run_pre_filter(state, pod)
        cache = self.cache
        if st is not None:
            diag = Diagnosis(num_nodes=cache.num_nodes, pre_filter_msg=st.message, plugins={st.plugin})
            diag.rejected = cache.live.copy()
            diag.unresolvable = (
                cache.live.copy() if st.code == Code.UNRESOLVABLE else np.zeros(cache.cap, bool)
            )
            return np.empty(0, dtype=np.intp), diag
        alive, diag = self.run_filters(state, pod)
        idx = cache.all_idx() if alive is None else np.flatnonzero(alive)
        n = cache.num_nodes
        if self.percentage and 0 < self.percentage < 100 and len(idx) > MIN_FEASIBLE_NODES_TO_FIND:
            want = max(n * self.percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)
            if len(idx) > want:
                start = int(np.searchsorted(idx, self.next_start % max(cache.size, 1)))
                rolled = np.concatenate([idx[start:], idx[:start]])
                idx = np.sort(rolled[:want])
                self.next_start = int(rolled[want - 1]) + 1
        return idx, diag

    def _memo_score(
        self, pl: Plugin, sig: Any, state: CycleState, pod: PodInfo, idx: npt.NDArray[np.intp]
    ) -> IntArray:
        """Scores of a plugin whose per-node score depends only on that node and `sig`: kept for every
        node and refreshed only where nodes changed since (usually the one node the last pod went to)."""
        cache = self.cache
        key = (pl.name, sig)
        memo = self._memo.get(key)
        changed = None if memo is None or len(memo[0]) != cache.cap else cache.changed_since(memo[1])
        if changed is None:
            live = cache.all_idx()
            scores = np.zeros(cache.cap, dtype=np.int64)
            scores[live] = pl.score(state, pod, live)  # type: ignore[attr-defined]
            if len(self._memo) >= 64:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = (scores, cache.seq)
        else:
            assert memo is not None
            scores = memo[0]
            if changed:
                live_changed = [i for i in set(changed) if cache.live[i]]
                one = getattr(pl, "score_node", None)
                if one is not None and len(live_changed) <= 16:
                    for i in live_changed:  # a few nodes: scalars beat array set-up
                        scores[i] = one(pod, i)
                elif live_changed:
                    arr = np.array(sorted(live_changed), dtype=np.intp)
                    scores[arr] = pl.score(state, pod, arr)  # type: ignore[attr-defined]
                self._memo[key] = (scores, cache.seq)
        if len(idx) == cache.size:
            return scores[: cache.size]  # every slot is a feasible node: a view, no copy
        return scores[idx]

    def run_scores(self, state: CycleState, pod: PodInfo, idx: npt.NDArray[np.intp]) -> IntArray:
        total: IntArray | None = None
        for pl in self.points["preScore"]:
            st = pl.pre_score(state, pod, idx)  # type: ignore[attr-defined]
            if st is not None and st.code == Code.SKIP:
                state.skip_score.add(pl.name)
        for pl in self.points["score"]:
            if pl.name in state.skip_score:
                continue
            sigf = getattr(pl, "score_signature", None)
            sig = sigf(pod) if sigf is not None else None
            s = (
                pl.score(state, pod, idx)  # type: ignore[attr-defined]
                if sig is None
                else self._memo_score(pl, sig, state, pod, idx)
            )
            norm = getattr(pl, "normalize", None)
            if norm is not None:
                s = norm(state, pod, s)
            w = self.weights.get(pl.name, 1)
            if w != 1:
                s = s * w
            total = s.astype(np.int64) if total is None else total + s
        return total if total is not None else np.zeros(len(idx), dtype=np.int64)

    def evaluate_node(self, pod: PodInfo, i: int, state: CycleState | None = None) -> tuple[bool, list[str]]:
        """Whether `pod` passes PreFilter and every Filter on node slot i; else the first rejection.

        With `state`, PreFilter already ran (its results do not depend on which pods the simulation
        removes: the filters read the cache themselves)."""
        if state is None:
            state = CycleState()
            st = self.run_pre_filter(state, pod)
            if st is not None:
                return False, st.reasons
        for pl in self.points["filter"]:
            if pl.name in state.skip_filter:
                continue
            fails: list[Fail] = pl.filter(state, pod)  # type: ignore[attr-defined]
            reasons = [f.reason for f in fails if f.mask[i]]
            if reasons:
                return False, reasons
        return True, []

    def schedule(self, state: CycleState, pod: PodInfo) -> ScheduleResult:
        """Pick a node for `pod`, or raise FitError (after PostFilter, e.g. preemption, has run)."""
        cache = self.cache
        if cache.num_nodes == 0:
            raise FitError(pod, Diagnosis(num_nodes=0, pre_filter_msg="no nodes available to schedule pods"))
        idx, diag = self.find_feasible(state, pod)
        if len(idx) == 0:
            raise FitError(pod, diag)
        if len(idx) == 1:
            return ScheduleResult(cache.nodes[int(idx[0])].name, diag.num_nodes, 1)  # type: ignore[union-attr]
        total = self.run_scores(state, pod, idx)
        ties = np.flatnonzero(total == total.max())
        pick = ties[0] if len(ties) == 1 else ties[self.random.randrange(len(ties))]
        node = cache.nodes[int(idx[pick])]
        assert node is not None
        top = tuple(
            (cache.nodes[int(idx[i])].name, int(total[i]))  # type: ignore[union-attr]
            for i in _top_three(total)
        )
        return ScheduleResult(node.name, diag.num_nodes, len(idx), top)

    def run_post_filter(self, state: CycleState, pod: PodInfo, diag: Diagnosis) -> PostFilterResult:
        result = PostFilterResult()
        for pl in self.points["postFilter"]:
            r: PostFilterResult = pl.post_filter(state, pod, diag)  # type: ignore[attr-defined]
            if r.status is not None and r.status.message:
                diag.post_filter_msg = r.status.message
            if r.nominated_node:
                return r
            result = r
        return result

    # ------------------------------------------------------------ reserve / permit / bind

    def run_reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status | None:
        for pl in self.points["reserve"]:
            st = pl.reserve(state, pod, node)  # type: ignore[attr-defined]
            if st is not None and not st.ok:
                st.plugin = pl.name
                self.run_unreserve(state, pod, node)
                return st
        return None

    def run_unreserve(self, state: CycleState, pod: PodInfo, node: str) -> None:
        for pl in reversed(self.points["reserve"]):
            unres = getattr(pl, "unreserve", None)
            if unres is not None:
                unres(state, pod, node)

    def run_permit(self, state: CycleState, pod: PodInfo, node: str) -> Status | None:
        """Returns a rejection, or None; a pod some plugin holds is registered in handle.waiting."""
        pending: dict[str, float] = {}
        for pl in self.points["permit"]:
            st, timeout = pl.permit(state, pod, node)  # type: ignore[attr-defined]
            if st is None or st.ok:
                continue
            if st.code == Code.WAIT:
                pending[pl.name] = time.monotonic() + min(max(timeout, 0.0), 15 * 60)
                continue
            st.plugin = pl.name
            return st
        if pending:
            self.handle.waiting[pod.uid or pod.key] = WaitingPod(pod, node, pending)
        return None

    def take_waiting(self, pod: PodInfo) -> WaitingPod | None:
        return self.handle.waiting.get(pod.uid or pod.key)

    async def wait_on_permit(self, pod: PodInfo) -> Status:
        wp = self.handle.waiting.get(pod.uid or pod.key)
        if wp is None:
            return Status(Code.SUCCESS)
        try:
            if wp.result is None:
                wp.future = asyncio.get_running_loop().create_future()
                deadline = max(wp.pending.values())
                remaining = deadline - time.monotonic()
                try:
                    return await asyncio.wait_for(asyncio.shield(wp.future), timeout=max(remaining, 0))
                except TimeoutError:
                    plugins = ", ".join(sorted(wp.pending))
                    msg = f"rejected due to timeout after waiting at permit ({plugins})"
                    for pl in self.points["permit"]:
                        tm = getattr(pl, "timeout_message", None)
                        if pl.name in wp.pending and tm is not None:
                            msg = tm(wp)
                    wp.reject(plugins, msg)
            assert wp.result is not None
            return wp.result
        finally:
            self.handle.waiting.pop(pod.uid or pod.key, None)

    async def run_pre_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status | None:
        for pl in self.points["preBind"]:
            st = await pl.pre_bind(state, pod, node)  # type: ignore[attr-defined]
            if st is not None and not st.ok:
                st.plugin = pl.name
                return st
        return None

    async def run_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        for pl in self.points["bind"]:
            st: Status = await pl.bind(state, pod, node)  # type: ignore[attr-defined]
            if st.code == Code.SKIP:
                continue
            st.plugin = pl.name
            return st
        return Status(Code.ERROR, ["no bind plugin bound the pod"])

    def run_post_bind(self, state: CycleState, pod: PodInfo, node: str) -> None:
        for pl in self.points["postBind"]:
            pl.post_bind(state, pod, node)  # type: ignore[attr-defined]


def default_normalize(scores: IntArray, reverse: bool = False) -> IntArray:
    """kube-scheduler's DefaultNormalizeScore: scale so the highest is 100 (optionally reversed)."""
    if len(scores) == 0:
        return scores
    mx = int(scores.max())
    if mx == 0:
        return np.full(len(scores), MAX_NODE_SCORE if reverse else 0, dtype=np.int64)
    out = scores * MAX_NODE_SCORE // mx
    if reverse:
        out = MAX_NODE_SCORE - out
    return out


def _top_three(total: IntArray) -> list[int]:
    """Indices of the three highest scores, best first (the trace shows them). Three argmax passes:
    np.argpartition here cost ~300 us per pod (most of the algorithm's time) on these score arrays."""
    work = total.copy()
    floor = np.iinfo(work.dtype).min
    best: list[int] = []
    for _ in range(min(3, len(work))):
        i = int(work.argmax())
        best.append(i)
        work[i] = floor
    return best
