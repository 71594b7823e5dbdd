"""Who may do what: admin, scheduler, controller manager, node A on its own and node B's objects,
a service account without and then with a role, anonymous. Every refusal is a 403 Forbidden Status
and leaves the object as it was (read back by the admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.apiserver.helpers import make_namespace, pod, unique
from tests.auth.conftest import (
    ANONYMOUS,
    CONTROLLER_MANAGER,
    SCHEDULER,
    created,
    eventually,
    node,
    service_account,
)

MIRROR = {"kubernetes.io/config.mirror": "x"}
STATUS_PATCH = {"Content-Type": "application/merge-patch+json"}


class World:
    """A namespace, nodes A and B with their leases, and a pod bound to each node."""

    def __init__(self, admin: httpx.Client) -> None:
        self.ns = unique("authz")
        make_namespace(admin, self.ns)
        self.a, self.b = unique("node-a"), unique("node-b")
        for n in (self.a, self.b):
            created(
                admin.post(
                    "/api/v1/nodes", json={"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}}
                )
            )
            created(
                admin.post(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                    json={"metadata": {"name": n}, "spec": {"holderIdentity": n}},
                )
            )
        self.pa = created(admin.post(f"/api/v1/namespaces/{self.ns}/pods", json=pod("pa", nodeName=self.a)))
        self.pb = created(admin.post(f"/api/v1/namespaces/{self.ns}/pods", json=pod("pb", nodeName=self.b)))
        self.unbound = created(admin.post(f"/api/v1/namespaces/{self.ns}/pods", json=pod("unbound")))


@pytest.fixture
def world(admin: httpx.Client) -> World:
    return World(admin)


def _rv(admin: httpx.Client, path: str) -> str:
    r = admin.get(path)
    assert r.status_code == 200, r.text
    return str(r.json()["metadata"]["resourceVersion"])


def refused(admin: httpx.Client, r: httpx.Response) -> httpx.Response:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["kind"] == "Status" and body["reason"] == "Forbidden" and body["code"] == 403
    return r


def refused_unchanged(admin: httpx.Client, path: str, send: Callable[[], httpx.Response]) -> httpx.Response:
    """The request is refused and the object at path is as it was before it (same resourceVersion)."""
    before = _rv(admin, path)
    r = refused(admin, send())
    assert _rv(admin, path) == before, "a refused request changed the object"
    return r


def test_forbidden_message_is_kubernetes(admin: httpx.Client, world: World) -> None:
    r = admin.get(f"/api/v1/namespaces/{world.ns}/pods/pa", headers={"Impersonate-User": "u"})
    assert r.status_code == 403
    assert r.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'pods "pa" is forbidden: User "u" cannot get resource "pods" in API group "" in the '
        f'namespace "{world.ns}"',
        "reason": "Forbidden",
        "details": {"name": "pa", "kind": "pods"},
        "code": 403,
    }
    r = admin.get("/apis/rbac.authorization.k8s.io/v1/clusterroles", headers={"Impersonate-User": "u"})
    assert r.json()["message"] == (
        'clusterroles.rbac.authorization.k8s.io is forbidden: User "u" cannot list resource "clusterroles" '
        'in API group "rbac.authorization.k8s.io" at the cluster scope'
    )
    r = admin.get("/metrics", headers={"Impersonate-User": "u"})
    assert r.status_code == 403
    assert r.json()["message"] == 'forbidden: User "u" cannot get path "/metrics"'


def test_admin_may_do_anything(admin: httpx.Client, world: World) -> None:
    assert admin.get(f"/api/v1/namespaces/{world.ns}/pods/pb").status_code == 200
    assert admin.get("/apis/rbac.authorization.k8s.io/v1/clusterroles").status_code == 200
    assert admin.get("/metrics").status_code == 200


def test_scheduler(admin: httpx.Client, world: World) -> None:
    s = SCHEDULER
    ns = world.ns
    for path in (f"/api/v1/namespaces/{ns}/pods", "/api/v1/pods", "/api/v1/nodes", "/api/v1/namespaces"):
        assert admin.get(path, headers=s).status_code == 200, path
    assert admin.get("/api/v1/pods?watch=1&timeoutSeconds=1", headers=s).status_code == 200
    bind = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "unbound"},
        "target": {"kind": "Node", "name": world.a},
    }
    assert (
        admin.post(f"/api/v1/namespaces/{ns}/pods/unbound/binding", json=bind, headers=s).status_code == 201
    )
    nominated = {"status": {"nominatedNodeName": world.b}}
    r = admin.patch(f"/api/v1/namespaces/{ns}/pods/pb/status", json=nominated, headers={**s, **STATUS_PATCH})
    assert r.status_code == 200, r.text
    event = {
        "metadata": {"name": unique("ev")},
        "involvedObject": {"kind": "Pod", "name": "pa", "namespace": ns},
    }
    assert admin.post(f"/api/v1/namespaces/{ns}/events", json=event, headers=s).status_code == 201
    # leader election: its own lease in kube-system, no other
    lease = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    assert admin.get(f"{lease}/kube-scheduler", headers=s).status_code in (200, 404)
    refused(admin, admin.get(f"{lease}/kube-controller-manager", headers=s))
    # not its business
    labels = {"metadata": {"labels": {"x": "y"}}}
    node_a = f"/api/v1/nodes/{world.a}"
    refused_unchanged(admin, node_a, lambda: admin.patch(node_a, json=labels, headers={**s, **STATUS_PATCH}))
    refused(admin, admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod(unique("p")), headers=s))
    ns_path = f"/api/v1/namespaces/{ns}"
    refused_unchanged(admin, ns_path, lambda: admin.delete(ns_path, headers=s))
    refused(admin, admin.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", headers=s))


def test_controller_manager(admin: httpx.Client, world: World) -> None:
    c = CONTROLLER_MANAGER
    for path in (
        "/api/v1/nodes",
        "/api/v1/pods",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    ):
        assert admin.get(path, headers=c).status_code == 200, path
    cond = {"status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]}}
    r = admin.patch(f"/api/v1/nodes/{world.b}/status", json=cond, headers={**c, **STATUS_PATCH})
    assert r.status_code == 200, r.text
    taint = {"spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]}}
    assert (
        admin.patch(f"/api/v1/nodes/{world.b}", json=taint, headers={**c, **STATUS_PATCH}).status_code == 200
    )
    assert (
        admin.delete(f"/api/v1/namespaces/{world.ns}/pods/pb?gracePeriodSeconds=0", headers=c).status_code
        == 200
    )
    refused(admin, admin.post(f"/api/v1/namespaces/{world.ns}/pods", json=pod(unique("p")), headers=c))
    node_a = f"/api/v1/nodes/{world.a}"
    refused_unchanged(admin, node_a, lambda: admin.delete(node_a, headers=c))
    refused(admin, admin.get("/apis/rbac.authorization.k8s.io/v1/clusterroles", headers=c))


def test_node_on_its_own_objects(admin: httpx.Client, world: World) -> None:
    h = node(world.a)
    ns, a = world.ns, world.a
    assert admin.get(f"/api/v1/nodes/{a}", headers=h).status_code == 200
    r = admin.patch(
        f"/api/v1/nodes/{a}/status", json={"status": {"phase": "Running"}}, headers={**h, **STATUS_PATCH}
    )
    assert r.status_code == 200, r.text
    assert admin.get(f"/api/v1/nodes?fieldSelector=metadata.name={a}", headers=h).status_code == 200
    lease = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{a}"
    got = admin.get(lease, headers=h)
    assert got.status_code == 200
    assert admin.put(lease, json=got.json(), headers=h).status_code == 200
    assert admin.get(f"/api/v1/pods?fieldSelector=spec.nodeName={a}", headers=h).status_code == 200
    watch = admin.get(
        f"/api/v1/pods?watch=true&timeoutSeconds=1&fieldSelector=spec.nodeName%3D{a}", headers=h
    )
    assert watch.status_code == 200
    assert admin.get(f"/api/v1/namespaces/{ns}/pods/pa", headers=h).status_code == 200
    r = admin.patch(
        f"/api/v1/namespaces/{ns}/pods/pa/status",
        json={"status": {"phase": "Running"}},
        headers={**h, **STATUS_PATCH},
    )
    assert r.status_code == 200, r.text
    event = {
        "metadata": {"name": unique("ev")},
        "involvedObject": {"kind": "Pod", "name": "pa", "namespace": ns},
    }
    assert admin.post(f"/api/v1/namespaces/{ns}/events", json=event, headers=h).status_code == 201
    assert admin.get("/api/v1/namespaces/kube-system", headers=h).status_code == 200
    mirror = pod("mirror", nodeName=a)
    mirror["metadata"]["annotations"] = MIRROR
    assert admin.post(f"/api/v1/namespaces/{ns}/pods", json=mirror, headers=h).status_code == 201
    # the kubelet confirms a graceful deletion of its pod
    assert admin.delete(f"/api/v1/namespaces/{ns}/pods/pa?gracePeriodSeconds=0", headers=h).status_code == 200


def test_node_on_another_nodes_objects(admin: httpx.Client, world: World) -> None:
    h = node(world.a)
    ns, b = world.ns, world.b
    node_b = f"/api/v1/nodes/{b}"
    refused(admin, admin.get(node_b, headers=h))
    refused(admin, admin.get("/api/v1/nodes", headers=h))
    terminated = {"status": {"phase": "Terminated"}}
    refused_unchanged(
        admin, node_b, lambda: admin.patch(f"{node_b}/status", json=terminated, headers={**h, **STATUS_PATCH})
    )
    refused_unchanged(admin, node_b, lambda: admin.delete(node_b, headers=h))
    taken: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": unique("other")}}
    refused(admin, admin.post("/api/v1/nodes", json=taken, headers=h))
    assert admin.get(f"/api/v1/nodes/{taken['metadata']['name']}").status_code == 404
    lease = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{b}"
    current = admin.get(lease).json()
    refused_unchanged(admin, lease, lambda: admin.put(lease, json=current, headers=h))
    fresh = {"metadata": {"name": unique("lease")}, "spec": {}}
    refused(
        admin,
        admin.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", json=fresh, headers=h),
    )
    # pods bound elsewhere
    pb = f"/api/v1/namespaces/{ns}/pods/pb"
    refused(admin, admin.get(pb, headers=h))
    failed = {"status": {"phase": "Failed"}}
    refused_unchanged(
        admin, pb, lambda: admin.patch(f"{pb}/status", json=failed, headers={**h, **STATUS_PATCH})
    )
    refused_unchanged(admin, pb, lambda: admin.delete(pb, headers=h))
    refused(admin, admin.get(f"/api/v1/pods?fieldSelector=spec.nodeName={b}", headers=h))
    refused(admin, admin.get("/api/v1/pods", headers=h))
    # its own node, but not its taints
    node_a = f"/api/v1/nodes/{world.a}"
    taint = {"spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]}}
    r = refused_unchanged(
        admin, node_a, lambda: admin.patch(node_a, json=taint, headers={**h, **STATUS_PATCH})
    )
    assert r.json()["message"].endswith(f'node "{world.a}" is not allowed to modify taints')
    # its own pod, but not its spec; no pods other than mirror pods of its own
    pa = f"/api/v1/namespaces/{ns}/pods/pa"
    labels = {"metadata": {"labels": {"x": "y"}}}
    refused_unchanged(admin, pa, lambda: admin.patch(pa, json=labels, headers={**h, **STATUS_PATCH}))
    refused(
        admin, admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod("plain", nodeName=world.a), headers=h)
    )
    elsewhere = pod("m-b", nodeName=b)
    elsewhere["metadata"]["annotations"] = MIRROR
    refused(admin, admin.post(f"/api/v1/namespaces/{ns}/pods", json=elsewhere, headers=h))
    refused(admin, admin.get(f"/api/v1/namespaces/{ns}/pods/pa/log", headers=h))
    refused(admin, admin.get("/apis/rbac.authorization.k8s.io/v1/clusterroles", headers=h))
    refused(admin, admin.get("/api/v1/namespaces", headers=h))


def test_service_account_without_then_with_a_role(admin: httpx.Client, world: World) -> None:
    ns = world.ns
    h = service_account(ns, "robot")
    refused(admin, admin.get(f"/api/v1/namespaces/{ns}/pods", headers=h))
    role = {
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
    }
    created(admin.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", json=role))
    binding: dict[str, Any] = {
        "metadata": {"name": "robot-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": ns}],
    }
    created(admin.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", json=binding))
    eventually(
        lambda: admin.get(f"/api/v1/namespaces/{ns}/pods", headers=h).status_code == 200,
        "the binding applies",
    )
    assert admin.get(f"/api/v1/namespaces/{ns}/pods/pb", headers=h).status_code == 200
    # read-only, and only in its namespace
    refused(admin, admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod(unique("p")), headers=h))
    pb = f"/api/v1/namespaces/{ns}/pods/pb"
    refused_unchanged(admin, pb, lambda: admin.delete(pb, headers=h))
    refused(admin, admin.get("/api/v1/namespaces/default/pods", headers=h))
    refused(admin, admin.get("/api/v1/pods", headers=h))
    # a ClusterRole bound in the namespace grants only there; removing the binding takes it away
    assert (
        admin.delete(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/robot-reads"
        ).status_code
        == 200
    )
    eventually(
        lambda: admin.get(f"/api/v1/namespaces/{ns}/pods", headers=h).status_code == 403, "the grant is gone"
    )
    binding["metadata"]["name"] = "robot-edits"
    binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
    created(admin.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", json=binding))
    p = unique("p")
    eventually(
        lambda: admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod(p), headers=h).status_code == 201,
        "edit lets it create pods",
    )
    refused(admin, admin.post("/api/v1/namespaces/default/pods", json=pod(p), headers=h))
    refused(admin, admin.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", headers=h))


def test_anonymous(admin: httpx.Client, world: World) -> None:
    for path in ("/version", "/healthz", "/livez", "/readyz"):
        assert admin.get(path, headers=ANONYMOUS).status_code == 200, path
    refused(admin, admin.get("/api", headers=ANONYMOUS))
    refused(admin, admin.get("/apis", headers=ANONYMOUS))
    refused(admin, admin.get("/openapi/v2", headers=ANONYMOUS))
    refused(admin, admin.get(f"/api/v1/namespaces/{world.ns}/pods", headers=ANONYMOUS))
    refused(
        admin, admin.post(f"/api/v1/namespaces/{world.ns}/pods", json=pod(unique("p")), headers=ANONYMOUS)
    )


def test_authenticated_users_discover(admin: httpx.Client) -> None:
    h = {"Impersonate-User": unique("someone")}
    for path in ("/api", "/apis", "/api/v1", "/apis/rbac.authorization.k8s.io/v1", "/version", "/openapi/v3"):
        assert admin.get(path, headers=h).status_code == 200, path
    refused(admin, admin.get("/api/v1/namespaces", headers=h))


def test_impersonation_needs_the_impersonate_verb(admin: httpx.Client) -> None:
    bob = unique("bob")
    as_alice = {"Impersonate-User": bob, "Impersonate-Group": "system:masters"}
    # bob may not impersonate; a chain "bob as alice" is not even expressible: the outer user acts
    r = admin.get("/api/v1/namespaces", headers={"Impersonate-User": bob})
    refused(admin, r)
    assert admin.get("/api/v1/namespaces", headers=as_alice).status_code == 200  # the admin may
    role = {
        "metadata": {"name": f"{bob}-impersonator"},
        "rules": [
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["alice"]}
        ],
    }
    created(admin.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json=role))
    binding = {
        "metadata": {"name": f"{bob}-impersonator"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"{bob}-impersonator",
        },
        "subjects": [{"kind": "User", "name": bob, "apiGroup": "rbac.authorization.k8s.io"}],
    }
    created(admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding))
    # impersonation is judged for the requester: the admin acting as bob acting as alice is not a
    # thing, so check bob's permission with a SubjectAccessReview instead
    sar: dict[str, Any] = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": bob,
            "resourceAttributes": {"verb": "impersonate", "resource": "users", "name": "alice"},
        },
    }
    eventually(
        lambda: admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=sar).json()["status"][
            "allowed"
        ],
        "bob may impersonate alice",
    )
    sar["spec"]["resourceAttributes"]["name"] = "carol"
    assert (
        admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=sar).json()["status"]["allowed"]
        is False
    )
    r = admin.get("/api/v1/namespaces", headers={"Impersonate-Group": "system:masters"})
    assert r.status_code == 400


def test_access_reviews(admin: httpx.Client, world: World) -> None:
    ns = world.ns
    base = "/apis/authorization.k8s.io/v1"

    def self_review(headers: dict[str, str], verb: str, resource: str, namespace: str = "") -> Any:
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}},
        }
        r = admin.post(f"{base}/selfsubjectaccessreviews", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()["status"]["allowed"]

    assert self_review({}, "delete", "nodes") is True
    assert self_review(SCHEDULER, "list", "nodes") is True
    assert self_review(SCHEDULER, "create", "nodes") is False
    sa = service_account(ns, "viewer")
    assert self_review(sa, "list", "pods", ns) is False
    local: dict[str, Any] = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "LocalSubjectAccessReview",
        "metadata": {"namespace": ns},
        "spec": {
            "user": "x",
            "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"},
        },
    }
    r = admin.post(f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews", json=local)
    assert r.status_code == 422, r.text
    local["spec"]["resourceAttributes"]["namespace"] = ns
    r = admin.post(f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews", json=local)
    assert r.status_code == 201 and r.json()["status"]["allowed"] is False
    rules = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": ns},
    }
    r = admin.post(f"{base}/selfsubjectrulesreviews", json=rules, headers=SCHEDULER)
    assert r.status_code == 201, r.text
    got = r.json()["status"]
    assert {"verbs": ["create"], "apiGroups": [""], "resources": ["bindings", "pods/binding"]} in got[
        "resourceRules"
    ]
    assert got["incomplete"] is False
    # anyone authenticated may ask about itself, no one unauthenticated
    assert self_review({"Impersonate-User": "nobody"}, "get", "pods") is False
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}
    assert admin.post(f"{base}/selfsubjectaccessreviews", json=body).status_code == 422
    r = admin.post(f"{base}/selfsubjectaccessreviews", json=body, headers=ANONYMOUS)
    refused(admin, r)
    sar = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}},
    }
    refused(admin, admin.post(f"{base}/subjectaccessreviews", json=sar, headers=sa))
    assert admin.post(f"{base}/subjectaccessreviews", json=sar).status_code == 422  # no user or group
