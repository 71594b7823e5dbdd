"""The machine's real kubectl against a live skiff API server."""

from __future__ import annotations

import json

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


def test_apply_twice_and_server_side(kubectl: Kubectl, ns: str) -> None:
    def apply(*flags: str, name: str, image: str) -> str:
        return kubectl("apply", *flags, "-n", ns, "-f", "-", input=POD.format(name=name, image=image))

    def image(name: str) -> str:
        return kubectl("get", "pod", name, "-n", ns, "-o", "jsonpath={.spec.containers[0].image}")

    assert "pod/web created" in apply(name="web", image="busybox:1")
    assert "pod/web configured" in apply(name="web", image="busybox:2")
    assert "pod/web unchanged" in apply(name="web", image="busybox:2")
    assert image("web") == "busybox:2"
    assert "serverside-applied" in apply("--server-side", name="ssa", image="busybox:1")
    apply("--server-side", name="ssa", image="busybox:3")
    assert image("ssa") == "busybox:3"
    # Another manager changing a field kubectl owns: a conflict, unless forced.
    manifest = POD.format(name="ssa", image="busybox:4")
    res = kubectl.run(
        "apply", "--server-side", "--field-manager=other", "-n", ns, "-f", "-", input=manifest, check=False
    )
    assert res.returncode != 0 and 'conflict with "kubectl"' in res.stderr
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-n",
        ns,
        "-f",
        "-",
        input=manifest,
    )
    assert image("ssa") == "busybox:4"
    managers = kubectl(
        "get",
        "pod",
        "ssa",
        "-n",
        ns,
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    )
    assert "other" in managers.split()


def test_replace_with_stale_object_conflicts(kubectl: Kubectl, ns: str) -> None:
    kubectl("create", "-n", ns, "-f", "-", input=POD.format(name="web", image="busybox:1"))
    stale = kubectl("get", "pod", "web", "-n", ns, "-o", "yaml")
    kubectl("label", "pod", "web", "-n", ns, "x=y")
    res = kubectl.run("replace", "-n", ns, "-f", "-", input=stale, check=False)
    assert res.returncode != 0
    assert 'Operation cannot be fulfilled on pods "web": the object has been modified' in res.stderr
    fresh = kubectl("get", "pod", "web", "-n", ns, "-o", "yaml")
    assert "pod/web replaced" in kubectl("replace", "-n", ns, "-f", "-", input=fresh)


def test_get_watch_prints_new_rows(kubectl: Kubectl, ns: str, shared_apiserver: APIServerHandle) -> None:
    import httpx

    from tests.apiserver.helpers import pod

    base = f"{shared_apiserver.url}/api/v1/namespaces/{ns}/pods"
    httpx.post(base, json=pod("first"), **shared_apiserver.tls)
    proc = kubectl.popen("get", "pods", "-n", ns, "-w")
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        first = proc.stdout.readline()
        httpx.post(base, json=pod("watched"), **shared_apiserver.tls)
        watched = proc.stdout.readline()
        assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert first.split()[:3] == ["first", "0/1", "Pending"]
        assert watched.split()[:3] == ["watched", "0/1", "Pending"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_wait_for_condition_ready(kubectl: Kubectl, ns: str, shared_apiserver: APIServerHandle) -> None:
    import httpx

    kubectl("create", "-n", ns, "-f", "-", input=POD.format(name="web", image="busybox:1"))
    proc = kubectl.popen("wait", "--for=condition=Ready", "pod/web", "-n", ns, "--timeout=60s")
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}], "phase": "Running"}}
    r = httpx.patch(
        f"{shared_apiserver.url}/api/v1/namespaces/{ns}/pods/web/status",
        content=json.dumps(status),
        headers={"Content-Type": "application/merge-patch+json"},
        **shared_apiserver.tls,
    )
    assert r.status_code == 200, r.text
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "pod/web condition met" in out


def test_describe_node_with_events(kubectl: Kubectl, shared_apiserver: APIServerHandle) -> None:

    name = unique("node")
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-skiff"},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }
    with shared_apiserver.client() as c:
        assert c.post("/api/v1/nodes", json=node).status_code == 201
        got = c.get(f"/api/v1/nodes/{name}").json()
        c.put(f"/api/v1/nodes/{name}/status", json={**got, "status": node["status"]}).raise_for_status()
        ev = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.1"},
            "involvedObject": {"kind": "Node", "name": name, "uid": got["metadata"]["uid"]},
            "reason": "Starting",
            "message": "Starting kubelet.",
            "type": "Normal",
            "source": {"component": "kubelet", "host": name},
            "count": 1,
        }
        assert c.post("/api/v1/namespaces/default/events", json=ev).status_code == 201
    out = kubectl("get", "node", name)
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert out.splitlines()[1].split()[:3] == [name, "Ready", "worker"]
    desc = kubectl("describe", "node", name)
    assert "Starting kubelet." in desc
