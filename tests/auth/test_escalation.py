"""RBAC escalation prevention: a namespace admin may hand out what it holds, not more, unless it has
the bind or escalate verb."""

from __future__ import annotations

import httpx

from tests.apiserver.helpers import make_namespace, unique
from tests.auth.conftest import created, eventually, service_account

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _binding(name: str, kind: str, role: str, subjects: list[dict[str, str]]) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": subjects,
    }


def test_namespace_admin_cannot_escalate(admin: httpx.Client) -> None:
    ns = unique("esc")
    make_namespace(admin, ns)
    boss = service_account(ns, "boss")
    created(
        admin.post(
            f"{RBAC}/namespaces/{ns}/rolebindings",
            json=_binding(
                "boss", "ClusterRole", "admin", [{"kind": "ServiceAccount", "name": "boss", "namespace": ns}]
            ),
        )
    )
    small = {
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    eventually(
        lambda: admin.post(f"{RBAC}/namespaces/{ns}/roles", json=small, headers=boss).status_code == 201,
        "the admin binding applies and the held rule may be granted",
    )
    big = {
        "metadata": {"name": "nodes"},
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}],
    }
    r = admin.post(f"{RBAC}/namespaces/{ns}/roles", json=big, headers=boss)
    assert r.status_code == 403, r.text
    assert "is attempting to grant RBAC permissions not currently held" in r.json()["message"]
    assert admin.get(f"{RBAC}/namespaces/{ns}/roles/nodes").status_code == 404
    # widening a role it may edit to something it does not hold is an escalation too
    role = admin.get(f"{RBAC}/namespaces/{ns}/roles/reader").json()
    role["rules"] = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    assert admin.put(f"{RBAC}/namespaces/{ns}/roles/reader", json=role, headers=boss).status_code == 403
    assert admin.get(f"{RBAC}/namespaces/{ns}/roles/reader").json()["rules"] == small["rules"]
    # binding: view (held through admin) yes, cluster-admin no
    friend = [{"kind": "User", "name": "friend", "apiGroup": "rbac.authorization.k8s.io"}]
    ok = admin.post(
        f"{RBAC}/namespaces/{ns}/rolebindings",
        json=_binding("v", "ClusterRole", "view", friend),
        headers=boss,
    )
    assert ok.status_code == 201, ok.text
    r = admin.post(
        f"{RBAC}/namespaces/{ns}/rolebindings",
        json=_binding("ca", "ClusterRole", "cluster-admin", friend),
        headers=boss,
    )
    assert r.status_code == 403, r.text
    assert admin.get(f"{RBAC}/namespaces/{ns}/rolebindings/ca").status_code == 404
    # the bind verb on that role lifts the check
    binder = {
        "metadata": {"name": f"{ns}-binder"},
        "rules": [
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["bind"],
                "resourceNames": ["cluster-admin"],
            }
        ],
    }
    created(admin.post(f"{RBAC}/clusterroles", json=binder))
    created(
        admin.post(
            f"{RBAC}/namespaces/{ns}/rolebindings",
            json=_binding(
                "binder",
                "ClusterRole",
                f"{ns}-binder",
                [{"kind": "ServiceAccount", "name": "boss", "namespace": ns}],
            ),
        )
    )
    eventually(
        lambda: (
            admin.post(
                f"{RBAC}/namespaces/{ns}/rolebindings",
                json=_binding("ca", "ClusterRole", "cluster-admin", friend),
                headers=boss,
            ).status_code
            == 201
        ),
        "bind lets it bind cluster-admin in its namespace",
    )
