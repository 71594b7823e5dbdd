"""The official `kubernetes` Python client, unchanged, against a live skiff API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.apiserver.helpers import pod as pod_body
from tests.apiserver.helpers import unique
from tests.fixtures.apiserver import APIServerHandle, start


@pytest.fixture
def api(shared_apiserver: APIServerHandle) -> Iterator[client.ApiClient]:
    cfg = client.Configuration()
    config.load_kube_config(config_file=shared_apiserver.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as c:
        yield c


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    name = unique("py")
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _pod(name: str, image: str = "busybox:1") -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "web"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image=image)]),
    )


def test_create_list_replace_patch_delete(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_pod(ns, _pod("web"))
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    pods = core.list_namespaced_pod(ns, label_selector="app=web")
    assert [p.metadata.name for p in pods.items] == ["web"]
    assert pods.metadata.resource_version

    created.metadata.labels["tier"] = "front"
    replaced = core.replace_namespaced_pod("web", ns, created)
    assert replaced.metadata.labels["tier"] == "front"
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_pod("web", ns, created)  # stale resourceVersion
    assert e.value.status == 409

    patched = core.patch_namespaced_pod("web", ns, {"metadata": {"labels": {"patched": "yes"}}})
    assert patched.metadata.labels["patched"] == "yes"

    core.delete_namespaced_pod("web", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("web", ns)
    assert e.value.status == 404


def test_watch_resumes_from_resource_version(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, _pod("a"))
    w = watch.Watch()
    seen = []
    for ev in w.stream(core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
        last_rv = ev["object"].metadata.resource_version
        w.stop()
    assert seen == [("ADDED", "a")]
    core.create_namespaced_pod(ns, _pod("b"))
    core.delete_namespaced_pod("a", ns)
    seen = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_pod, ns, resource_version=last_rv, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "b"), ("DELETED", "a")]


def test_watch_timeout_ends_stream(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    events = list(watch.Watch().stream(core.list_namespaced_pod, ns, timeout_seconds=1))
    assert events == []


def test_expired_list_continue_is_410(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod(ns, _continue="not-a-token")
    assert e.value.status == 400


def test_required_fields_decode(api: client.ApiClient, ns: str) -> None:
    """Objects with the status a kubelet writes decode in the client (it checks required fields)."""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("full"))
    status = {
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "busybox:1",
                    "imageID": "docker://sha256:abc",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                }
            ],
        }
    }
    core.patch_namespaced_pod_status("full", ns, status)
    pod = core.read_namespaced_pod("full", ns)
    assert pod.status.container_statuses[0].ready is True
    name = unique("node")
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name)))
    info = {
        k: ""
        for k in (
            "architecture",
            "bootID",
            "containerRuntimeVersion",
            "kernelVersion",
            "kubeProxyVersion",
            "kubeletVersion",
            "machineID",
            "operatingSystem",
            "osImage",
            "systemUUID",
        )
    }
    core.patch_node_status(name, {"status": {"nodeInfo": info}})
    nodes = core.list_node(field_selector=f"metadata.name={name}")
    assert nodes.items[0].status.node_info.kubelet_version == ""
    ev = core.list_namespaced_event(ns)
    assert ev.items == []


def test_watch_too_old_is_410(tmp_path: Path) -> None:
    """A watch from a resourceVersion older than the watch cache's window: an ERROR event carrying
    a 410 Expired Status; the official client retries once, then raises ApiException(410)."""
    handle, procs = start(tmp_path / "skiff", env={"SKIFF_WATCH_CACHE_WINDOW": "5"})
    try:
        with handle.client(timeout=30) as c:
            rv = c.get("/api/v1/namespaces/default/pods").json()["metadata"]["resourceVersion"]
            for i in range(10):
                assert c.post("/api/v1/namespaces/default/pods", json=pod_body(f"p{i}")).status_code == 201
            with c.stream(
                "GET", "/api/v1/namespaces/default/pods", params={"watch": "1", "resourceVersion": rv}
            ) as r:
                first = json.loads(next(r.iter_lines()))
        assert first["type"] == "ERROR"
        assert (first["object"]["code"], first["object"]["reason"]) == (410, "Expired")
        cfg = client.Configuration()
        config.load_kube_config(config_file=handle.kubeconfig, client_configuration=cfg)
        with client.ApiClient(cfg) as api:
            core = client.CoreV1Api(api)
            with pytest.raises(ApiException) as e:
                for _ in watch.Watch().stream(core.list_namespaced_pod, "default", resource_version=rv):
                    pass
            assert e.value.status == 410
    finally:
        for p in procs:
            p.stop()


def test_slow_watcher_is_ended_and_blocks_nobody(tmp_path: Path) -> None:
    """A watcher that stops reading falls behind: it is ended with a 410 ERROR event once its queue
    overflows, while a watcher that reads receives every event."""
    import socket
    import threading

    handle, procs = start(tmp_path / "skiff", env={"SKIFF_WATCHER_QUEUE": "30"})
    try:
        host, port = handle.url.removeprefix("https://").split(":")
        base = "/api/v1/namespaces/default/pods"
        with handle.client(timeout=30) as c:
            rv = c.get(base).json()["metadata"]["resourceVersion"]
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect((host, int(port)))
            slow = handle.ssl_context().wrap_socket(raw, server_hostname=host)
            slow.sendall(f"GET {base}?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            seen: list[str] = []

            def fast() -> None:
                params = {"watch": "true", "resourceVersion": rv}
                with httpx.stream("GET", handle.url + base, params=params, timeout=60, **handle.tls) as r:
                    for line in r.iter_lines():
                        if line.strip():
                            seen.append(json.loads(line)["object"]["metadata"]["name"])
                            if len(seen) == 100:
                                return

            t = threading.Thread(target=fast)
            t.start()
            big = "x" * 200_000  # 100 events of 200 KB: more than the socket buffers hold
            for i in range(100):
                body = pod_body(f"p{i:03d}")
                body["metadata"]["annotations"] = {"pad": big}
                assert c.post(base, json=body).status_code == 201
            t.join(60)
            assert seen == [f"p{i:03d}" for i in range(100)]
            slow.settimeout(30)
            data = b""
            while b'"code":410' not in data:
                chunk = slow.recv(1 << 16)
                assert chunk, "the slow watch ended without a 410"
                data += chunk
            slow.close()
            assert b'"reason":"Expired"' in data
    finally:
        for p in procs:
            p.stop()
