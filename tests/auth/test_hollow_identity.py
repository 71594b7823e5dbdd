"""The identity of the process that plays every hollow node (`skiff up --runtime hollow`): user
skiff:hollow-kubelets in group skiff:hollow-nodes, with the bootstrap role skiff:hollow-node and no
more. It runs its nodes (Nodes, their status, Leases in kube-node-lease, pods' status, events); it
cannot do what only administrators can. The node authorizer and NodeRestriction leave it to RBAC."""

from __future__ import annotations

import httpx

from skiff.apiserver.auth.certs import HOLLOW_NODES, HOLLOW_USER
from tests.apiserver.helpers import make_namespace, pod, unique
from tests.auth.conftest import created

HOLLOW = {"Impersonate-User": HOLLOW_USER, "Impersonate-Group": HOLLOW_NODES}
MERGE = {"Content-Type": "application/merge-patch+json"}
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"


def _forbidden(r: httpx.Response, text: str) -> None:
    assert r.status_code == 403, r.text
    assert f'User "{HOLLOW_USER}" cannot {text}' in r.json()["message"]


def test_hollow_identity_runs_its_nodes(admin: httpx.Client) -> None:
    ns = unique("hollow")
    make_namespace(admin, ns)
    node = unique("hollow-n")
    created(admin.post("/api/v1/nodes", headers=HOLLOW, json={"kind": "Node", "metadata": {"name": node}}))
    r = admin.patch(
        f"/api/v1/nodes/{node}/status", headers={**HOLLOW, **MERGE}, json={"status": {"phase": "Running"}}
    )
    assert r.status_code == 200, r.text
    assert admin.get("/api/v1/nodes", headers=HOLLOW).status_code == 200
    lease = {"metadata": {"name": node}, "spec": {"holderIdentity": node}}
    created(admin.post(LEASES.format(ns="kube-node-lease"), headers=HOLLOW, json=lease))
    r = admin.patch(
        f"{LEASES.format(ns='kube-node-lease')}/{node}",
        headers={**HOLLOW, **MERGE},
        json={"spec": {"leaseDurationSeconds": 40}},
    )
    assert r.status_code == 200, r.text
    # Leases elsewhere are not a node's business.
    _forbidden(admin.post(LEASES.format(ns=ns), headers=HOLLOW, json=lease), "create resource")
    # Pods: all of them (one informer for every node), their status, graceful deletion confirmed.
    created(admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod("p", nodeName=node)))
    assert admin.get("/api/v1/pods?watch=false", headers=HOLLOW).status_code == 200
    r = admin.patch(
        f"/api/v1/namespaces/{ns}/pods/p/status",
        headers={**HOLLOW, **MERGE},
        json={"status": {"phase": "Running"}},
    )
    assert r.status_code == 200, r.text
    event = {
        "metadata": {"name": unique("e")},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
        "reason": "X",
    }
    created(admin.post(f"/api/v1/namespaces/{ns}/events", headers=HOLLOW, json=event))
    assert admin.delete(f"/api/v1/namespaces/{ns}/pods/p", headers=HOLLOW).status_code in (200, 202)
    # A mirror pod is neither NodeRestriction's business (not a node user) nor refused.
    mirror = pod("m", nodeName=node)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    created(admin.post(f"/api/v1/namespaces/{ns}/pods", headers=HOLLOW, json=mirror))


def test_hollow_identity_cannot_do_what_admins_do(admin: httpx.Client) -> None:
    ns = unique("hollow")
    make_namespace(admin, ns)
    _forbidden(admin.get(f"/api/v1/namespaces/{ns}/secrets", headers=HOLLOW), 'list resource "secrets"')
    _forbidden(admin.get(f"/api/v1/namespaces/{ns}/configmaps", headers=HOLLOW), 'list resource "configmaps"')
    binding = {
        "metadata": {"name": unique("escalate")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": HOLLOW_NODES}],
    }
    r = admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", headers=HOLLOW, json=binding)
    _forbidden(r, 'create resource "clusterrolebindings"')
    _forbidden(admin.delete(f"/api/v1/namespaces/{ns}", headers=HOLLOW), 'delete resource "namespaces"')
    assert admin.get(f"/api/v1/namespaces/{ns}").json()["status"]["phase"] == "Active"
    _forbidden(admin.delete("/api/v1/nodes", headers=HOLLOW), 'deletecollection resource "nodes"')
    _forbidden(
        admin.post(f"/api/v1/namespaces/{ns}/pods/x/exec", headers=HOLLOW), 'create resource "pods/exec"'
    )
    sa_token = admin.post(
        f"/api/v1/namespaces/{ns}/serviceaccounts/default/token", headers=HOLLOW, json={"spec": {}}
    )
    _forbidden(sa_token, 'create resource "serviceaccounts/token"')
    # kubectl auth can-i as the hollow identity says the same.
    r = admin.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        headers=HOLLOW,
        json={"spec": {"resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": ns}}},
    )
    assert r.status_code == 201 and r.json()["status"]["allowed"] is False
