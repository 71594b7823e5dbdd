"""A pod's effective resource requests and its QoS class, with Kubernetes' rules.

Amounts are integers: milli-cpu for "cpu", plain units (bytes, counts) for everything else.
Effective requests: the sum over containers (and sidecars, i.e. init containers with restartPolicy
Always), at least the largest single init container (plus the sidecars started before it), plus the
pod overhead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import core
from .quantity import parse

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

# kube-scheduler counts a container without requests as this much when scoring (not when filtering).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

_QOS_RESOURCES = (CPU, MEMORY)


def amount(name: str, q: str | int | float) -> int:
    """A quantity as skiff's integer unit for the resource: milli-cpu for cpu, else the value."""
    parsed = parse(q)
    return parsed.milli_value() if name == CPU else parsed.value()


def resource_list(rl: Mapping[str, str] | None) -> dict[str, int]:
    """A ResourceList (name -> quantity string) as integer amounts."""
    if not rl:
        return {}
    return {name: amount(name, q) for name, q in rl.items()}


def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


def _max(into: dict[str, int], other: Mapping[str, int]) -> None:
    for k, v in other.items():
        if v > into.get(k, 0):
            into[k] = v


def _container_requests(c: core.Container, non_zero: bool) -> dict[str, int]:
    reqs = resource_list(c.resources.requests if c.resources else None)
    if non_zero:
        # Only a missing request counts as the default; an explicit 0 stays 0.
        reqs.setdefault(CPU, DEFAULT_MILLI_CPU_REQUEST)
        reqs.setdefault(MEMORY, DEFAULT_MEMORY_REQUEST)
    return reqs


def _fold_containers(
    spec: core.PodSpec, amounts: Callable[[core.Container], dict[str, int]]
) -> dict[str, int]:
    """Kubernetes' rule for a pod's total: the app containers and restartable (sidecar) init containers
    add up; each ordinary init container runs alone beside the sidecars started before it, so the
    total is at least the largest of those moments."""
    total: dict[str, int] = {}
    for c in spec.containers:
        _add(total, amounts(c))
    init_max: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for c in spec.init_containers or ():
        amount = amounts(c)
        if c.restart_policy == "Always":
            _add(total, amount)
            _add(sidecars, amount)
            _max(init_max, sidecars)
        else:
            moment = dict(amount)
            _add(moment, sidecars)
            _max(init_max, moment)
    _max(total, init_max)
    return total


def pod_requests(pod: core.Pod, non_zero: bool = False) -> dict[str, int]:
    """The pod's effective requests per resource name.

    non_zero=True counts a container without a cpu or memory request as kube-scheduler does when
    scoring (100m cpu, 200Mi memory).
    """
    spec = pod.spec
    if spec.resources is not None and spec.resources.requests and not non_zero:
        # Pod-level resources (PodLevelResources) replace the per-container sum.
        pod_level = resource_list(spec.resources.requests)
        _add(pod_level, resource_list(spec.overhead))
        return pod_level
    reqs = _fold_containers(spec, lambda c: _container_requests(c, non_zero))
    _add(reqs, resource_list(spec.overhead))
    return reqs


def pod_limits(pod: core.Pod) -> dict[str, int]:
    """The pod's effective limits, computed like its requests (containers without a limit add 0)."""
    spec = pod.spec
    if spec.resources is not None and spec.resources.limits:
        pod_level = resource_list(spec.resources.limits)
        _add(pod_level, resource_list(spec.overhead))
        return pod_level
    lims = _fold_containers(spec, lambda c: resource_list(c.resources.limits if c.resources else None))
    if lims:
        _add(lims, resource_list(spec.overhead))
    return lims


def qos_class(pod: core.Pod) -> str:
    """Guaranteed, Burstable or BestEffort, by Kubernetes' rules (cpu and memory only)."""
    spec = pod.spec
    if spec.resources is not None and (spec.resources.requests or spec.resources.limits):
        return _qos_of([(spec.resources.requests, spec.resources.limits)])
    pairs = [
        (c.resources.requests if c.resources else None, c.resources.limits if c.resources else None)
        for c in [*spec.containers, *(spec.init_containers or ())]
    ]
    return _qos_of(pairs)


def _qos_of(pairs: list[tuple[Mapping[str, str] | None, Mapping[str, str] | None]]) -> str:
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for reqs, lims in pairs:
        # A missing request defaults to the limit (as API defaulting does).
        effective = {**(lims or {}), **(reqs or {})}
        for name, q in effective.items():
            if name in _QOS_RESOURCES:
                v = amount(name, q)
                if v > 0:
                    requests[name] = requests.get(name, 0) + v
        found = set()
        for name, q in (lims or {}).items():
            if name in _QOS_RESOURCES:
                v = amount(name, q)
                if v > 0:
                    found.add(name)
                    limits[name] = limits.get(name, 0) + v
        if len(found) != len(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return core.QOS_BEST_EFFORT
    if guaranteed:
        for name, v in requests.items():
            if limits.get(name) != v:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return core.QOS_GUARANTEED
    return core.QOS_BURSTABLE
