"""Namespace termination on the API server's side (no controller runs here): DELETE marks the namespace
Terminating, NamespaceLifecycle refuses new content in it, the finalize subresource lets it go."""

from __future__ import annotations

from pathlib import Path

import httpx
import kubernetes
import pytest

# Fixtures c (an admin httpx client of the shared API server) and ns: tests/apiserver/conftest.py.
from tests.apiserver.helpers import Kubectl, pod
from tests.fixtures.apiserver import APIServerHandle


def finalize(c: httpx.Client, ns: str, finalizers: list[str]) -> httpx.Response:
    body = c.get(f"/api/v1/namespaces/{ns}").json()
    body["spec"]["finalizers"] = finalizers
    return c.put(f"/api/v1/namespaces/{ns}/finalize", json=body)


def test_delete_marks_the_namespace_terminating_and_refuses_new_content(
    c: httpx.Client, ns: str, shared_apiserver: APIServerHandle, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    assert c.post(base, json=pod("before")).status_code == 201
    created = c.get(f"/api/v1/namespaces/{ns}").json()
    assert created["spec"]["finalizers"] == ["kubernetes"] and created["status"]["phase"] == "Active"

    r = c.delete(f"/api/v1/namespaces/{ns}")
    assert r.status_code == 200, r.text
    marked = r.json()
    assert marked["kind"] == "Namespace" and marked["status"]["phase"] == "Terminating"
    assert marked["metadata"]["deletionTimestamp"] and marked["spec"]["finalizers"] == ["kubernetes"]
    # Its content stays until the namespace controller deletes it.
    assert [p["metadata"]["name"] for p in c.get(base).json()["items"]] == ["before"]
    out = Kubectl(shared_apiserver.kubeconfig, tmp_path)("get", "ns", ns)
    assert out.splitlines()[1].split()[:2] == [ns, "Terminating"]

    refused = c.post(base, json=pod("after"))
    assert refused.status_code == 403
    st = refused.json()
    assert st["reason"] == "Forbidden"
    assert st["message"] == (
        f'pods "after" is forbidden: unable to create new content in namespace {ns} '
        "because it is being terminated"
    )
    assert st["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {ns} is being terminated",
            "field": "metadata.namespace",
        }
    ]
    assert c.get(f"{base}/after").status_code == 404  # nothing written
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "late"}}
    assert c.post(f"/api/v1/namespaces/{ns}/serviceaccounts", json=sa).status_code == 403
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "before"},
        "target": {"name": "n1"},
    }
    assert c.post(f"{base}/before/binding", json=binding).status_code == 403
    # What exists can still change and be deleted.
    patched = c.patch(
        f"{base}/before",
        json={"metadata": {"labels": {"x": "y"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200

    again = c.delete(f"/api/v1/namespaces/{ns}")
    assert again.status_code == 409 and again.json()["reason"] == "Conflict"
    assert again.json()["message"] == (
        f'Operation cannot be fulfilled on namespaces "{ns}": The system is ensuring all content is '
        "removed from this namespace.  Upon completion, this namespace will automatically be purged "
        "by the system."
    )


def test_finalizers_keep_a_terminating_namespace_until_finalize_removes_them(
    c: httpx.Client, ns: str
) -> None:
    path = f"/api/v1/namespaces/{ns}"
    # The main resource cannot change spec.finalizers or status: only finalize and status can.
    body = c.get(path).json()
    body["spec"]["finalizers"] = []
    body["status"] = {"phase": "Terminating"}
    body["metadata"]["labels"]["team"] = "a"
    put = c.put(path, json=body).json()
    assert put["spec"]["finalizers"] == ["kubernetes"] and put["status"]["phase"] == "Active"
    assert put["metadata"]["labels"]["team"] == "a"

    assert finalize(c, ns, ["kubernetes", "example.com/keep"]).json()["spec"]["finalizers"] == [
        "kubernetes",
        "example.com/keep",
    ]
    bad = finalize(c, ns, ["keep"])
    assert bad.status_code == 422 and bad.json()["details"]["causes"][0]["field"] == "spec.finalizers[0]"

    assert c.delete(path).status_code == 200
    # Status writes (the controller's conditions) do not let it go while finalizers remain.
    status = c.get(path).json()
    status["status"]["conditions"] = [
        {"type": "NamespaceContentRemaining", "status": "False", "reason": "ContentRemoved", "message": "ok"}
    ]
    assert c.put(f"{path}/status", json=status).status_code == 200
    left = finalize(c, ns, ["example.com/keep"])
    assert left.status_code == 200 and left.json()["status"]["phase"] == "Terminating"
    assert c.get(path).status_code == 200
    gone = finalize(c, ns, [])
    assert gone.status_code == 200
    assert c.get(path).status_code == 404


def test_immortal_namespaces_and_discovery(c: httpx.Client) -> None:
    for name in ("default", "kube-system", "kube-public"):
        r = c.delete(f"/api/v1/namespaces/{name}")
        assert r.status_code == 403
        assert r.json()["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        assert c.get(f"/api/v1/namespaces/{name}").json()["status"]["phase"] == "Active"
    resources = {r["name"]: r for r in c.get("/api/v1").json()["resources"]}
    assert resources["namespaces/finalize"]["verbs"] == ["update"]


def test_official_client_sees_termination(shared_apiserver: APIServerHandle, ns: str) -> None:
    api = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(shared_apiserver.kubeconfig))
    api.delete_namespace(ns)
    assert api.read_namespace(ns).status.phase == "Terminating"
    body = kubernetes.client.V1Pod(
        metadata=kubernetes.client.V1ObjectMeta(name="p"),
        spec=kubernetes.client.V1PodSpec(
            containers=[kubernetes.client.V1Container(name="c", image="busybox")]
        ),
    )
    with pytest.raises(kubernetes.client.ApiException) as e:
        api.create_namespaced_pod(ns, body)
    assert e.value.status == 403 and "because it is being terminated" in str(e.value.body)
    current = api.read_namespace(ns)
    current.spec.finalizers = []
    api.replace_namespace_finalize(ns, current)
    with pytest.raises(kubernetes.client.ApiException) as gone:
        api.read_namespace(ns)
    assert gone.value.status == 404
