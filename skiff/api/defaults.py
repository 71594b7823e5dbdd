"""Kubernetes' defaulting, applied in place.

- `apply(obj)`: the scheme defaults of the object's kind (run on every write: create, update, patch).
- `prepare_pod_for_create(pod)`: what the pod strategy does on create (status Pending, QoS class).
- `add_default_tolerations(pod)`: the DefaultTolerationSeconds admission plugin.
- `apply_priority(pod, lookup)`: the Priority admission plugin (priority from priorityClassName).
Quantities are rewritten in canonical form ("1000m" -> "1"), as Kubernetes stores them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from . import coordination, core, events, kinds, rbac, scheduling
from .codec import DecodeError, from_builtins
from .meta import ObjectMeta, normalize_micro_time, normalize_time
from .quantity import QuantityError, canonical
from .resources import qos_class

DEFAULT_TERMINATION_GRACE_PERIOD = 30
DEFAULT_TOLERATION_SECONDS = 300
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
NAMESPACE_FINALIZER = "kubernetes"


def image_pull_policy_for(image: str | None) -> str:
    """Always for `:latest` or an untagged image; IfNotPresent for a tag or digest."""
    if not image:
        return "IfNotPresent"
    if "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "Always"
    return "Always" if name.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def canonicalize_resource_list(rl: dict[str, str] | None) -> None:
    """Rewrite valid quantities in canonical form; leave invalid ones for validation to report."""
    if not rl:
        return
    for k, v in rl.items():
        try:
            rl[k] = canonical(v)
        except QuantityError:
            pass


def _default_http_get(h: core.HTTPGetAction | None) -> None:
    if h is not None:
        if not h.path:
            h.path = "/"
        if not h.scheme:
            h.scheme = "HTTP"


def _default_probe(p: core.Probe | None) -> None:
    if p is None:
        return
    if p.timeout_seconds is None:
        p.timeout_seconds = 1
    if p.period_seconds is None:
        p.period_seconds = 10
    if p.success_threshold is None:
        p.success_threshold = 1
    if p.failure_threshold is None:
        p.failure_threshold = 3
    _default_http_get(p.http_get)


def _default_container(c: core.Container, host_network: bool) -> None:
    if not c.image_pull_policy:
        c.image_pull_policy = image_pull_policy_for(c.image)
    if not c.termination_message_path:
        c.termination_message_path = TERMINATION_MESSAGE_PATH
    if not c.termination_message_policy:
        c.termination_message_policy = "File"
    for port in c.ports or ():
        if not port.protocol:
            port.protocol = "TCP"
        if host_network and not port.host_port:
            port.host_port = port.container_port
    for env in c.env or ():
        field_ref = (env.value_from or {}).get("fieldRef")
        if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
            field_ref["apiVersion"] = "v1"
    if c.resources is not None:
        res = c.resources
        if res.limits:
            # A missing request defaults to the limit.
            if res.requests is None:
                res.requests = {}
            for k, v in res.limits.items():
                res.requests.setdefault(k, v)
        canonicalize_resource_list(res.limits)
        canonicalize_resource_list(res.requests)
    _default_probe(c.liveness_probe)
    _default_probe(c.readiness_probe)
    _default_probe(c.startup_probe)
    if c.lifecycle is not None:
        for h in (c.lifecycle.post_start, c.lifecycle.pre_stop):
            if h is not None:
                _default_http_get(h.http_get)


_VOLUME_MODE_SOURCES = ("configMap", "secret", "projected", "downwardAPI")


def _default_volume(v: dict[str, Any]) -> None:
    if len(v) == 1 and "name" in v:
        v["emptyDir"] = {}
    for src in _VOLUME_MODE_SOURCES:
        body = v.get(src)
        if isinstance(body, dict) and "defaultMode" not in body:
            body["defaultMode"] = 420
    host_path = v.get("hostPath")
    if isinstance(host_path, dict) and "type" not in host_path:
        host_path["type"] = ""


def default_pod(pod: core.Pod) -> None:
    normalize_meta_times(pod.metadata)
    spec = pod.spec
    if not spec.restart_policy:
        spec.restart_policy = core.RESTART_ALWAYS
    if spec.termination_grace_period_seconds is None:
        spec.termination_grace_period_seconds = DEFAULT_TERMINATION_GRACE_PERIOD
    if not spec.dns_policy:
        spec.dns_policy = "ClusterFirst"
    if spec.security_context is None:
        spec.security_context = {}
    if not spec.scheduler_name:
        spec.scheduler_name = core.DEFAULT_SCHEDULER_NAME
    if spec.enable_service_links is None:
        spec.enable_service_links = True
    if not spec.service_account_name and spec.service_account:
        spec.service_account_name = spec.service_account
    if not spec.service_account_name:
        spec.service_account_name = "default"
    if not spec.service_account:
        spec.service_account = spec.service_account_name
    host_network = bool(spec.host_network)
    for c in spec.containers:
        _default_container(c, host_network)
    for c in spec.init_containers or ():
        _default_container(c, host_network)
    for v in spec.volumes or ():
        _default_volume(v)
    canonicalize_resource_list(spec.overhead)
    if spec.resources is not None:
        canonicalize_resource_list(spec.resources.limits)
        canonicalize_resource_list(spec.resources.requests)
    status = pod.status
    if status is not None:
        for cs in status.container_statuses or ():
            canonicalize_resource_list(cs.allocated_resources)
        # podIP/podIPs and hostIP/hostIPs mirror each other (Kubernetes' v1 conversion).
        if status.pod_ip and not status.pod_ips:
            status.pod_ips = [core.PodIP(ip=status.pod_ip)]
        elif status.pod_ips and not status.pod_ip:
            status.pod_ip = status.pod_ips[0].ip
        if status.host_ip and not status.host_ips:
            status.host_ips = [core.HostIP(ip=status.host_ip)]
        elif status.host_ips and not status.host_ip:
            status.host_ip = status.host_ips[0].ip


def prepare_pod_for_create(pod: core.Pod) -> None:
    """The pod strategy on create: status starts over as Pending with the pod's QoS class."""
    try:
        qos: str | None = qos_class(pod)
    except QuantityError:
        qos = None  # an invalid quantity: validation answers 422 for it
    pod.status = core.PodStatus(phase=core.POD_PENDING, qos_class=qos)


