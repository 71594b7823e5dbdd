"""DefaultPreemption, the FailedScheduling message, and skiff's extra plugins (gang, deadline,
load-aware, dataset locality)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from skiff.scheduler.framework import Code, CycleState, Diagnosis, fit_error_message
from skiff.scheduler.types import pod_info

from .util import Sim, node, pod, score_only


def test_fit_error_message_format() -> None:
    # kube-scheduler sorts the "<count> <reason>" strings, so "2 node(s)..." comes before "3 Insufficient..."
    d = Diagnosis(
        num_nodes=5, reasons={"Insufficient cpu": 3, "node(s) had untolerated taint {gpu: true}": 2}
    )
    d.post_filter_msg = "preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."
    assert fit_error_message(d) == (
        "0/5 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."
    )


def test_failed_scheduling_message_end_to_end() -> None:
    gpu = [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
    nodes = [node(f"n{i}", cpu="1") for i in range(3)] + [node(f"g{i}", taints=gpu) for i in range(2)]
    msg = Sim(nodes).schedule(pod("web", cpu="2"))
    assert msg == (
        "0/5 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 2 Preemption is not helpful for scheduling, "
        "3 No preemption victims found for incoming pod."
    )


def test_preemption_picks_lowest_priority_victims() -> None:
    nodes = [node("n1", cpu="2"), node("n2", cpu="2")]
    existing = [
        pod("a", node="n1", cpu="1", priority=100),
        pod("b", node="n1", cpu="1", priority=100),
        pod("c", node="n2", cpu="1", priority=10),
        pod("d", node="n2", cpu="1", priority=50),
    ]
    s = Sim(nodes, existing)
    msg = s.schedule(pod("p", cpu="1", priority=1000))
    assert msg.startswith("0/2 nodes are available: 2 Insufficient cpu.")
    # n2's highest victim (10) is lower than n1's (100); only one victim is needed, the least important
    assert s.last_post.nominated_node == "n2"
    assert [v.name for v in s.last_post.victims] == ["c"]


def test_preemption_minimum_victims_and_reprieve() -> None:
    nodes = [node("n1", cpu="3")]
    existing = [
        pod("a", node="n1", cpu="1", priority=1),
        pod("b", node="n1", cpu="1", priority=2),
        pod("c", node="n1", cpu="1", priority=3),
    ]
    s = Sim(nodes, existing)
    s.schedule(pod("p", cpu="2", priority=10))
    # two must go; the most important (c) is reprieved first
    assert sorted(v.name for v in s.last_post.victims) == ["a", "b"]


def test_preemption_criteria_sum_then_count() -> None:
    nodes = [node("n1", cpu="2"), node("n2", cpu="2")]
    # same highest priority (5); n1 sum 5+5, n2 sum 5+1 -> n2
    existing = [
        pod("a", node="n1", cpu="1", priority=5),
        pod("b", node="n1", cpu="1", priority=5),
        pod("c", node="n2", cpu="1", priority=5),
        pod("d", node="n2", cpu="1", priority=1),
    ]
    s = Sim(nodes, existing)
    s.schedule(pod("p", cpu="2", priority=10))
    assert s.last_post.nominated_node == "n2"


def test_preemption_not_for_higher_or_never() -> None:
    s = Sim([node("n1", cpu="1")], [pod("a", node="n1", cpu="1", priority=100)])
    msg = s.schedule(pod("p", cpu="1", priority=100))
    assert msg.endswith(
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )
    msg = s.schedule(pod("q", cpu="1", priority=1000, preemptionPolicy="Never"))
    assert msg.endswith("preemption: not eligible due to preemptionPolicy=Never.")


def test_preemption_reports_filter_reasons_when_victims_are_not_enough() -> None:
    s = Sim(
        [node("n1", cpu="2")],
        [pod("a", node="n1", cpu="1", priority=1), pod("b", node="n1", cpu="1", priority=100)],
    )
    msg = s.schedule(pod("p", cpu="2", priority=50))
    assert msg.endswith("preemption: 0/1 nodes are available: 1 Insufficient cpu.")


def test_nominated_pods_hold_their_place() -> None:
    s = Sim([node("n1", cpu="2")])
    big = pod_info(pod("big", cpu="2", priority=100))
    s.handle.nominated[big.key] = (big, "n1")
    assert "Insufficient cpu" in s.schedule(pod("small", cpu="1", priority=1))
    assert s.schedule(pod("bigger", cpu="1", priority=200)) == "n1"


# ---------------------------------------------------------------- deadlines


def test_deadline_orders_within_priority_and_refuses_late_pods() -> None:
    from skiff.scheduler.queue import QueuedPod

    s = Sim([node("n")])
    late = QueuedPod(pod_info(pod("late", annotations={"skiff.io/deadline": "2030-01-01T00:00:00Z"})), 1.0)
    soon = QueuedPod(pod_info(pod("soon", annotations={"skiff.io/deadline": "2029-01-01T00:00:00Z"})), 2.0)
    none = QueuedPod(pod_info(pod("none")), 0.5)
    ads = QueuedPod(pod_info(pod("ads", activeDeadlineSeconds=60, created="2028-01-01T00:00:00Z")), 3.0)
    high = QueuedPod(pod_info(pod("high", priority=5)), 9.0)
    order = sorted([late, soon, none, ads, high], key=s.fw.sort_key)
    assert [q.pod.name for q in order] == ["high", "ads", "soon", "late", "none"]
    msg = s.schedule(pod("old", annotations={"skiff.io/deadline": "2001-01-01T00:00:00Z"}))
    assert msg.startswith("0/1 nodes are available: pod's deadline 2001-01-01T00:00:00Z has passed.")
    assert s.events[-1][2] == "DeadlineExceeded"


def test_bad_deadline_annotation_is_a_pod_error() -> None:
    p = pod_info(pod("x", annotations={"skiff.io/deadline": "tomorrow"}))
    assert "skiff.io/deadline" in p.error


# ---------------------------------------------------------------- gangs


def gang_pod(name: str, group: str, n: int, cpu: str = "1", timeout: float = 30) -> dict:  # type: ignore[type-arg]
    return pod(
        name,
        cpu=cpu,
        labels={"skiff.io/gang": group},
        annotations={"skiff.io/gang-min-member": str(n), "skiff.io/gang-timeout-seconds": str(timeout)},
    )


async def test_gang_all_or_nothing() -> None:
    s = Sim([node("n1", cpu="2"), node("n2", cpu="2")])
    gang = s.fw.points["permit"][0]
    members = [pod_info(gang_pod(f"m{i}", "g", 3)) for i in range(3)]
    for m in members:
        gang.on_pod_add(m)  # type: ignore[attr-defined]
    waits = []
    for m in members:
        st = CycleState()
        node_name = s.fw.schedule(st, m).node
        s.cache.assume(m, node_name)
        assert s.fw.run_permit(st, m, node_name) is None
        waits.append(asyncio.ensure_future(s.fw.wait_on_permit(m)))
    results = await asyncio.gather(*waits)
    assert all(r.code == Code.SUCCESS for r in results)


async def test_gang_times_out_and_gives_back() -> None:
    s = Sim([node("n1", cpu="2")])
    gang = s.fw.points["permit"][0]
    members = [pod_info(gang_pod(f"m{i}", "g", 3, timeout=0.2)) for i in range(3)]
    for m in members:
        gang.on_pod_add(m)  # type: ignore[attr-defined]
    waits = []
    for m in members[:2]:
        st = CycleState()
        n = s.fw.schedule(st, m).node
        s.cache.assume(m, n)
        s.fw.run_permit(st, m, n)
        waits.append(asyncio.ensure_future(s.fw.wait_on_permit(m)))
    # the third does not fit while the first two hold their reservations
    assert "Insufficient cpu" in s.schedule(members[2])
    results = await asyncio.gather(*waits)
    assert all(r.code == Code.UNSCHEDULABLE for r in results)
    assert "only 2 of 3 members could be placed within 0.2s; reservations released" in results[0].message


def test_gang_needs_enough_pods() -> None:
    s = Sim([node("n1")])
    msg = s.schedule(gang_pod("m0", "g", 3))
    assert msg.startswith("0/1 nodes are available: pod group g has 1 of the 3 pods it needs.")


# ---------------------------------------------------------------- load-aware and datasets


def test_load_aware_prefers_idle_nodes() -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    busy = {"skiff.io/usage": json.dumps({"cpu": "3500m", "memory": "30Gi", "time": now})}
    idle = {"skiff.io/usage": json.dumps({"cpu": "100m", "memory": "1Gi", "time": now})}
    stale = {"skiff.io/usage": json.dumps({"cpu": "100m", "memory": "1Gi", "time": "2001-01-01T00:00:00Z"})}
    s = Sim(
        [node("busy", annotations=busy), node("idle", annotations=idle), node("stale", annotations=stale)],
        config=score_only("LoadAware"),
    )
    sc = s.scores(pod("p", cpu="500m", mem="1Gi"), "LoadAware")
    assert sc["idle"] > sc["busy"]
    # a stale report is ignored: that node is scored from its requests (none), like a node without one
    plain = Sim([node("x")], config=score_only("LoadAware"))
    plain.cache.add_node(s.cache.nodes[s.cache.index["idle"]])  # type: ignore[arg-type]
    assert sc["stale"] == plain.scores(pod("p", cpu="500m", mem="1Gi"), "LoadAware")["x"]
    assert Sim([node("busy", annotations=busy), node("idle", annotations=idle)]).schedule(pod("p")) == "idle"


def test_dataset_locality() -> None:
    nodes = [
        node("a", labels={"dataset.skiff.io/imagenet": "true"}),
        node("b", labels={"dataset.skiff.io/imagenet": "true", "dataset.skiff.io/coco": "true"}),
        node("c"),
    ]
    s = Sim(nodes, config=score_only("DatasetLocality"))
    p = pod("p", annotations={"skiff.io/datasets": "imagenet, coco"})
    assert s.scores(p, "DatasetLocality") == {"a": 50, "b": 100, "c": 0}
    assert Sim(nodes).schedule(p) == "b"


@pytest.mark.parametrize(
    "bad",
    [
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Bogus"}]}]
                    }
                }
            }
        },
        {
            "affinity": {
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}}]}
            }
        },
        {
            "topologySpreadConstraints": [
                {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        },
        {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "lots"}}}]},
    ],
)
def test_invalid_pods_are_reported_not_raised(bad: dict) -> None:  # type: ignore[type-arg]
    p = pod_info(pod("bad", **bad))
    assert p.error
