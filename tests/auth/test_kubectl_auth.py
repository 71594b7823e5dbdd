"""The real kubectl: create role/rolebinding/clusterrole/clusterrolebinding, get and describe them,
`auth can-i` (with --as and --list) and a refusal as kubectl prints it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.apiserver.helpers import Kubectl, unique
from tests.fixtures.apiserver import APIServerHandle


@pytest.fixture
def kubectl(shared_apiserver: APIServerHandle, tmp_path: Path) -> Kubectl:
    return Kubectl(shared_apiserver.kubeconfig, tmp_path / "kube-cache")


def can_i(kubectl: Kubectl, *args: str) -> str:
    res = kubectl.run("auth", "can-i", *args, check=False)
    return res.stdout.strip()


def eventually_can(kubectl: Kubectl, want: str, *args: str) -> None:
    deadline = time.monotonic() + 15
    while can_i(kubectl, *args) != want:
        assert time.monotonic() < deadline, f"auth can-i {' '.join(args)} never said {want}"
        time.sleep(0.1)


def test_roles_and_bindings_with_kubectl(kubectl: Kubectl) -> None:
    ns = unique("kauth")
    kubectl("create", "namespace", ns)
    sa = f"system:serviceaccount:{ns}:deployer"
    assert can_i(kubectl, "create", "pods", "-n", ns, f"--as={sa}") == "no"
    kubectl("create", "role", "pod-maker", "-n", ns, "--verb=create,get,list", "--resource=pods,pods/status")
    kubectl(
        "create",
        "rolebinding",
        "deployer-makes",
        "-n",
        ns,
        "--role=pod-maker",
        f"--serviceaccount={ns}:deployer",
    )
    eventually_can(kubectl, "yes", "create", "pods", "-n", ns, f"--as={sa}")
    assert can_i(kubectl, "delete", "pods", "-n", ns, f"--as={sa}") == "no"
    assert can_i(kubectl, "create", "pods", "-n", "default", f"--as={sa}") == "no"
    assert can_i(kubectl, "get", "pods", "--subresource=status", "-n", ns, f"--as={sa}") == "yes"
    listed = kubectl("auth", "can-i", "--list", "-n", ns, f"--as={sa}")
    assert any(
        line.split()[:1] == ["pods"] and "[create get list]" in line for line in listed.splitlines()
    ), listed
    # tables and describe
    roles = kubectl("get", "roles", "-n", ns).splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"] and roles[1].split()[0] == "pod-maker"
    wide = kubectl("get", "rolebinding", "deployer-makes", "-n", ns, "-o", "wide").splitlines()
    assert wide[0].split()[:3] == ["NAME", "ROLE", "AGE"] and f"{ns}/deployer" in wide[1]
    assert "Role/pod-maker" in wide[1]
    described = kubectl("describe", "role", "pod-maker", "-n", ns)
    assert "pods/status" in described and "[create get list]" in described
    # a cluster role bound cluster-wide to a user
    user = unique("auditor")
    kubectl("create", "clusterrole", f"{user}-nodes", "--verb=get,list", "--resource=nodes")
    kubectl("create", "clusterrolebinding", f"{user}-nodes", f"--clusterrole={user}-nodes", f"--user={user}")
    eventually_can(kubectl, "yes", "list", "nodes", f"--as={user}")
    assert can_i(kubectl, "delete", "nodes", f"--as={user}") == "no"
    kubectl("get", "nodes", f"--as={user}")
    res = kubectl.run("get", "pods", "-n", ns, f"--as={user}", check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "{user}" cannot list resource "pods" in API '
        f'group "" in the namespace "{ns}"'
    )
    node = can_i(kubectl, "get", "nodes", "--as=system:node:n1", "--as-group=system:nodes")
    assert node == "no - no relationship found between node 'n1' and this object"


def test_invalid_bindings_are_refused(kubectl: Kubectl) -> None:
    res = kubectl.run("create", "clusterrolebinding", unique("bad"), "--role=x", "--user=u", check=False)
    assert res.returncode != 0
    bad = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NAME}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: x}
subjects: [{kind: Robot, name: r}]
""".replace("NAME", unique("bad"))
    res = kubectl.run("create", "-f", "-", input=bad, check=False)
    assert res.returncode != 0
    assert "roleRef.kind: Unsupported value" in res.stderr and "subjects[0].kind" in res.stderr
