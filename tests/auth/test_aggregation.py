"""Aggregated ClusterRoles: admin, edit and view carry the rules of the roles labelled for them, and
a new labelled ClusterRole adds its rules to every aggregated role that selects it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.apiserver.helpers import unique
from tests.auth.conftest import created, eventually

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _rules(admin: httpx.Client, name: str) -> list[dict[str, Any]]:
    r = admin.get(f"{RBAC}/clusterroles/{name}")
    assert r.status_code == 200, r.text
    return list(r.json().get("rules") or [])


def test_default_roles_are_aggregated(admin: httpx.Client) -> None:
    view = eventually(lambda: _rules(admin, "view"), "view has rules")
    assert any("pods" in r.get("resources", []) and "list" in r["verbs"] for r in view)
    edit = _rules(admin, "edit")
    assert all(r in edit for r in view)  # edit includes view, admin includes edit
    admin_rules = _rules(admin, "admin")
    assert all(r in admin_rules for r in edit)
    assert any("rolebindings" in r.get("resources", []) for r in admin_rules)
    assert not any("rolebindings" in r.get("resources", []) for r in edit)


def test_a_labelled_role_joins_the_aggregate(admin: httpx.Client) -> None:
    name = unique("agg")
    label = f"example.com/{name}"
    agg = {
        "metadata": {"name": name},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]},
    }
    created(admin.post(f"{RBAC}/clusterroles", json=agg))
    part = {
        "metadata": {"name": f"{name}-part", "labels": {label: "true"}},
        "rules": [{"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": ["get"]}],
    }
    created(admin.post(f"{RBAC}/clusterroles", json=part))
    eventually(lambda: _rules(admin, name) == part["rules"], "the aggregate took the part's rules")
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}],
    }
    created(admin.post(f"{RBAC}/clusterrolebindings", json=binding))
    path = "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"
    eventually(
        lambda: admin.get(path, headers={"Impersonate-User": name}).status_code == 200, "the user may get"
    )
    # the part loses its label: the aggregate loses its rules
    r = admin.patch(
        f"{RBAC}/clusterroles/{name}-part",
        json={"metadata": {"labels": {label: "false"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    eventually(lambda: _rules(admin, name) == [], "the aggregate dropped the rules")
    eventually(
        lambda: admin.get(path, headers={"Impersonate-User": name}).status_code == 403, "no longer allowed"
    )
