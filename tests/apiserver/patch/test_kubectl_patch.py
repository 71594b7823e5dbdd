"""The patch engines through a live skiff API server, driven by the machine's real kubectl."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.apiserver.helpers import Kubectl, unique
from tests.fixtures.apiserver import APIServerHandle

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {{app: web}}
spec:
  containers:
  - name: main
    image: {image}
    env:
    - {{name: A, value: "1"}}
  - name: side
    image: busybox:1
"""


def get(kubectl: Kubectl, ns: str) -> dict[str, Any]:
    out = kubectl("get", "pod", "web", "-n", ns, "-o", "json", "--show-managed-fields")
    return dict(json.loads(out))


def images(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["image"]) for c in obj["spec"]["containers"]]


def test_client_side_apply_twice_sends_a_strategic_patch(kubectl: Kubectl, ns: str) -> None:
    assert "pod/web created" in kubectl("apply", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    out = kubectl("apply", "-n", ns, "-f", "-", input=POD.format(image="nginx:2"))
    assert "pod/web configured" in out
    obj = get(kubectl, ns)
    assert images(obj) == [("main", "nginx:2"), ("side", "busybox:1")]
    assert obj["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert "pod/web unchanged" in kubectl("apply", "-n", ns, "-f", "-", input=POD.format(image="nginx:2"))


def test_server_side_apply_twice(kubectl: Kubectl, ns: str) -> None:
    first = kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    assert "pod/web serverside-applied" in first
    kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=POD.format(image="nginx:2"))
    obj = get(kubectl, ns)
    assert images(obj) == [("main", "nginx:2"), ("side", "busybox:1")]
    managers = {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}
    assert managers["kubectl"]["operation"] == "Apply"
    containers = managers["kubectl"]["fieldsV1"]["f:spec"]["f:containers"]
    assert set(containers) == {'k:{"name":"main"}', 'k:{"name":"side"}'}


def test_kubectl_patch_types(kubectl: Kubectl, ns: str) -> None:
    kubectl("create", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    # strategic merge (kubectl's default for built-in kinds): containers merge by name
    kubectl(
        "patch", "pod", "web", "-n", ns, "-p", '{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}'
    )
    assert images(get(kubectl, ns)) == [("main", "nginx:1"), ("side", "busybox:2")]
    # merge patch: labels merge, null removes
    kubectl(
        "patch", "pod", "web", "-n", ns, "--type=merge", "-p", '{"metadata":{"labels":{"app":null,"x":"y"}}}'
    )
    assert get(kubectl, ns)["metadata"]["labels"] == {"x": "y"}
    # JSON patch with a passing test
    ops = [
        {"op": "test", "path": "/metadata/labels/x", "value": "y"},
        {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"},
    ]
    kubectl("patch", "pod", "web", "-n", ns, "--type=json", "-p", json.dumps(ops))
    assert get(kubectl, ns)["metadata"]["labels"] == {"x": "y", "app.kubernetes.io/name": "web"}
    # a failing test is refused and changes nothing
    bad = [
        {"op": "test", "path": "/metadata/labels/x", "value": "nope"},
        {"op": "remove", "path": "/metadata/labels/x"},
    ]
    res = kubectl.run("patch", "pod", "web", "-n", ns, "--type=json", "-p", json.dumps(bad), check=False)
    assert res.returncode != 0
    assert "is invalid" in res.stderr
    assert get(kubectl, ns)["metadata"]["labels"]["x"] == "y"
    # strategic list directives on a field a pod may change: finalizers merge as a set,
    # $deleteFromPrimitiveList removes one
    kubectl("patch", "pod", "web", "-n", ns, "-p", '{"metadata":{"finalizers":["a.io/x","b.io/y"]}}')
    assert get(kubectl, ns)["metadata"]["finalizers"] == ["a.io/x", "b.io/y"]
    kubectl(
        "patch",
        "pod",
        "web",
        "-n",
        ns,
        "-p",
        '{"metadata":{"$deleteFromPrimitiveList/finalizers":["a.io/x"]}}',
    )
    assert get(kubectl, ns)["metadata"]["finalizers"] == ["b.io/y"]
    kubectl("patch", "pod", "web", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    # Kubernetes refuses changes to a pod's containers other than the image
    res = kubectl.run(
        "patch", "pod", "web", "-n", ns, "-p", '{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}',
        check=False,
    )  # fmt: skip
    assert res.returncode != 0 and "Forbidden" in res.stderr
    assert images(get(kubectl, ns)) == [("main", "nginx:1"), ("side", "busybox:2")]


def test_status_of_a_failed_patch(shared_apiserver: APIServerHandle, kubectl: Kubectl, ns: str) -> None:
    kubectl("create", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    url = f"{shared_apiserver.url}/api/v1/namespaces/{ns}/pods/web"
    ops = [{"op": "test", "path": "/spec/containers/0/image", "value": "nginx:9"}]
    tls = shared_apiserver.tls
    r = httpx.patch(
        url, content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"}, **tls
    )
    assert r.status_code == 422
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    assert status["message"] == "testing value /spec/containers/0/image failed: test failed"
    r = httpx.patch(url, content=b'{"spec":', headers={"Content-Type": "application/merge-patch+json"}, **tls)
    assert r.status_code == 400
    r = httpx.patch(
        url,
        content=json.dumps({"spec": {"containers": [{"image": "x"}]}}),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
        **tls,
    )
    assert r.status_code == 422
    assert "does not contain declared merge key: name" in r.json()["message"]


def test_server_side_apply_conflict_and_force(kubectl: Kubectl, ns: str) -> None:
    def apply(manager: str, image: str, *extra: str) -> Any:
        return kubectl.run(
            "apply", "--server-side", f"--field-manager={manager}", *extra, "-n", ns, "-f", "-",
            input=POD.format(image=image), check=False,
        )  # fmt: skip

    assert apply("alice", "nginx:1").returncode == 0
    assert apply("bob", "nginx:1").returncode == 0  # same values: shared, no conflict
    res = apply("bob", "nginx:2")
    assert res.returncode != 0
    assert (
        'Apply failed with 1 conflict: conflict with "alice": .spec.containers[name="main"].image'
        in res.stderr
    )
    assert "--force-conflicts" in res.stderr
    assert images(get(kubectl, ns))[0] == ("main", "nginx:1")
    assert apply("bob", "nginx:2", "--force-conflicts").returncode == 0
    obj = get(kubectl, ns)
    assert images(obj)[0] == ("main", "nginx:2")
    owners = {e["manager"]: e["fieldsV1"] for e in obj["metadata"]["managedFields"]}
    assert "f:image" in owners["bob"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert "f:image" not in owners["alice"]["f:spec"]["f:containers"]['k:{"name":"main"}']


NODE = """
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{zone: a}}
spec:
  taints:
  - {{key: dedicated, value: infra, effect: NoSchedule}}
"""


def test_node_and_pod_commands_that_patch(kubectl: Kubectl, ns: str) -> None:
    node = unique("node")
    kubectl("create", "-f", "-", input=NODE.format(name=node))
    try:
        kubectl("label", "node", node, "disk=ssd")
        kubectl("cordon", node)
        kubectl("taint", "node", node, "gpu=yes:NoExecute")
        kubectl("taint", "node", node, "dedicated-")
        obj = json.loads(kubectl("get", "node", node, "-o", "json"))
        assert obj["metadata"]["labels"] == {"zone": "a", "disk": "ssd"}
        assert obj["spec"]["unschedulable"] is True
        assert obj["spec"]["taints"] == [{"key": "gpu", "value": "yes", "effect": "NoExecute"}]
        kubectl("uncordon", node)
        assert "unschedulable" not in json.loads(kubectl("get", "node", node, "-o", "json"))["spec"]
    finally:
        kubectl("delete", "node", node)
    kubectl("create", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    kubectl("set", "image", "pod/web", "-n", ns, "side=busybox:3")
    kubectl("annotate", "pod", "web", "-n", ns, "note=hi")
    obj = get(kubectl, ns)
    assert images(obj) == [("main", "nginx:1"), ("side", "busybox:3")]
    assert obj["metadata"]["annotations"]["note"] == "hi"


def test_client_side_then_server_side_apply(kubectl: Kubectl, ns: str) -> None:
    kubectl("apply", "-n", ns, "-f", "-", input=POD.format(image="nginx:1"))
    out = kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=POD.format(image="nginx:2"))
    assert "serverside-applied" in out
    obj = get(kubectl, ns)
    assert images(obj)[0] == ("main", "nginx:2")
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["containers"][0]["image"] == "nginx:2"
    # and client-side apply still works from the annotation kept in step
    assert "configured" in kubectl("apply", "-n", ns, "-f", "-", input=POD.format(image="nginx:3"))
    assert images(get(kubectl, ns))[0] == ("main", "nginx:3")
