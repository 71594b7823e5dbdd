"""The authorization matrix with real credentials (client certificates from the cluster CA, service
account tokens from the TokenRequest API, no credentials, a forged token), through the real kubectl:
each identity is allowed or refused, and a refusal changes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from skiff.apiserver.auth import certs, kubeconfigs
from tests.apiserver.helpers import Kubectl, unique
from tests.fixtures.apiserver import APIServerHandle

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers: [{{name: c, image: busybox}}]
"""


class Cluster:
    def __init__(self, handle: APIServerHandle, tmp: Path) -> None:
        self.handle = handle
        self.tmp = tmp
        self.admin = Kubectl(handle.kubeconfig, tmp / "cache-admin")
        self.ns = unique("creds")
        self.admin("create", "namespace", self.ns)
        self.a, self.b = unique("node-a"), unique("node-b")
        for n in (self.a, self.b):
            self.admin("create", "-f", "-", input=f"apiVersion: v1\nkind: Node\nmetadata: {{name: {n}}}\n")
            self.admin("create", "-n", self.ns, "-f", "-", input=POD.format(name=f"pod-{n}", node=n))

    def as_user(self, cn: str, groups: list[str]) -> Kubectl:
        name = cn.replace(":", "-")
        path = self.tmp / f"{name}.kubeconfig"
        kubeconfigs.write(path, kubeconfigs.for_user(self.handle.data_dir, self.handle.url, cn, groups))
        return Kubectl(str(path), self.tmp / f"cache-{name}")

    def with_token(self, token: str | None, name: str) -> Kubectl:
        ca = certs.load_or_create_ca(self.handle.data_dir).cert_pem
        path = self.tmp / f"{name}.kubeconfig"
        kubeconfigs.write(path, kubeconfigs.kubeconfig(self.handle.url, ca, user=name, token=token))
        return Kubectl(str(path), self.tmp / f"cache-{name}")

    def rv(self, *what: str) -> str:
        return str(json.loads(self.admin("get", *what, "-o", "json"))["metadata"]["resourceVersion"])


@pytest.fixture
def cluster(shared_apiserver: APIServerHandle, tmp_path: Path) -> Cluster:
    return Cluster(shared_apiserver, tmp_path)


def forbidden(k: Kubectl, *args: str, input: str | None = None) -> str:
    res = k.run(*args, input=input, check=False)
    assert res.returncode != 0 and "(Forbidden)" in res.stderr, res.stderr
    return res.stderr.strip()


def refused_unchanged(c: Cluster, what: tuple[str, ...], k: Kubectl, *args: str) -> str:
    before = c.rv(*what)
    err = forbidden(k, *args)
    assert c.rv(*what) == before, "a refused request changed the object"
    return err


