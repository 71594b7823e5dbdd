"""The same behaviour on every backend: SQLite, a 3-member etcd, and two API servers on one etcd
(writes through the first, reads and watches through the last: same data, same resourceVersions)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client, config, watch

from tests.apiserver.helpers import Kubectl, make_namespace, pod, unique
from tests.fixtures.apiserver import APIServerHandle

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: web}}}}
spec:
  containers: [{{name: main, image: "{image}"}}]
"""


def _ends(s: APIServerHandle) -> tuple[str, str]:
    return s.urls[0], s.urls[-1]


def test_write_one_read_other(backend_apiserver: APIServerHandle) -> None:
    writer, reader = _ends(backend_apiserver)
    ns = unique("be")
    with backend_apiserver.client(writer, timeout=30) as w, backend_apiserver.client(reader, timeout=30) as r:
        make_namespace(w, ns)
        created = w.post(f"/api/v1/namespaces/{ns}/pods", json=pod("web", labels={"app": "web"})).json()
        got = r.get(f"/api/v1/namespaces/{ns}/pods/web").json()
        assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        lst = r.get(f"/api/v1/namespaces/{ns}/pods").json()
        assert [p["metadata"]["name"] for p in lst["items"]] == ["web"]
        assert int(lst["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
        got["metadata"]["labels"]["x"] = "y"
        assert r.put(f"/api/v1/namespaces/{ns}/pods/web", json=got).status_code == 200
        stale = w.put(f"/api/v1/namespaces/{ns}/pods/web", json=created)
        assert stale.status_code == 409


def test_watch_on_other_server_sees_writes(backend_apiserver: APIServerHandle) -> None:
    writer, reader = _ends(backend_apiserver)
    ns = unique("bw")
    with backend_apiserver.client(writer, timeout=30) as w:
        make_namespace(w, ns)
        rv = w.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
        events: list[dict[str, Any]] = []

        def run() -> None:
            url = f"{reader}/api/v1/namespaces/{ns}/pods"
            with httpx.stream(
                "GET",
                url,
                params={"watch": "true", "resourceVersion": rv},
                timeout=30,
                **backend_apiserver.tls,
            ) as resp:
                for line in resp.iter_lines():
                    if line.strip():
                        events.append(json.loads(line))
                        if len(events) == 3:
                            return

        t = threading.Thread(target=run)
        t.start()
        a = w.post(f"/api/v1/namespaces/{ns}/pods", json=pod("a")).json()
        w.post(f"/api/v1/namespaces/{ns}/pods", json=pod("b"))
        d = w.delete(f"/api/v1/namespaces/{ns}/pods/a").json()
        t.join(30)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    assert events[0]["object"]["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]
    assert d["metadata"]["name"] == "a"


def test_kubectl_through_other_server(backend_apiserver: APIServerHandle, tmp_path: Path) -> None:
    first = Kubectl(backend_apiserver.kubeconfigs[0], tmp_path / "c0")
    last = Kubectl(backend_apiserver.kubeconfigs[-1], tmp_path / "c1")
    ns = unique("bk")
    first("create", "namespace", ns)
    first("apply", "-n", ns, "-f", "-", input=POD.format(name="web", image="busybox:1"))
    last("apply", "-n", ns, "-f", "-", input=POD.format(name="web", image="busybox:2"))
    out = first("get", "pods", "-n", ns, "-o", "wide")
    assert out.splitlines()[1].split()[:3] == ["web", "0/1", "Pending"]
    assert first("get", "pod", "web", "-n", ns, "-o", "jsonpath={.spec.containers[0].image}") == "busybox:2"
    assert 'pod "web" deleted' in last("delete", "pod", "web", "-n", ns)


def test_official_client_list_and_watch(backend_apiserver: APIServerHandle) -> None:
    cfgs = []
    for kc in (backend_apiserver.kubeconfigs[0], backend_apiserver.kubeconfigs[-1]):
        cfg = client.Configuration()
        config.load_kube_config(config_file=kc, client_configuration=cfg)
        cfgs.append(cfg)
    ns = unique("bo")
    with client.ApiClient(cfgs[0]) as a, client.ApiClient(cfgs[1]) as b:
        wa, rb = client.CoreV1Api(a), client.CoreV1Api(b)
        wa.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        rv = rb.list_namespaced_pod(ns).metadata.resource_version
        body = client.V1Pod(
            metadata=client.V1ObjectMeta(name="p"),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1")]),
        )
        wa.create_namespaced_pod(ns, body)
        w = watch.Watch()
        for ev in w.stream(rb.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=10):
            assert (ev["type"], ev["object"].metadata.name) == ("ADDED", "p")
            w.stop()
        assert [p.metadata.name for p in rb.list_namespaced_pod(ns).items] == ["p"]
