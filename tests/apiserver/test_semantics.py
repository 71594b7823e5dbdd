"""Kubernetes' semantics a client relies on: defaults, priority, immutability, field selectors,
events in two API groups, tables for every kind, bookmarks, deletecollection, namespaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.apiserver.helpers import Kubectl, pod, unique
from tests.fixtures.apiserver import APIServerHandle

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_pod_defaults(c: httpx.Client, ns: str) -> None:
    body = pod("d", image="busybox")
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}, "limits": {"cpu": "100m"}}
    p = c.post(f"/api/v1/namespaces/{ns}/pods", json=body).json()
    spec = p["spec"]
    assert spec["restartPolicy"] == "Always" and spec["terminationGracePeriodSeconds"] == 30
    assert spec["dnsPolicy"] == "ClusterFirst" and spec["schedulerName"] == "default-scheduler"
    assert spec["containers"][0]["imagePullPolicy"] == "Always"  # untagged image: the :latest rule
    assert spec["priority"] == 0
    keys = {(t["key"], t.get("tolerationSeconds")) for t in spec["tolerations"]}
    assert keys == {("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}
    assert p["status"] == {"phase": "Pending", "qosClass": "Burstable"}


def test_priority_from_priority_class(c: httpx.Client, ns: str) -> None:
    pc = unique("prio")
    r = c.post(
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        json={
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": pc},
            "value": 1000,
        },
    )
    assert r.status_code == 201, r.text
    p = c.post(f"/api/v1/namespaces/{ns}/pods", json=pod("hi", priorityClassName=pc)).json()
    assert p["spec"]["priority"] == 1000 and p["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
    crit = c.post(f"/api/v1/namespaces/{ns}/pods", json=pod("crit", priorityClassName="system-node-critical"))
    assert crit.json()["spec"]["priority"] == 2000001000
    missing = c.post(f"/api/v1/namespaces/{ns}/pods", json=pod("nope", priorityClassName="does-not-exist"))
    assert missing.status_code == 403
    assert "no PriorityClass with name does-not-exist was found" in missing.json()["message"]
    t = c.get("/apis/scheduling.k8s.io/v1/priorityclasses", headers={"Accept": TABLE}).json()
    assert [col["name"] for col in t["columnDefinitions"]][:3] == ["Name", "Value", "Global-Default"]


def test_pod_spec_is_immutable_and_generation(c: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    p = c.post(base, json=pod("imm")).json()
    p["spec"]["restartPolicy"] = "Never"
    r = c.put(f"{base}/imm", json=p)
    assert r.status_code == 422
    assert r.json()["details"]["causes"][0]["field"].startswith("spec")
    p = c.get(f"{base}/imm").json()
    p["spec"]["containers"][0]["image"] = "busybox:2"  # the image may change
    r = c.put(f"{base}/imm", json=p)
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 2


def test_status_subresource_rules(c: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    c.post(base, json=pod("st"))
    patch = {"status": {"phase": "Running"}, "spec": {"nodeName": "sneaky"}}
    r = c.patch(
        f"{base}/st/status",
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert r.json()["status"]["phase"] == "Running" and "nodeName" not in r.json()["spec"]
    r = c.patch(
        f"{base}/st",
        content=json.dumps({"status": {"phase": "Failed"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.json()["status"]["phase"] == "Running"  # the main resource cannot change status


def test_field_selectors(c: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    for name, node in (("a", "n1"), ("b", "n2"), ("c", None)):
        body = pod(name)
        if node:
            body["spec"]["nodeName"] = node
        c.post(base, json=body)
    c.patch(
        f"{base}/b/status",
        content=b'{"status":{"phase":"Succeeded"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )

    def names(sel: str) -> list[str]:
        r = c.get(base, params={"fieldSelector": sel})
        assert r.status_code == 200, r.text
        return [p["metadata"]["name"] for p in r.json()["items"]]

    assert names("spec.nodeName=n1") == ["a"]
    assert names("spec.nodeName=") == ["c"]
    assert names("status.phase!=Succeeded,status.phase!=Failed") == ["a", "c"]
    assert names("metadata.name==b") == ["b"]
    bad = c.get(base, params={"fieldSelector": "spec.bogus=1"})
    assert bad.status_code == 400 and "field label not supported: spec.bogus" in bad.json()["message"]


def test_events_in_both_groups(c: httpx.Client, ns: str) -> None:
    core = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns, "uid": "u1"},
        "reason": "Scheduled",
        "message": "Successfully assigned",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
    }
    assert c.post(f"/api/v1/namespaces/{ns}/events", json=core).status_code == 201
    new = c.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events/e1").json()
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"]["name"] == "web" and new["note"] == "Successfully assigned"
    ev2 = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e2"},
        "eventTime": "2026-01-01T00:00:01.000000Z",
        "regarding": {"kind": "Pod", "name": "web", "namespace": ns, "uid": "u1"},
        "reason": "Pulled",
        "note": "Image pulled",
        "type": "Normal",
        "action": "Pulling",
        "reportingController": "skiff/kubelet",
        "reportingInstance": "n1",
    }
    r = c.post(f"/apis/events.k8s.io/v1/namespaces/{ns}/events", json=ev2)
    assert r.status_code == 201, r.text
    old = c.get(f"/api/v1/namespaces/{ns}/events/e2").json()
    assert old["involvedObject"]["name"] == "web" and old["message"] == "Image pulled"
    sel = {"fieldSelector": f"involvedObject.name=web,involvedObject.namespace={ns},involvedObject.uid=u1"}
    assert len(c.get(f"/api/v1/namespaces/{ns}/events", params=sel).json()["items"]) == 2
    sel2 = {"fieldSelector": "regarding.name=web"}
    assert len(c.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events", params=sel2).json()["items"]) == 2
    t = c.get(f"/api/v1/namespaces/{ns}/events", headers={"Accept": TABLE}).json()
    assert [col["name"] for col in t["columnDefinitions"] if col["priority"] == 0] == [
        "Last Seen", "Type", "Reason", "Object", "Message"
    ]  # fmt: skip
    assert t["rows"][0]["cells"][3] == "pod/web"


def test_describe_pod_shows_events(
    shared_apiserver: APIServerHandle, c: httpx.Client, ns: str, tmp_path: Path
) -> None:
    p = c.post(f"/api/v1/namespaces/{ns}/pods", json=pod("web")).json()
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns, "uid": p["metadata"]["uid"]},
        "reason": "Scheduled",
        "message": "Successfully assigned to n1",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": p["metadata"]["creationTimestamp"],
        "lastTimestamp": p["metadata"]["creationTimestamp"],
        "count": 1,
    }
    c.post(f"/api/v1/namespaces/{ns}/events", json=ev)
    k = Kubectl(shared_apiserver.kubeconfig, tmp_path / "cache")
    out = k("describe", "pod", "web", "-n", ns)
    assert "Successfully assigned to n1" in out and "Scheduled" in out
    assert "pod/web" in k("get", "events", "-n", ns)


def test_leases_table(c: httpx.Client, ns: str) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "n1"},
        "spec": {
            "holderIdentity": "n1",
            "leaseDurationSeconds": 40,
            "renewTime": "2026-01-01T00:00:00.000000Z",
        },
    }
    r = c.post(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", json=lease)
    assert r.status_code == 201, r.text
    t = c.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", headers={"Accept": TABLE}).json()
    assert [col["name"] for col in t["columnDefinitions"]] == ["Name", "Holder", "Age"]
    assert t["rows"][0]["cells"][:2] == ["n1", "n1"]


def _watch(c: httpx.Client, path: str, params: dict[str, Any], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with c.stream("GET", path, params=params) as r:
        for line in r.iter_lines():
            if line.strip():
                out.append(json.loads(line))
                if len(out) == n:
                    break
    return out


def test_watch_initial_events_and_bookmark(
    shared_apiserver: APIServerHandle, c: httpx.Client, ns: str
) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    c.post(base, json=pod("x"))
    c.post(base, json=pod("y"))
    params = {
        "watch": "true",
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "resourceVersionMatch": "NotOlderThan",
        "resourceVersion": "",
    }
    evs = _watch(c, base, params, 3)
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in evs[:2]] == [
        ("ADDED", "x"),
        ("ADDED", "y"),
    ]
    assert evs[2]["type"] == "BOOKMARK"
    assert evs[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    # A table watch: each event's object is a one-row Table.
    tw = _watch(c, base, {"watch": "1", "resourceVersion": "0", "timeoutSeconds": "5"}, 1)
    assert tw[0]["object"]["kind"] == "Pod"
    with c.stream(
        "GET",
        base,
        params={"watch": "1", "timeoutSeconds": "5"},
        headers={"Accept": TABLE},
    ) as r:
        first = json.loads(next(r.iter_lines()))
    assert first["object"]["kind"] == "Table" and len(first["object"]["rows"]) == 1


def test_deletecollection_and_namespace_delete(c: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    for i in range(3):
        c.post(base, json=pod(f"p{i}", labels={"batch": "1" if i < 2 else "2"}))
    r = c.request("DELETE", base, params={"labelSelector": "batch=1"})
    assert r.status_code == 200, r.text
    assert [p["metadata"]["name"] for p in c.get(base).json()["items"]] == ["p2"]
    assert c.delete("/api/v1/namespaces/default").status_code == 403
    # Deleting a namespace only marks it; the namespace controller empties it and lets it go
    # (tests/apiserver/test_namespace_lifecycle.py, tests/controllers/test_namespace.py).
    r = c.delete(f"/api/v1/namespaces/{ns}")
    assert r.status_code == 200 and r.json()["status"]["phase"] == "Terminating"
    assert c.get(f"/api/v1/namespaces/{ns}").json()["metadata"]["deletionTimestamp"]


def test_field_validation_modes(c: httpx.Client, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    body = pod("fv")
    body["spec"]["containers"][0]["imagee"] = "typo"
    strict = c.post(base, params={"fieldValidation": "Strict"}, json=body)
    assert strict.status_code == 400
    assert 'unknown field "spec.containers[0].imagee"' in strict.json()["message"]
    warn = c.post(base, params={"fieldValidation": "Warn"}, json=body)
    assert warn.status_code == 201
    assert 'unknown field \\"spec.containers[0].imagee\\"' in warn.headers["warning"]
    assert "imagee" not in json.dumps(warn.json())  # unknown fields are dropped, as Kubernetes does
    body["metadata"]["name"] = "fv2"
    assert "warning" not in c.post(base, params={"fieldValidation": "Ignore"}, json=body).headers