def eventually_ok(k: Kubectl, *args: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        res = k.run(*args, check=False)
        if res.returncode == 0:
            return res.stdout
        assert time.monotonic() < deadline, res.stderr
        time.sleep(0.1)


def test_user_certificate_without_then_with_a_role(cluster: Cluster) -> None:
    c, ns = cluster, cluster.ns
    jane = c.as_user(unique("jane"), ["devs-" + ns])
    who = json.loads(jane("auth", "whoami", "-o", "json"))
    assert "devs-" + ns in who["status"]["userInfo"]["groups"]
    err = forbidden(jane, "get", "pods", "-n", ns)
    assert err.endswith(f'cannot list resource "pods" in API group "" in the namespace "{ns}"')
    assert jane.run("auth", "can-i", "list", "pods", "-n", ns, check=False).stdout.strip() == "no"
    c.admin("create", "rolebinding", "devs-view", "-n", ns, "--clusterrole=view", f"--group=devs-{ns}")
    assert f"pod-{c.a}" in eventually_ok(jane, "get", "pods", "-n", ns)
    refused_unchanged(c, ("pod", f"pod-{c.a}", "-n", ns), jane, "label", "pod", f"pod-{c.a}", "-n", ns, "x=y")
    forbidden(jane, "delete", "pod", f"pod-{c.a}", "-n", ns, "--wait=false")
    c.admin("get", "pod", f"pod-{c.a}", "-n", ns)
    forbidden(jane, "get", "pods", "-n", "default")


def test_node_certificate(cluster: Cluster) -> None:
    c, ns = cluster, cluster.ns
    node = c.as_user(f"system:node:{c.a}", ["system:nodes"])
    node("get", "node", c.a)
    node("get", "pod", f"pod-{c.a}", "-n", ns)
    err = forbidden(node, "get", "node", c.b)
    assert "no relationship found between node" in err
    refused_unchanged(c, ("node", c.b), node, "label", "node", c.b, "x=y")
    refused_unchanged(
        c, ("pod", f"pod-{c.b}", "-n", ns), node, "delete", "pod", f"pod-{c.b}", "-n", ns, "--wait=false"
    )
    forbidden(node, "get", "pod", f"pod-{c.b}", "-n", ns)
    forbidden(node, "get", "pods", "-A")
    forbidden(node, "create", "namespace", unique("x"))


def test_scheduler_and_controller_manager_certificates(cluster: Cluster) -> None:
    c = cluster
    sched = c.as_user("system:kube-scheduler", [])
    sched("get", "pods", "-A")
    sched("get", "nodes")
    forbidden(sched, "create", "namespace", unique("x"))
    refused_unchanged(c, ("node", c.a), sched, "label", "node", c.a, "x=y")
    cm = c.as_user("system:kube-controller-manager", [])
    cm("get", "leases", "-n", "kube-node-lease")
    cm("label", "node", c.a, "checked=yes")
    forbidden(cm, "get", "clusterroles")
    forbidden(cm, "create", "-n", c.ns, "-f", "-", input=POD.format(name="x", node=c.a))


def test_service_account_token_without_then_with_a_role(cluster: Cluster) -> None:
    c, ns = cluster, cluster.ns
    c.admin("create", "serviceaccount", "robot", "-n", ns)
    token = c.admin("create", "token", "robot", "-n", ns).strip()
    robot = c.with_token(token, "robot")
    forbidden(robot, "get", "pods", "-n", ns)
    c.admin("create", "role", "pod-reader", "-n", ns, "--verb=get,list", "--resource=pods")
    c.admin(
        "create", "rolebinding", "robot-reads", "-n", ns, "--role=pod-reader", f"--serviceaccount={ns}:robot"
    )
    assert f"pod-{c.a}" in eventually_ok(robot, "get", "pods", "-n", ns)
    refused_unchanged(
        c, ("pod", f"pod-{c.a}", "-n", ns), robot, "annotate", "pod", f"pod-{c.a}", "-n", ns, "a=b"
    )
    forbidden(robot, "get", "pods", "-n", "kube-system")
    assert robot.run("auth", "can-i", "create", "pods", "-n", ns, check=False).stdout.strip() == "no"
    assert (
        c.admin.run(
            "auth", "can-i", "list", "pods", "-n", ns, f"--as=system:serviceaccount:{ns}:robot", check=False
        ).stdout.strip()
        == "yes"
    )


def test_anonymous_and_forged_token(cluster: Cluster) -> None:
    c, ns = cluster, cluster.ns
    pod = f"/api/v1/namespaces/{ns}/pods/pod-{c.a}"
    with c.handle.client(admin=False) as anon:  # no certificate, no token
        assert anon.get("/version").json()["major"] == "1"
        assert anon.get(f"/api/v1/namespaces/{ns}/pods").status_code == 401
        assert anon.delete(pod).status_code == 401
    forged = c.with_token("forged-token", "forged")
    res = forged.run("delete", "pod", f"pod-{c.a}", "-n", ns, "--wait=false", check=False)
    assert res.returncode != 0 and "You must be logged in to the server" in res.stderr
    c.admin("get", "pod", f"pod-{c.a}", "-n", ns)  # still there
