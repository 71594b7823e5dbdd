"""The bootstrap RBAC policy written on every start (as Kubernetes' bootstrap roles): default roles
for users (cluster-admin, admin, edit, view), discovery for everyone, and least-privilege roles for
skiff's scheduler and controller manager (what they actually call), system:kubelet-api-admin for
the API server's identity towards kubelets, and skiff:hollow-node for the process that plays every
hollow node. Kubelets are authorized by the node authorizer (node.py); the system:node role is kept,
bound to nobody, as Kubernetes does.

Objects annotated rbac.authorization.kubernetes.io/autoupdate=true get back any default rule or
subject they lost; rules and subjects an administrator added are kept.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from skiff.api import kinds
from skiff.api.rbac import AUTOUPDATE
from skiff.apiserver.storage import encode_for_store
from skiff.apiserver.timeutil import now_rfc3339
from skiff.store import ConflictError, KeyExistsError, Store

from .certs import HOLLOW_NODES, KUBELET_API_ADMINS
from .user import ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, MASTERS

Obj = dict[str, Any]
API_VERSION = "rbac.authorization.k8s.io/v1"
GROUP = "rbac.authorization.k8s.io"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
SCHEDULER = "system:kube-scheduler"
CONTROLLER_MANAGER = "system:kube-controller-manager"
AGG = "rbac.authorization.k8s.io/aggregate-to-"
HOLLOW_ROLE = "skiff:hollow-node"
NODE_LEASES = "kube-node-lease"


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> Obj:
    r: Obj = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        r["resourceNames"] = names
    return r


def urls(verbs: list[str], paths: list[str]) -> Obj:
    return {"verbs": verbs, "nonResourceURLs": paths}


def _meta(name: str, labels: dict[str, str] | None = None, namespace: str | None = None) -> Obj:
    m: Obj = {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
        "annotations": {AUTOUPDATE: "true"},
    }
    if namespace:
        m["namespace"] = namespace
    return m


def cluster_role(
    name: str, rules: list[Obj], labels: dict[str, str] | None = None, aggregate: str = ""
) -> Obj:
    obj: Obj = {
        "kind": "ClusterRole",
        "apiVersion": API_VERSION,
        "metadata": _meta(name, labels),
        "rules": rules,
    }
    if aggregate:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGG + aggregate: "true"}}]}
    return obj


def role(name: str, namespace: str, rules: list[Obj]) -> Obj:
    return {
        "kind": "Role",
        "apiVersion": API_VERSION,
        "metadata": _meta(name, namespace=namespace),
        "rules": rules,
    }


def subject(kind: str, name: str) -> Obj:
    return {"kind": kind, "apiGroup": GROUP, "name": name}


def cluster_role_binding(name: str, subjects: list[Obj], role: str | None = None) -> Obj:
    return {
        "kind": "ClusterRoleBinding",
        "apiVersion": API_VERSION,
        "metadata": _meta(name),
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role or name},
        "subjects": subjects,
    }


HEALTH = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
EVENTS = [rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"])]
POD_SUBS = ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]
CORE_NAMESPACED = ["configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers", "secrets",
                   "serviceaccounts", "services"]  # fmt: skip
APPS = ["daemonsets", "deployments", "replicasets", "statefulsets"]


def _leader_election(lease: str) -> list[Obj]:
    return [
        rule(["create"], ["coordination.k8s.io"], ["leases"]),
        rule(["get", "update"], ["coordination.k8s.io"], ["leases"], [lease]),
    ]


def cluster_roles() -> list[Obj]:
    return [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
        cluster_role("admin", [], aggregate="admin"),
        cluster_role("edit", [], {AGG + "admin": "true"}, aggregate="edit"),
        cluster_role("view", [], {AGG + "edit": "true"}, aggregate="view"),
        cluster_role(
            "system:aggregate-to-admin",
            [
                rule(READ + WRITE, [GROUP], ["rolebindings", "roles"]),
                rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
            ],
            {AGG + "admin": "true"},
        ),
        cluster_role(
            "system:aggregate-to-edit",
            [
                rule(WRITE, [""], ["pods", *POD_SUBS, *CORE_NAMESPACED]),
                rule(["get"], [""], POD_SUBS),
                rule(["create"], [""], ["pods/eviction"]),
                rule(["impersonate"], [""], ["serviceaccounts"]),
                rule(["create"], [""], ["serviceaccounts/token"]),
                rule(WRITE, ["apps"], APPS),
                rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
                rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
                rule(WRITE, ["coordination.k8s.io"], ["leases"]),
            ],
            {AGG + "admin": "true", AGG + "edit": "true"},
        ),
        cluster_role(
            "system:aggregate-to-view",
            [
                rule(
                    READ,
                    [""],
                    [
                        "pods",
                        "pods/log",
                        "pods/status",
                        "events",
                        "limitranges",
                        "resourcequotas",
                        "bindings",
                        "namespaces",
                        "namespaces/status",
                        *[r for r in CORE_NAMESPACED if r != "secrets"],
                    ],
                ),
                rule(READ, ["events.k8s.io"], ["events"]),
                rule(READ, ["apps"], APPS),
                rule(READ, ["batch"], ["cronjobs", "jobs"]),
                rule(READ, ["policy"], ["poddisruptionbudgets"]),
                rule(READ, ["coordination.k8s.io"], ["leases"]),
            ],
            {AGG + "admin": "true", AGG + "edit": "true", AGG + "view": "true"},
        ),
        cluster_role(
            "system:basic-user",
            [
                rule(
                    ["create"],
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
            ],
        ),
        cluster_role(
            "system:discovery",
            [urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", *HEALTH])],
        ),
        cluster_role("system:public-info-viewer", [urls(["get"], HEALTH)]),
        cluster_role(
            "system:monitoring",
            [
                urls(
                    ["get"],
                    ["/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*", "/metrics"],
                )
            ],
        ),
        cluster_role(
            "system:service-account-issuer-discovery",
            [urls(["get"], ["/.well-known/openid-configuration", "/openid/v1/jwks"])],
        ),
        cluster_role(
            SCHEDULER,
            [
                *EVENTS,
                *_leader_election("kube-scheduler"),
                rule(READ, [""], ["nodes", "namespaces"]),
                rule(["delete", *READ], [""], ["pods"]),
                rule(["create"], [""], ["bindings", "pods/binding"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(
                    READ,
                    [""],
                    ["persistentvolumeclaims", "persistentvolumes", "replicationcontrollers", "services"],
                ),
                rule(READ, ["apps"], ["replicasets", "statefulsets"]),
                rule(READ, ["policy"], ["poddisruptionbudgets"]),
                rule(READ, ["scheduling.k8s.io"], ["priorityclasses"]),
                rule(
                    READ,
                    ["storage.k8s.io"],
                    ["csidrivers", "csinodes", "csistoragecapacities", "storageclasses"],
                ),
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
        cluster_role(
            CONTROLLER_MANAGER,
            [
                *EVENTS,
                *_leader_election("kube-controller-manager"),
                # node lifecycle: node health from leases, conditions and taints, eviction of pods
                rule([*READ, "patch", "update"], [""], ["nodes"]),
                rule(["patch", "update"], [""], ["nodes/status"]),
                rule(READ, ["coordination.k8s.io"], ["leases"]),
                # node lifecycle and pod GC: pods of gone or unhealthy nodes
                rule([*READ, "delete"], [""], ["pods"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(READ, [""], ["namespaces"]),
                # namespace controller: every namespaced object of a namespace being deleted; its
                # phase and conditions, then its finalizer
                *_namespaced_content(),
                rule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
                # service accounts controller: the `default` ServiceAccount of every namespace
                rule(["create"], [""], ["serviceaccounts"]),
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
        # For servers that delegate authentication and authorization to the API server (bound to
        # nobody by default, as in Kubernetes; skiff's components have these rules in their own roles).
        cluster_role(
            "system:auth-delegator",
            [
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
        # Everything of the kubelet API (Kubernetes' bootstrap role, bound here to the API server's
        # kubelet-client identity, which kubeadm-made clusters bind by hand).
        cluster_role(
            "system:kubelet-api-admin",
            [
                rule(READ, [""], ["nodes"]),
                rule(["proxy"], [""], ["nodes"]),
                rule(["*"], [""], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
            ],
        ),
        # The process that plays every hollow node (`skiff kubelet --runtime hollow --count N`): what
        # skiff's kubelet calls for the nodes it registers, with no node authorizer to narrow it to one
        # node (one informer on every pod). Hollow nodes serve nothing, so no reviews.
        cluster_role(
            HOLLOW_ROLE,
            [
                *EVENTS,
                rule(["create", "patch", "update", *READ], [""], ["nodes"]),
                rule(["get", "patch", "update"], [""], ["nodes/status"]),
                # delete: the kubelet confirms graceful deletion; create: mirror pods of static manifests
                rule(["create", "delete", *READ], [""], ["pods"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(["get"], [""], ["namespaces"]),
            ],
        ),
        cluster_role(
            "system:node",
            [
                *EVENTS,
                rule(["create", *READ], [""], ["nodes"]),
                rule(["patch", "update"], [""], ["nodes", "nodes/status"]),
                rule(["create", "delete", *READ], [""], ["pods"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(["get"], [""], ["namespaces"]),
                rule(["create", "delete", "get", "patch", "update"], ["coordination.k8s.io"], ["leases"]),
                # the kubelet's own server checks its callers with the API server
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
    ]


def _namespaced_content() -> list[Obj]:
    """Read and delete every namespaced kind served that can be listed and deleted (by group): what
    the namespace controller empties, and no more (no cluster-scoped kind, unlike a "*" rule)."""
    by_group: dict[str, list[str]] = {}
    for k in kinds.KINDS:
        if k.namespaced and "list" in k.verbs and ("delete" in k.verbs or "deletecollection" in k.verbs):
            by_group.setdefault(k.group, []).append(k.plural)
    return [rule(["delete", "deletecollection", *READ], [g], sorted(set(p))) for g, p in by_group.items()]


def cluster_role_bindings() -> list[Obj]:
    return [
        cluster_role_binding("cluster-admin", [subject("Group", MASTERS)]),
        cluster_role_binding("system:basic-user", [subject("Group", ALL_AUTHENTICATED)]),
        cluster_role_binding("system:discovery", [subject("Group", ALL_AUTHENTICATED)]),
        cluster_role_binding(
            "system:public-info-viewer",
            [subject("Group", ALL_AUTHENTICATED), subject("Group", ALL_UNAUTHENTICATED)],
        ),
        cluster_role_binding("system:monitoring", [subject("Group", "system:monitoring")]),
        cluster_role_binding(
            "system:service-account-issuer-discovery", [subject("Group", "system:serviceaccounts")]
        ),
        cluster_role_binding(SCHEDULER, [subject("User", SCHEDULER)]),
        cluster_role_binding(CONTROLLER_MANAGER, [subject("User", CONTROLLER_MANAGER)]),
        cluster_role_binding("system:node", []),  # nodes are the node authorizer's
        cluster_role_binding(HOLLOW_ROLE, [subject("Group", HOLLOW_NODES)]),
        cluster_role_binding(
            "system:kubelet-api-admin", [subject("Group", KUBELET_API_ADMINS)], "system:kubelet-api-admin"
        ),
    ]


def role_binding(name: str, namespace: str, subjects: list[Obj]) -> Obj:
    return {
        "kind": "RoleBinding",
        "apiVersion": API_VERSION,
        "metadata": _meta(name, namespace=namespace),
        "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": name},
        "subjects": subjects,
    }


def roles() -> list[Obj]:
    # The hollow nodes' Leases, in kube-node-lease only (one process plays every node, so no name
    # restriction fits; real kubelets get their own Lease from the node authorizer).
    lease_verbs = ["create", "delete", "get", "patch", "update"]
    return [role(HOLLOW_ROLE, NODE_LEASES, [rule(lease_verbs, ["coordination.k8s.io"], ["leases"])])]


def role_bindings() -> list[Obj]:
    return [role_binding(HOLLOW_ROLE, NODE_LEASES, [subject("Group", HOLLOW_NODES)])]


def _merge(have: list[Any], want: list[Any]) -> list[Any]:
    """The defaults first, then whatever else the stored object has."""
    return list(want) + [x for x in have if x not in want]


def reconciled(stored: Obj, want: Obj) -> Obj | None:
    """The stored object brought back to its defaults, or None when nothing is missing (or the
    administrator turned autoupdate off)."""
    ann = (stored.get("metadata") or {}).get("annotations") or {}
    if ann.get(AUTOUPDATE) != "true":
        return None
    out = dict(stored)
    changed = False
    for field in ("rules", "subjects"):
        if field in want:
            have = stored.get(field) or []
            if any(x not in have for x in want[field]):
                out[field] = _merge(have, want[field])
                changed = True
    if "aggregationRule" in want and stored.get("aggregationRule") != want["aggregationRule"]:
        out["aggregationRule"] = want["aggregationRule"]
        changed = True
    return out if changed else None


async def seed(store: Store) -> None:
    """Create the default policy, and repair default objects that lost something."""
    for plural, objs in (
        ("clusterroles", cluster_roles()),
        ("clusterrolebindings", cluster_role_bindings()),
        ("roles", roles()),
        ("rolebindings", role_bindings()),
    ):
        for want in objs:
            meta = want["metadata"]
            ns = f"{meta['namespace']}/" if "namespace" in meta else ""
            key = f"/registry/{plural}/{ns}{meta['name']}"
            obj = dict(want)
            obj["metadata"] = {
                **want["metadata"],
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now_rfc3339(),
            }
            try:
                await store.create(key, encode_for_store(obj))
                continue
            except KeyExistsError:
                pass
            await _repair(store, key, want)


async def _repair(store: Store, key: str, want: Obj) -> None:
    for _ in range(5):
        kv = await store.get(key)
        if kv is None:
            return
        try:
            stored = orjson.loads(kv.value)
        except orjson.JSONDecodeError:
            return
        fixed = reconciled(stored, want)
        if fixed is None:
            return
        try:
            await store.update(key, encode_for_store(fixed), kv.mod_revision)
            return
        except ConflictError:
            continue