def _tolerates(tolerations: list[core.Toleration], key: str, effect: str) -> bool:
    for t in tolerations:
        if t.effect and t.effect != effect:
            continue
        if not t.key and t.operator == "Exists":
            return True
        if t.key == key:
            return True
    return False


def add_default_tolerations(pod: core.Pod, seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
    """Tolerate not-ready and unreachable nodes for `seconds` unless the pod already says otherwise."""
    tols = pod.spec.tolerations if pod.spec.tolerations is not None else []
    added = False
    for key in (core.TAINT_NODE_NOT_READY, core.TAINT_NODE_UNREACHABLE):
        if not _tolerates(tols, key, core.TAINT_NO_EXECUTE):
            tols.append(
                core.Toleration(
                    key=key, operator="Exists", effect=core.TAINT_NO_EXECUTE, toleration_seconds=seconds
                )
            )
            added = True
    if added or pod.spec.tolerations is not None:
        pod.spec.tolerations = tols


class PriorityClassNotFound(LookupError):
    """The pod names a PriorityClass that does not exist (Kubernetes answers 403 Forbidden)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no PriorityClass with name {name} was found")
        self.name = name


def apply_priority(
    pod: core.Pod,
    lookup: Callable[[str], scheduling.PriorityClass | None],
    global_default: scheduling.PriorityClass | None = None,
) -> None:
    """Set spec.priority and spec.preemptionPolicy from the pod's PriorityClass (or the global default).

    Raises PriorityClassNotFound when priorityClassName names no class.
    """
    spec = pod.spec
    pc: scheduling.PriorityClass | None
    if spec.priority_class_name:
        pc = lookup(spec.priority_class_name)
        if pc is None:
            raise PriorityClassNotFound(spec.priority_class_name)
    else:
        pc = global_default
        if pc is not None:
            spec.priority_class_name = pc.metadata.name
    if pc is None:
        if spec.priority is None:
            spec.priority = 0
        if spec.preemption_policy is None:
            spec.preemption_policy = scheduling.PREEMPT_LOWER_PRIORITY
        return
    spec.priority = pc.value
    if spec.preemption_policy is None:
        spec.preemption_policy = pc.preemption_policy or scheduling.PREEMPT_LOWER_PRIORITY


def default_node(node: core.Node) -> None:
    normalize_meta_times(node.metadata)
    spec = node.spec
    # podCIDR/podCIDRs mirror each other (Kubernetes' v1 conversion).
    if spec.pod_cidr and not spec.pod_cidrs:
        spec.pod_cidrs = [spec.pod_cidr]
    elif spec.pod_cidrs and not spec.pod_cidr:
        spec.pod_cidr = spec.pod_cidrs[0]
    status = node.status
    if status is not None:
        canonicalize_resource_list(status.capacity)
        canonicalize_resource_list(status.allocatable)
        if status.allocatable is None and status.capacity is not None:
            status.allocatable = dict(status.capacity)


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def default_namespace(ns: core.Namespace) -> None:
    normalize_meta_times(ns.metadata)
    # Every namespace carries its own name as a label (so selectors can pick namespaces by name).
    if ns.metadata.name:
        if ns.metadata.labels is None:
            ns.metadata.labels = {}
        ns.metadata.labels[NAMESPACE_NAME_LABEL] = ns.metadata.name
    if ns.status is None:
        ns.status = core.NamespaceStatus()
    if not ns.status.phase:
        ns.status.phase = "Active"


def prepare_namespace_for_create(ns: core.Namespace) -> None:
    """The namespace strategy on create: the `kubernetes` finalizer and phase Active."""
    if ns.spec is None:
        ns.spec = core.NamespaceSpec()
    finalizers = ns.spec.finalizers or []
    if NAMESPACE_FINALIZER not in finalizers:
        finalizers.append(NAMESPACE_FINALIZER)
    ns.spec.finalizers = finalizers
    ns.status = core.NamespaceStatus(phase="Active")


def normalize_meta_times(meta: ObjectMeta) -> None:
    """Timestamps as Kubernetes writes them (clients may send `+00:00` or fractions)."""
    meta.creation_timestamp = normalize_time(meta.creation_timestamp)
    meta.deletion_timestamp = normalize_time(meta.deletion_timestamp)


def default_event(ev: core.Event) -> None:
    normalize_meta_times(ev.metadata)
    ev.first_timestamp = normalize_time(ev.first_timestamp)
    ev.last_timestamp = normalize_time(ev.last_timestamp)
    ev.event_time = normalize_micro_time(ev.event_time)
    if ev.series is not None:
        ev.series.last_observed_time = normalize_micro_time(ev.series.last_observed_time)


def default_events_v1(ev: events.Event) -> None:
    normalize_meta_times(ev.metadata)
    ev.event_time = normalize_micro_time(ev.event_time)
    ev.deprecated_first_timestamp = normalize_time(ev.deprecated_first_timestamp)
    ev.deprecated_last_timestamp = normalize_time(ev.deprecated_last_timestamp)
    if ev.series is not None:
        ev.series.last_observed_time = normalize_micro_time(ev.series.last_observed_time) or ""


def default_lease(lease: coordination.Lease) -> None:
    normalize_meta_times(lease.metadata)
    lease.spec.acquire_time = normalize_micro_time(lease.spec.acquire_time)
    lease.spec.renew_time = normalize_micro_time(lease.spec.renew_time)


def default_priority_class(pc: scheduling.PriorityClass) -> None:
    normalize_meta_times(pc.metadata)
    if pc.preemption_policy is None:
        pc.preemption_policy = scheduling.PREEMPT_LOWER_PRIORITY


_DEFAULTERS: dict[type, Callable[[Any], None]] = {
    core.Pod: default_pod,
    core.Node: default_node,
    core.Namespace: default_namespace,
    core.Event: default_event,
    events.Event: default_events_v1,
    coordination.Lease: default_lease,
    scheduling.PriorityClass: default_priority_class,
    rbac.RoleBinding: rbac.default_binding,
    rbac.ClusterRoleBinding: rbac.default_binding,
}


def apply(obj: Any) -> None:
    """Apply the scheme defaults of obj's kind in place (kinds without defaults are left alone)."""
    fn = _DEFAULTERS.get(type(obj))
    if fn is not None:
        fn(obj)


# ------------------------------------------------------------------------------- dict-level


def _typed(api_version: str, kind: str, obj: dict[str, Any]) -> Any | None:
    k = kinds.by_kind(api_version, kind)
    if k is None:
        return None
    try:
        return from_builtins(k.type, obj)
    except DecodeError:
        return None  # validation reports the bad field


def default_dict(api_version: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a JSON object (as builtins) of a served kind.

    Returns `obj` itself when the kind is unknown or the object does not fit its type (validation
    then names the bad field). The copy holds only declared fields, quantities in canonical form.
    """
    typed = _typed(api_version, kind, obj)
    if typed is None:
        return obj
    apply(typed)
    out: dict[str, Any] = msgspec.to_builtins(typed)
    return out


def prepare_create_dict(api_version: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """default_dict plus what Kubernetes does on create: a pod's status starts as Pending with its QoS
    class and the not-ready/unreachable tolerations are added; a namespace gets its finalizer."""
    typed = _typed(api_version, kind, obj)
    if typed is None:
        return obj
    apply(typed)
    if isinstance(typed, core.Pod):
        add_default_tolerations(typed)
        prepare_pod_for_create(typed)
    elif isinstance(typed, core.Namespace):
        prepare_namespace_for_create(typed)
    out: dict[str, Any] = msgspec.to_builtins(typed)
    return out
