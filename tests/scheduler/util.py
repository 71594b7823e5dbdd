"""Helpers for the scheduler's algorithm tests: wire-shaped pods and nodes, and a one-call scheduler."""

from __future__ import annotations

from typing import Any

from skiff.scheduler.cache import Cache
from skiff.scheduler.config import build_frameworks, parse_config
from skiff.scheduler.framework import CycleState, FitError, Framework, Handle
from skiff.scheduler.types import PodInfo, node_info, pod_info


def pod(
    name: str = "p",
    ns: str = "default",
    cpu: str | None = None,
    mem: str | None = None,
    labels: dict[str, str] | None = None,
    node: str = "",
    priority: int = 0,
    containers: list[dict[str, Any]] | None = None,
    created: str = "2026-01-01T00:00:00Z",
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    req: dict[str, str] = {}
    if cpu:
        req["cpu"] = cpu
    if mem:
        req["memory"] = mem
    if containers is None:
        containers = [{"name": "c", "image": "busybox", "resources": {"requests": req} if req else {}}]
    s: dict[str, Any] = {"containers": containers, **spec}
    if node:
        s["nodeName"] = node
    if priority:
        s["priority"] = priority
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{ns}-{name}",
            "labels": labels or {},
            "annotations": annotations or {},
            "creationTimestamp": created,
        },
        "spec": s,
    }


def node(
    name: str,
    cpu: str = "4",
    mem: str = "32Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    unschedulable: bool = False,
    images: list[dict[str, Any]] | None = None,
    extra: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    alloc = {"cpu": cpu, "memory": mem, "pods": pods, **(extra or {})}
    lb = {"kubernetes.io/hostname": name, **(labels or {})}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "labels": lb, "annotations": annotations or {}},
        "spec": spec,
        "status": {"allocatable": alloc, "capacity": alloc, "images": images or []},
    }


class Sim:
    """The algorithm without the API: a cache, one framework, and helpers to place pods."""

    def __init__(
        self,
        nodes: list[dict[str, Any]],
        pods: list[dict[str, Any]] | None = None,
        config: Any = None,
        seed: int = 1,
    ) -> None:
        self.cache = Cache()
        self.handle = Handle(self.cache)
        self.events: list[tuple[str, str, str, str]] = []
        self.handle.events = lambda p, t, r, m: self.events.append((p.key, t, r, m))
        cfg = parse_config(config or {})
        self.fws = build_frameworks(cfg, self.handle, seed=seed)
        self.fw: Framework = next(iter(self.fws.values()))
        for n in nodes:
            self.cache.add_node(node_info(n))
        for p in pods or []:
            self.cache.add_pod(pod_info(p))

    def schedule(self, p: dict[str, Any] | PodInfo) -> str:
        """The chosen node's name, or the FitError message (after PostFilter)."""
        pi = p if isinstance(p, PodInfo) else pod_info(p)
        state = CycleState()
        try:
            return self.fw.schedule(state, pi).node
        except FitError as e:
            self.last_post = self.fw.run_post_filter(state, pi, e.diagnosis)
            return e.message

    def place(self, p: dict[str, Any]) -> str:
        """Schedule and assume, as the loop does."""
        pi = pod_info(p)
        n = self.schedule(pi)
        if n in self.cache.index:
            self.cache.assume(pi, n)
        return n

    def scores(self, p: dict[str, Any], plugin: str) -> dict[str, int]:
        """One score plugin's normalized scores over all nodes that pass the filters."""
        pi = pod_info(p)
        state = CycleState()
        idx, _ = self.fw.find_feasible(state, pi)
        pl = next(x for x in self.fw.points["score"] if x.name == plugin)
        pre = getattr(pl, "pre_score", None)
        if pre is not None:
            pre(state, pi, idx)
        s = pl.score(state, pi, idx)
        norm = getattr(pl, "normalize", None)
        if norm is not None:
            s = norm(state, pi, s)
        return dict(zip(self.cache.node_names(idx), (int(v) for v in s), strict=True))


def containers(*reqs: dict[str, str], image: str = "busybox") -> list[dict[str, Any]]:
    """One container per requests map (kube tests' st.MakePod().Req(...).Req(...))."""
    return [{"name": f"c{i}", "image": image, "resources": {"requests": r}} for i, r in enumerate(reqs)]


def knode(name: str, milli_cpu: int, memory: int, **kw: Any) -> dict[str, Any]:
    """kube tests' makeNode(name, milliCPU, memory)."""
    return node(name, cpu=f"{milli_cpu}m", mem=str(memory), **kw)


def score_only(plugin: str, **args: Any) -> dict[str, Any]:
    """A profile whose only score plugin is `plugin` (filters as default)."""
    cfg: dict[str, Any] = {
        "profiles": [
            {
                "schedulerName": "default-scheduler",
                "plugins": {"score": {"disabled": [{"name": "*"}], "enabled": [{"name": plugin}]}},
            }
        ]
    }
    if args:
        cfg["profiles"][0]["pluginConfig"] = [{"name": plugin, "args": args}]
    return cfg
