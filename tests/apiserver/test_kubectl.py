"""The machine's real kubectl against a live skiff API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apiserver.helpers import Kubectl, unique
from tests.fixtures.apiserver import APIServerHandle

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web}}
spec:
  containers:
  - name: main
    image: {image}
"""


@pytest.fixture
def kubectl(shared_apiserver: APIServerHandle, tmp_path: Path) -> Kubectl:
    return Kubectl(shared_apiserver.kubeconfig, tmp_path / "kube-cache")


@pytest.fixture
def ns(kubectl: Kubectl) -> str:
    name = unique("kc")
    kubectl("create", "namespace", name)
    return name


def test_get_namespaces_table(kubectl: Kubectl) -> None:
    out = kubectl("get", "ns")
    header = out.splitlines()[0].split()
    assert header == ["NAME", "STATUS", "AGE"]
    assert "kube-node-lease" in out and "Active" in out


def test_create_get_describe_delete(kubectl: Kubectl, ns: str) -> None:
    kubectl("create", "-n", ns, "-f", "-", input=POD.format(name="web", image="busybox:1"))
    out = kubectl("get", "pods", "-n", ns)
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert out.splitlines()[1].split()[:4] == ["web", "0/1", "Pending", "0"]
    wide = kubectl("get", "po", "-n", ns, "-o", "wide").splitlines()[0]
    assert "NOMINATED NODE" in wide and "READINESS GATES" in wide
    obj = json.loads(kubectl("get", "pod", "web", "-n", ns, "-o", "json"))
    assert obj["metadata"]["namespace"] == ns and obj["spec"]["containers"][0]["image"] == "busybox:1"
    assert "name: web" in kubectl("get", "pod", "web", "-n", ns, "-o", "yaml")
    desc = kubectl("describe", "pod", "web", "-n", ns)
    assert "Name:" in desc and "web" in desc
    assert kubectl("get", "pods", "-A", "-l", "app=web").count(ns) == 1
    kubectl("label", "pod", "web", "-n", ns, "tier=front")
    assert "tier=front" in kubectl("get", "pod", "web", "-n", ns, "--show-labels")
    assert 'pod "web" deleted' in kubectl("delete", "pod", "web", "-n", ns)
    res = kubectl.run("get", "pod", "web", "-n", ns, check=False)
    assert res.returncode != 0 and 'pods "web" not found' in res.stderr


def test_create_invalid_is_422(kubectl: Kubectl, ns: str) -> None:
    res = kubectl.run(
        "create", "-n", ns, "-f", "-", input=POD.format(name="Bad_Name", image="x"), check=False
    )
    assert res.returncode != 0
    assert 'The Pod "Bad_Name" is invalid: metadata.name' in res.stderr
