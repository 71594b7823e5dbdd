"""The resources skiff serves, each with its kind's Strategy (defaults, status rules, field
selectors, table columns)."""

from __future__ import annotations

from typing import Any

from skiff.api import kinds
from skiff.apiserver import printers
from skiff.apiserver.resources import (
    Obj,
    ResourceInfo,
    Strategy,
    age_column,
    age_of,
    column,
    name_column,
    name_of,
)


def _get(obj: Obj, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class PodStrategy(Strategy):
    def fields(self, obj: Obj) -> dict[str, str]:
        f = super().fields(obj)
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        f["spec.nodeName"] = _s(spec.get("nodeName"))
        f["spec.restartPolicy"] = _s(spec.get("restartPolicy"))
        f["spec.schedulerName"] = _s(spec.get("schedulerName"))
        f["spec.serviceAccountName"] = _s(spec.get("serviceAccountName"))
        f["spec.hostNetwork"] = _s(bool(spec.get("hostNetwork")))
        f["status.phase"] = _s(status.get("phase"))
        f["status.podIP"] = _s(status.get("podIP"))
        f["status.nominatedNodeName"] = _s(status.get("nominatedNodeName"))
        return f

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            column("Status", "string", "The aggregate status of the containers in this pod."),
            column(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last "
                "container in this pod has restarted.",
            ),
            age_column(),
            column(
                "IP", "string", "IP address allocated to the pod. Routable at least within the cluster.", 1
            ),
            column("Node", "string", "Name of the Node this pod is bound to.", 1),
            column("Nominated Node", "string", "Name of the Node this pod is nominated to.", 1),
            column("Readiness Gates", "string", "Readiness gates of this pod.", 1),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        ready, status, restarts = printers.pod_cells(obj, now)
        return [name_of(obj), ready, status, restarts, age_of(obj, now), *printers.pod_wide(obj)]


class NodeStrategy(Strategy):
    def fields(self, obj: Obj) -> dict[str, str]:
        f = super().fields(obj)
        f["spec.unschedulable"] = _s(bool(_get(obj, "spec", "unschedulable")))
        return f

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Status", "string", "The status of the node"),
            column("Roles", "string", "The roles of the node"),
            age_column(),
            column("Version", "string", "Kubelet Version reported by the node."),
            column("Internal-IP", "string", "List of internal IPs.", 1),
            column("External-IP", "string", "List of external IPs.", 1),
            column("OS-Image", "string", "OS Image reported by the node.", 1),
            column("Kernel-Version", "string", "Kernel Version reported by the node.", 1),
            column("Container-Runtime", "string", "Container Runtime Version reported by the node.", 1),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [
            name_of(obj),
            printers.node_status(obj),
            printers.node_roles(obj),
            age_of(obj, now),
            _get(obj, "status", "nodeInfo", "kubeletVersion") or "",
            *printers.node_wide(obj),
        ]


class NamespaceStrategy(Strategy):
    def prepare_create(self, obj: Obj) -> None:
        labels = obj["metadata"].setdefault("labels", {})
        if isinstance(labels, dict):
            labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")

    def fields(self, obj: Obj) -> dict[str, str]:
        f = super().fields(obj)
        f["status.phase"] = _s(_get(obj, "status", "phase"))
        return f

    def prepare_update(self, new: Obj, old: Obj) -> None:
        """Status and spec.finalizers are not the main resource's to change (finalize changes the
        latter)."""
        super().prepare_update(new, old)
        old_fin = _get(old, "spec", "finalizers")
        spec = new.get("spec")
        if not isinstance(spec, dict):
            spec = new["spec"] = {}
        if old_fin is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = old_fin
        if not spec and "spec" not in old:
            new.pop("spec")

    def prepare_finalize_update(self, new: Obj, old: Obj) -> None:
        """PUT namespaces/NAME/finalize: everything but status, which stays as stored."""
        Strategy.prepare_update(self, new, old)

    def columns(self) -> list[dict[str, Any]]:
        return [name_column(), column("Status", "string", "The status of the namespace"), age_column()]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [name_of(obj), _get(obj, "status", "phase") or "", age_of(obj, now)]


class EventStrategy(Strategy):
    has_status = False

    def fields(self, obj: Obj) -> dict[str, str]:
        f = super().fields(obj)
        io = obj.get("involvedObject") or {}
        for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
            f["involvedObject." + k] = _s(io.get(k))
            f["regarding." + k] = _s(io.get(k))
        f["reason"] = _s(obj.get("reason"))
        f["reportingComponent"] = _s(obj.get("reportingComponent"))
        f["reportingController"] = _s(obj.get("reportingComponent"))
        f["source"] = _s((obj.get("source") or {}).get("component"))
        f["type"] = _s(obj.get("type"))
        return f

    def columns(self) -> list[dict[str, Any]]:
        return [
            column("Last Seen", "string", "Time when last this event was observed."),
            column("Type", "string", "Type of this event (Normal, Warning), new types could be added."),
            column("Reason", "string", "This should be a short, machine understandable string."),
            column("Object", "string", "The object that this event is about."),
            column("Subobject", "string", "The subobject of the involved object.", 1),
            column("Source", "string", "The component reporting this event.", 1),
            column("Message", "string", "A human-readable description of the status of this operation."),
            column("First Seen", "string", "The first time this event was observed.", 1),
            column("Count", "integer", "The number of times this event has occurred.", 1),
            column("Name", "string", "The name of the event.", 1, "name"),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [
            printers.event_last_seen(obj, now),
            obj.get("type") or "",
            obj.get("reason") or "",
            printers.event_object(obj),
            _get(obj, "involvedObject", "fieldPath") or "",
            printers.event_source(obj),
            (obj.get("message") or "").strip(),
            printers.event_first_seen(obj, now),
            printers.event_count(obj),
            name_of(obj),
        ]


class LeaseStrategy(Strategy):
    has_status = False

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Holder", "string", "The holder of the lease."),
            age_column(),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [name_of(obj), _get(obj, "spec", "holderIdentity") or "", age_of(obj, now)]


class PriorityClassStrategy(Strategy):
    has_status = False

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Value", "integer", "The value of this priority class."),
            column("Global-Default", "boolean", "If true, this priority class is the global default."),
            age_column(),
            column("PreemptionPolicy", "string", "The preemption policy of this priority class."),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [
            name_of(obj),
            obj.get("value", 0),
            bool(obj.get("globalDefault", False)),
            age_of(obj, now),
            obj.get("preemptionPolicy") or "PreemptLowerPriority",
        ]


class BindingStrategy(Strategy):
    has_status = False


class ServiceAccountStrategy(Strategy):
    has_status = False

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Secrets", "string", "Secrets is a list of the secrets in the same namespace."),
            age_column(),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [name_of(obj), len(obj.get("secrets") or []), age_of(obj, now)]


class RoleStrategy(Strategy):
    """Role and ClusterRole: no status; kubectl prints the creation time."""

    has_status = False

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column(
                "Created At",
                "date",
                "CreationTimestamp is a timestamp representing the server time when this object was created.",
            ),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [name_of(obj), _get(obj, "metadata", "creationTimestamp") or ""]


class RoleBindingStrategy(Strategy):
    has_status = False

    def columns(self) -> list[dict[str, Any]]:
        return [
            name_column(),
            column("Role", "string", "RoleRef is the Role or ClusterRole this binding refers to."),
            age_column(),
            column("Users", "string", "Users in the binding", 1),
            column("Groups", "string", "Groups in the binding", 1),
            column("ServiceAccounts", "string", "ServiceAccounts in the binding", 1),
        ]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        ref = obj.get("roleRef") or {}
        subjects = obj.get("subjects") or []

        def of(kind: str) -> str:
            names = [
                (
                    f"{s.get('namespace', '')}/{s.get('name', '')}"
                    if kind == "ServiceAccount"
                    else str(s.get("name", ""))
                )
                for s in subjects
                if s.get("kind") == kind
            ]
            return ", ".join(names)

        return [
            name_of(obj),
            f"{ref.get('kind', '')}/{ref.get('name', '')}",
            age_of(obj, now),
            of("User"),
            of("Group"),
            of("ServiceAccount"),
        ]


class ReviewStrategy(Strategy):
    """The reviews (access, self subject, token): answered, never stored."""

    has_status = False


# events.k8s.io/v1 <-> core v1 (the stored shape): field renames.
_EV_RENAMES = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
]


def events_to_core(obj: Obj) -> Obj:
    out = dict(obj)
    for new, old in _EV_RENAMES:
        out.pop(new, None)
        if new in obj:
            out[old] = obj[new]
    out["apiVersion"] = "v1"
    out["kind"] = "Event"
    return out


def core_to_events(obj: Obj) -> Obj:
    out = dict(obj)
    for new, old in _EV_RENAMES:
        out.pop(old, None)
        if old in obj:
            out[new] = obj[old]
    out["apiVersion"] = "events.k8s.io/v1"
    out["kind"] = "Event"
    return out


# The strategy of each served kind, by (group, plural); names, scope, verbs and subresources come
# from the object model's registry (skiff.api.kinds).
STRATEGIES: dict[tuple[str, str], Strategy] = {
    ("", "namespaces"): NamespaceStrategy(),
    ("", "pods"): PodStrategy(),
    ("", "nodes"): NodeStrategy(),
    ("", "bindings"): BindingStrategy(),
    ("", "events"): EventStrategy(),
    ("events.k8s.io", "events"): EventStrategy(),
    ("coordination.k8s.io", "leases"): LeaseStrategy(),
    ("scheduling.k8s.io", "priorityclasses"): PriorityClassStrategy(),
    ("", "serviceaccounts"): ServiceAccountStrategy(),
    ("authentication.k8s.io", "selfsubjectreviews"): ReviewStrategy(),
    ("authentication.k8s.io", "tokenreviews"): ReviewStrategy(),
    ("rbac.authorization.k8s.io", "roles"): RoleStrategy(),
    ("rbac.authorization.k8s.io", "clusterroles"): RoleStrategy(),
    ("rbac.authorization.k8s.io", "rolebindings"): RoleBindingStrategy(),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): RoleBindingStrategy(),
    ("authorization.k8s.io", "subjectaccessreviews"): ReviewStrategy(),
    ("authorization.k8s.io", "selfsubjectaccessreviews"): ReviewStrategy(),
    ("authorization.k8s.io", "selfsubjectrulesreviews"): ReviewStrategy(),
    ("authorization.k8s.io", "localsubjectaccessreviews"): ReviewStrategy(),
}
# Subresources served by this API server.
SERVED_SUBRESOURCES = {"status", "binding", "eviction", "log", "exec", "token", "finalize"}


def build() -> list[ResourceInfo]:
    out = []
    for k in kinds.KINDS:
        strategy = STRATEGIES.get((k.group, k.plural))
        if strategy is None:
            continue
        info = ResourceInfo(
            k.group,
            k.version,
            k.kind,
            k.plural,
            k.singular,
            k.namespaced,
            strategy,
            short_names=list(k.short_names),
            categories=list(k.categories),
            verbs=list(k.verbs),
            subresources={s.name: s.kind for s in k.subresources if s.name in SERVED_SUBRESOURCES},
        )
        if k.storage is not None:
            info.storage_plural = k.storage[1]
            info.to_stored = events_to_core
            info.from_stored = core_to_events
        out.append(info)
    return out
