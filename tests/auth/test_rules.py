"""How one RBAC rule matches a request (cases after Kubernetes' rbac authorizer tests), and how the
bootstrap policy repairs a default object."""

from __future__ import annotations

from typing import Any

import pytest

from skiff.apiserver.auth import bootstrap
from skiff.apiserver.auth.attributes import Attributes, forbidden
from skiff.apiserver.auth.rbac import Rule
from skiff.apiserver.auth.user import UserInfo

U = UserInfo("u")


def res(
    verb: str, resource: str, sub: str = "", name: str = "", group: str = "", ns: str = "ns"
) -> Attributes:
    return Attributes(
        U, verb, True, namespace=ns, api_group=group, resource=resource, subresource=sub, name=name
    )


def url(path: str, verb: str = "get") -> Attributes:
    return Attributes(U, verb, False, path=path)


CASES: list[tuple[dict[str, Any], Attributes, bool]] = [
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods", name="x"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("list", "pods"), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, res("deletecollection", "pods"), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}, res("get", "pods"), False),
    (
        {"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]},
        res("get", "deployments", group="apps"),
        True,
    ),
    # subresources are named on their own; "*/status" means every resource's status; "*" everything
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods", "status"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/status"]}, res("get", "pods", "status"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/status"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]}, res("get", "nodes", "status"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]}, res("get", "nodes", "proxy"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, res("get", "pods", "log"), True),
    # resourceNames: only requests that name one of them
    (
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
        res("get", "pods", name="a"),
        True,
    ),
    (
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
        res("get", "pods", name="b"),
        False,
    ),
    (
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
        res("list", "pods"),
        False,
    ),
    # non-resource URLs: exact, trailing-* prefix, or everything; never resource requests
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("/healthz"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("/healthz/etcd"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, url("/apis/apps/v1"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, url("/api"), False),
    ({"verbs": ["*"], "nonResourceURLs": ["*"]}, url("/anything", "post"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/version"]}, url("/version", "post"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, url("/version"), False),
]


@pytest.mark.parametrize(("rule", "attrs", "allowed"), CASES)
def test_rule_matching(rule: dict[str, Any], attrs: Attributes, allowed: bool) -> None:
    assert Rule(rule).allows(attrs) is allowed


def test_forbidden_messages() -> None:
    e = forbidden(res("patch", "pods", "status", name="web"))
    assert e.code == 403 and e.reason == "Forbidden"
    assert e.message == (
        'pods "web" is forbidden: User "u" cannot patch resource "pods/status" in API group "" '
        'in the namespace "ns"'
    )
    e = forbidden(res("list", "leases", group="coordination.k8s.io", ns=""), "why")
    assert e.message == (
        'leases.coordination.k8s.io is forbidden: User "u" cannot list resource "leases" in API group '
        '"coordination.k8s.io" at the cluster scope: why'
    )
    assert e.details == {"group": "coordination.k8s.io", "kind": "leases"}


def test_bootstrap_repairs_lost_defaults_and_keeps_additions() -> None:
    want = next(r for r in bootstrap.cluster_roles() if r["metadata"]["name"] == "system:kube-scheduler")
    extra = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}
    stored = {**want, "rules": [*want["rules"][1:], extra]}
    fixed = bootstrap.reconciled(stored, want)
    assert fixed is not None and want["rules"][0] in fixed["rules"] and extra in fixed["rules"]
    assert bootstrap.reconciled(fixed, want) is None  # nothing missing: no write
    off = {**stored, "metadata": {**stored["metadata"], "annotations": {bootstrap.AUTOUPDATE: "false"}}}
    assert bootstrap.reconciled(off, want) is None  # the administrator took it over
