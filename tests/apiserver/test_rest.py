"""The REST verbs over plain HTTP: what every client sees."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from tests.apiserver.helpers import pod
from tests.fixtures.apiserver import APIServerHandle


@pytest.fixture
def client(c: httpx.Client) -> httpx.Client:
    """The conftest's admin client, under the name these tests use."""
    return c


def test_version_and_discovery(client: httpx.Client) -> None:
    v = client.get("/version").json()
    assert (v["major"], v["minor"], v["gitVersion"]) == ("1", "32", "v1.32.0")
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    for path in ("/api", "/apis", "/api/v1", "/apis/coordination.k8s.io/v1"):
        r = client.get(path, headers={"Accept": aggregated})
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("application/json")
    core = {r["name"]: r for r in client.get("/api/v1").json()["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"]
    assert {"pods/status", "pods/binding", "pods/log", "pods/exec", "pods/eviction", "nodes/status"} <= set(
        core
    )
    groups = {g["name"] for g in client.get("/apis").json()["groups"]}
    assert {"events.k8s.io", "coordination.k8s.io", "scheduling.k8s.io"} <= groups


def test_initial_namespaces(client: httpx.Client) -> None:
    names = {n["metadata"]["name"] for n in client.get("/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_create_get_list_update_delete(client: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    r = client.post(base, json=pod("web", labels={"app": "web"}))
    assert r.status_code == 201, r.text
    created = r.json()
    meta = created["metadata"]
    assert meta["namespace"] == ns and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1 and int(meta["resourceVersion"]) > 0
    assert created["kind"] == "Pod" and created["apiVersion"] == "v1"
    assert created["status"]["phase"] == "Pending"

    again = client.post(base, json=pod("web"))
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"

    got = client.get(f"{base}/web").json()
    assert got["metadata"]["uid"] == meta["uid"]

    lst = client.get(base, params={"labelSelector": "app=web"}).json()
    assert lst["kind"] == "PodList" and [p["metadata"]["name"] for p in lst["items"]] == ["web"]
    assert client.get(base, params={"labelSelector": "app!=web"}).json()["items"] == []

    got["metadata"]["labels"]["tier"] = "front"
    r = client.put(f"{base}/web", json=got)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["labels"]["tier"] == "front"
    assert r.json()["metadata"]["generation"] == 1  # metadata only: no bump

    stale = client.put(f"{base}/web", json=got)
    assert stale.status_code == 409
    assert stale.json()["message"] == (
        'Operation cannot be fulfilled on pods "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )

    r = client.delete(f"{base}/web")
    assert r.status_code == 200 and r.json()["metadata"]["name"] == "web"
    missing = client.get(f"{base}/web")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'pods "web" not found'


def test_generate_name_and_namespace_from_url(client: httpx.Client, ns: str) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "gen-"}
    r = client.post(f"/api/v1/namespaces/{ns}/pods", json=body)
    assert r.status_code == 201
    name = r.json()["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9
    assert r.json()["metadata"]["namespace"] == ns


def test_missing_namespace_is_404(client: httpx.Client) -> None:
    r = client.post("/api/v1/namespaces/nope-nothing/pods", json=pod("x"))
    assert r.status_code == 404 and r.json()["message"] == 'namespaces "nope-nothing" not found'


def test_binding_decides_on_the_stored_pod_not_a_stale_cached_one(client: httpx.Client, ns: str) -> None:
    # The binding starts from the watch cache's copy; right after a delete and re-create under the same
    # name that copy may be the old pod: the binding must still judge the pod as stored.
    base = f"/api/v1/namespaces/{ns}/pods"
    old_uid = client.post(base, json=pod("r")).json()["metadata"]["uid"]
    assert client.request("DELETE", f"{base}/r", json={"gracePeriodSeconds": 0}).status_code == 200
    new_uid = client.post(base, json=pod("r")).json()["metadata"]["uid"]

    def bind(uid: str) -> httpx.Response:
        body = {"metadata": {"name": "r", "uid": uid}, "target": {"kind": "Node", "name": "n1"}}
        return client.post(f"{base}/r/binding", json={"apiVersion": "v1", "kind": "Binding", **body})

    stale = bind(old_uid)
    assert stale.status_code == 409 and "Precondition failed" in stale.json()["message"]
    assert bind(new_uid).status_code == 201
    again = bind(new_uid)
    assert again.status_code == 409 and 'already assigned to node "n1"' in again.json()["message"]


def test_graceful_delete_of_bound_pod(client: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    assert client.post(base, json=pod("b")).status_code == 201
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "b"},
        "target": {"kind": "Node", "name": "n1"},
    }
    r = client.post(f"{base}/b/binding", json=binding)
    assert r.status_code == 201, r.text
    again = client.post(f"{base}/b/binding", json=binding)
    assert again.status_code == 409
    bound = client.get(f"{base}/b").json()
    assert bound["spec"]["nodeName"] == "n1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= bound["status"]["conditions"][0].items()

    r = client.delete(f"{base}/b")
    assert r.status_code == 202
    meta = r.json()["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 30
    assert client.get(f"{base}/b").status_code == 200
    r = client.request(
        "DELETE", f"{base}/b", json={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
    )
    assert r.status_code == 200
    assert client.get(f"{base}/b").status_code == 404


def _watch_lines(
    server: APIServerHandle, path: str, params: dict[str, Any], out: list[dict[str, Any]], stop_after: int
) -> None:
    with server.client(timeout=30) as c, c.stream("GET", path, params=params) as r:
        for line in r.iter_lines():
            if line.strip():
                out.append(json.loads(line))
                if len(out) >= stop_after:
                    return


def test_watch_from_resource_version(
    client: httpx.Client, shared_apiserver: APIServerHandle, ns: str
) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    rv = client.get(base).json()["metadata"]["resourceVersion"]
    client.post(base, json=pod("w1"))
    client.post(base, json=pod("w2"))
    client.delete(f"{base}/w1")
    events: list[dict[str, Any]] = []
    _watch_lines(shared_apiserver, base, {"watch": "True", "resourceVersion": rv}, events, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w1"),
        ("ADDED", "w2"),
        ("DELETED", "w1"),
    ]
    # Live events after the watch opened.
    live: list[dict[str, Any]] = []
    rv2 = events[-1]["object"]["metadata"]["resourceVersion"]
    t = threading.Thread(
        target=_watch_lines,
        args=(shared_apiserver, base, {"watch": "1", "resourceVersion": rv2}, live, 1),
    )
    t.start()
    client.post(base, json=pod("w3"))
    t.join(30)
    assert live and live[0]["type"] == "ADDED" and live[0]["object"]["metadata"]["name"] == "w3"


def test_many_watchers_see_every_event_once_in_order(
    client: httpx.Client, shared_apiserver: APIServerHandle, ns: str
) -> None:
    """Watchers without a selector share one feed per namespace (and one over all namespaces); those
    opened from a resourceVersion replay first. Each sees every event once, in store order, as does a
    watcher with a selector."""
    base = f"/api/v1/namespaces/{ns}/pods"
    rv = client.get(base).json()["metadata"]["resourceVersion"]
    assert client.post(base, json=pod("early")).status_code == 201
    names = ["early"] + [f"p{i:02d}" for i in range(30)]  # key order is creation order
    at = {"watch": "true", "resourceVersion": rv}
    specs: list[tuple[str, dict[str, str], int]] = [
        (base, at, len(names)),
        (base, at, len(names)),
        (base, {"watch": "true"}, len(names)),  # current objects (by key) as ADDED, then live
        ("/api/v1/pods", at, len(names)),  # only this test writes after rv
        (base, {**at, "labelSelector": "tier=x"}, len(names) - 1),
    ]
    results: list[list[dict[str, Any]]] = [[] for _ in specs]
    threads = [
        threading.Thread(target=_watch_lines, args=(shared_apiserver, path, params, out, n))
        for (path, params, n), out in zip(specs, results, strict=True)
    ]
    for t in threads:
        t.start()
    for name in names[1:]:
        p = pod(name)
        p["metadata"]["labels"] = {"tier": "x"}
        assert client.post(base, json=p).status_code == 201
    for t in threads:
        t.join(30)
    for (_, params, _), out in zip(specs, results, strict=True):
        got = [e["object"]["metadata"]["name"] for e in out]
        assert got == (names[1:] if "labelSelector" in params else names), params
        assert all(e["type"] == "ADDED" for e in out)
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in out]
        assert rvs == sorted(set(rvs))


def test_watch_too_old_is_410_event(client: httpx.Client, shared_apiserver: APIServerHandle) -> None:
    events: list[dict[str, Any]] = []
    _watch_lines(shared_apiserver, "/api/v1/pods", {"watch": "true", "resourceVersion": "1"}, events, 1)
    # rv 1 predates the cache's window only when history was compacted; otherwise it replays.
    assert events[0]["type"] in ("ERROR", "ADDED", "MODIFIED", "DELETED")


def test_errors_are_status(client: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    bad = client.post(base, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["kind"] == "Status"
    big = client.post(
        base, content=b"x" * (3 * 1024 * 1024 + 10), headers={"Content-Type": "application/json"}
    )
    assert big.status_code == 413
    unknown = client.get("/api/v1/frobs")
    assert unknown.status_code == 404 and unknown.json()["kind"] == "Status"
    badsel = client.get(base, params={"labelSelector": "a in (b"})
    assert badsel.status_code == 400
    neg = client.get(base, params={"limit": "-1"})
    assert neg.status_code == 400
    name = client.post(base, json=pod("Bad_Name"))
    assert name.status_code == 422 and name.json()["details"]["causes"][0]["field"] == "metadata.name"
    empty_cpu = pod("emptycpu")
    empty_cpu["spec"]["containers"][0]["resources"] = {"requests": {"cpu": ""}}
    bad_q = client.post(base, json=empty_cpu)  # found by the fuzz test: was a 500 from the QoS class
    assert bad_q.status_code == 422
    assert bad_q.json()["details"]["causes"][0]["field"] == "spec.containers[0].resources.requests[cpu]"


def test_table_output(client: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    client.post(base, json=pod("t1"))
    t = client.get(
        base, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    ).json()
    assert t["kind"] == "Table"
    assert [c["name"] for c in t["columnDefinitions"] if c["priority"] == 0] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert t["rows"][0]["cells"][:4] == ["t1", "0/1", "Pending", "0"]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_paging_with_continue(client: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    for i in range(5):
        client.post(base, json=pod(f"p{i}"))
    names: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get(base, params=params).json()
        names += [p["metadata"]["name"] for p in page["items"]]
        cont = page["metadata"].get("continue")
        if not cont:
            break
        params = {"limit": 2, "continue": cont}
    assert names == [f"p{i}" for i in range(5)]


def _raw_exchange(
    server: APIServerHandle, request: bytes, expect_continue: bool = False, body: bytes = b""
) -> bytes:
    """Sends one raw HTTP/1.1 request as the admin; returns everything the server answered until it
    goes quiet."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(server.url)
    host = u.hostname or "127.0.0.1"
    sock: socket.socket = socket.create_connection((host, u.port or 443), timeout=10)
    if u.scheme == "https":
        sock = server.ssl_context().wrap_socket(sock, server_hostname=host)
    with sock:
        sock.sendall(request)
        got = b""
        if expect_continue:
            while b"\r\n\r\n" not in got:
                got += sock.recv(65536)
            assert got.startswith(b"HTTP/1.1 100"), got
            sock.sendall(body)
        sock.settimeout(1.0)
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except TimeoutError:
            pass
        return got


def test_response_heads_with_and_without_bodies(shared_apiserver: APIServerHandle, ns: str) -> None:
    """The server writes a response's head together with its body: a HEAD answer (no body), a body
    sent after 100 Continue, and two pipelined requests all come back whole and in order."""
    path = f"/api/v1/namespaces/{ns}/pods"
    head = _raw_exchange(shared_apiserver, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert head.startswith(b"HTTP/1.1 405") and head.endswith(b"\r\n\r\n")
    body = json.dumps(pod("continued")).encode()
    req = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    got = _raw_exchange(shared_apiserver, req, expect_continue=True, body=body)
    assert b"HTTP/1.1 201" in got and got.endswith(b"}")
    one = f"GET {path}/continued HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    two = _raw_exchange(shared_apiserver, one + one)
    assert two.count(b"HTTP/1.1 200") == 2 and two.count(b'"name":"continued"') == 2
