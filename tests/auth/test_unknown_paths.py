"""A path that routes to nothing is authorized before its 404, as in Kubernetes: a user without the
right gets 403 (so it cannot probe which resources exist), one with it (and the admin) 404, anonymous
401. The attributes come from the path alone: group, version, resource, namespace, name, subresource,
and the verb from the method."""

from __future__ import annotations

import httpx

from tests.apiserver.helpers import make_namespace, unique
from tests.auth.conftest import created, eventually
from tests.fixtures.apiserver import APIServerHandle

JANE = {"Impersonate-User": "jane"}


def _forbidden(r: httpx.Response, message: str) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["reason"] == "Forbidden" and r.json()["message"] == message


def test_unknown_resources_are_forbidden_before_not_found(admin: httpx.Client) -> None:
    ns = unique("unknown")
    make_namespace(admin, ns)
    _forbidden(
        admin.get("/api/v1/foos", headers=JANE),
        'foos is forbidden: User "jane" cannot list resource "foos" in API group "" at the cluster scope',
    )
    _forbidden(
        admin.delete(f"/apis/example.com/v1/namespaces/{ns}/widgets/w", headers=JANE),
        f'widgets.example.com "w" is forbidden: User "jane" cannot delete resource "widgets" in API group '
        f'"example.com" in the namespace "{ns}"',
    )
    _forbidden(
        admin.get(f"/api/v1/watch/namespaces/{ns}/foos", headers=JANE),
        f'foos is forbidden: User "jane" cannot watch resource "foos" in API group "" '
        f'in the namespace "{ns}"',
    )
    # A served resource with a subresource it does not have
    _forbidden(
        admin.post(f"/api/v1/namespaces/{ns}/pods/p/frobnicate", headers=JANE, json={}),
        f'pods "p" is forbidden: User "jane" cannot create resource "pods/frobnicate" in API group "" '
        f'in the namespace "{ns}"',
    )
    for path in (
        "/api/v1/foos",
        f"/apis/example.com/v1/namespaces/{ns}/widgets/w",
        f"/api/v1/namespaces/{ns}/pods/p/x",
    ):
        r = admin.get(path)
        assert r.status_code == 404 and r.json()["reason"] == "NotFound", (path, r.text)


def test_a_user_allowed_the_path_learns_not_found(admin: httpx.Client) -> None:
    ns = unique("unknown")
    make_namespace(admin, ns)
    user = unique("reader")
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    rule = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}
    created(admin.post(f"{rbac}/roles", json={"metadata": {"name": "all"}, "rules": [rule]}))
    binding = {
        "metadata": {"name": "all"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "all"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}],
    }
    created(admin.post(f"{rbac}/rolebindings", json=binding))
    as_user = {"Impersonate-User": user}
    eventually(
        lambda: admin.get(f"/api/v1/namespaces/{ns}/foos", headers=as_user).status_code == 404,
        "the Role lets the user learn that foos do not exist",
    )
    # Elsewhere, or another verb, it still may not.
    assert admin.get("/api/v1/foos", headers=as_user).status_code == 403
    assert admin.delete(f"/api/v1/namespaces/{ns}/foos/x", headers=as_user).status_code == 403


def test_anonymous_gets_unauthorized(shared_apiserver: APIServerHandle) -> None:
    with httpx.Client(
        base_url=shared_apiserver.url, verify=shared_apiserver.ssl_context(admin=False)
    ) as anon:
        for path in ("/api/v1/foos", "/apis/example.com/v1/widgets"):
            r = anon.get(path)
            assert r.status_code == 401 and r.json()["reason"] == "Unauthorized", (path, r.text)
