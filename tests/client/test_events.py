"""The EventRecorder against a live API server, read back with the client and with the real kubectl."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from skiff.api.core import Event, Node, Pod
from skiff.api.meta import ObjectMeta
from skiff.client import Client
from skiff.client.events import COMBINED_PREFIX, NORMAL, WARNING, EventRecorder

from .util import pod, unique


async def events_about(client: Client, ns: str, name: str) -> list[Event]:
    found = await client.list(Event, ns, field_selector={"involvedObject.name": name})
    return sorted(found.items, key=lambda e: e.metadata.name or "")


async def test_events_are_posted_and_visible_to_kubectl(
    client: Client, ns: str, shared_apiserver: Any
) -> None:
    p = await client.create(pod("web", ns))
    rec = EventRecorder(client, "default-scheduler", host="host-1")
    rec.start()
    try:
        rec.event(p, NORMAL, "Scheduled", f"Successfully assigned {ns}/web to node-1")
        rec.event(p, WARNING, "BackOff", "Back-off restarting failed container c")
        await rec.flush()
    finally:
        await rec.stop()
    evs = await events_about(client, ns, "web")
    assert {(e.reason, e.type) for e in evs} == {("Scheduled", "Normal"), ("BackOff", "Warning")}
    ev = next(e for e in evs if e.reason == "Scheduled")
    assert ev.involved_object.kind == "Pod" and ev.involved_object.uid == p.metadata.uid
    assert ev.involved_object.namespace == ns and ev.involved_object.api_version == "v1"
    assert ev.source is not None and ev.source.component == "default-scheduler"
    assert ev.source.host == "host-1"
    assert ev.reporting_component == "default-scheduler" and ev.reporting_instance
    assert ev.count == 1 and ev.first_timestamp and ev.last_timestamp and ev.event_time
    assert (ev.metadata.name or "").startswith("web.")

    env = {"KUBECONFIG": shared_apiserver.kubeconfig, "HOME": "/tmp", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        ["kubectl", "get", "events", "-n", ns], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "Scheduled" in out.stdout and f"Successfully assigned {ns}/web to node-1" in out.stdout
    assert "BackOff" in out.stdout and "Warning" in out.stdout
    as_json = subprocess.run(
        ["kubectl", "get", "events", "-n", ns, "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    items = json.loads(as_json.stdout)["items"]
    assert {i["reason"] for i in items} == {"Scheduled", "BackOff"}


async def test_repeats_increment_count(client: Client, ns: str) -> None:
    p = await client.create(pod("rep", ns))
    rec = EventRecorder(client, "kubelet", host="n1")
    rec.start()
    try:
        for _ in range(3):
            rec.event(p, WARNING, "FailedMount", "volume not ready")
        await rec.flush()
    finally:
        await rec.stop()
    evs = await events_about(client, ns, "rep")
    assert len(evs) == 1
    assert evs[0].count == 3
    assert rec.posted == 1 and rec.patched == 2
    assert (evs[0].last_timestamp or "") >= (evs[0].first_timestamp or "")


async def test_similar_events_are_combined_and_floods_dropped(client: Client, ns: str) -> None:
    p = await client.create(pod("noisy", ns))
    rec = EventRecorder(client, "controller", host="h", max_similar=2, burst=6)
    rec.start()
    try:
        for i in range(8):  # 6 pass the token bucket, the last 2 are dropped
            rec.event(p, NORMAL, "Progress", f"step {i}")
        await rec.flush()
    finally:
        await rec.stop()
    evs = await events_about(client, ns, "noisy")
    plain = sorted(e.message or "" for e in evs if not (e.message or "").startswith(COMBINED_PREFIX))
    # steps 0 and 1 as themselves; steps 2..5 folded into one combined event counted 4 times
    assert plain == ["step 0", "step 1"]
    combined = [e for e in evs if (e.message or "").startswith(COMBINED_PREFIX)]
    assert len(combined) == 1 and combined[0].count == 4
    assert combined[0].message == COMBINED_PREFIX + "step 5"
    assert rec.dropped == 2


async def test_cluster_scoped_objects_get_events_in_default(client: Client) -> None:
    name = unique("evnode")
    node = await client.create(Node(metadata=ObjectMeta(name=name)))
    rec = EventRecorder(client, "node-controller")
    rec.start()
    try:
        rec.event(node, NORMAL, "RegisteredNode", f"Node {name} event: Registered Node {name}")
        await rec.flush()
    finally:
        await rec.stop()
        await client.delete(Node, name)
    evs = await events_about(client, "default", name)
    assert [e.reason for e in evs] == ["RegisteredNode"]
    assert evs[0].involved_object.kind == "Node" and evs[0].involved_object.namespace is None


async def test_event_never_blocks_or_raises(client: Client, ns: str) -> None:
    rec = EventRecorder(client, "x", queue_size=2, workers=1)  # not started: the queue fills up
    p = pod("ghost", ns)
    for i in range(5):
        rec.event(p, NORMAL, "R", f"m{i}")
    rec.event(object(), NORMAL, "R", "not an object")  # logged and dropped, not raised
    assert rec.dropped == 4
    assert isinstance(p, Pod)
