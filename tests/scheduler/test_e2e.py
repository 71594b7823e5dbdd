"""The scheduler through a live API server: nodes are API objects (no kubelet), pods are created by the
test, and what a user sees is checked: spec.nodeName, events, the PodScheduled condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from skiff.api.codec import from_builtins
from skiff.api.core import Node, Pod
from skiff.api.scheduling import PriorityClass
from tests.fixtures.apiserver import APIServerHandle, start

from .e2e import Cluster, cluster, eventually

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerHandle]:
    handle, procs = start(tmp_path_factory.mktemp("scheduler-e2e") / "skiff")
    try:
        yield handle
    finally:
        for p in procs:
            p.stop()


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


def required(*exprs: dict[str, Any]) -> dict[str, Any]:
    term = {"matchExpressions": list(exprs)}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


async def test_resources_events_and_condition(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        small = await c.add_node("small", cpu="1")
        big = await c.add_node("big", cpu="4")
        await c.start()
        await c.create_pod("web", cpu="2")
        assert await c.wait_bound("web") == big
        msg = await c.wait_event("web", "Scheduled")
        assert msg == f"Successfully assigned {c.ns}/web to {big}"
        await c.create_pod("huge", cpu="8")
        msg = await c.wait_event("huge", "FailedScheduling")
        assert msg.startswith(
            "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available:"
        )
        cond = await eventually(lambda: c.condition("huge"), what="PodScheduled condition")
        assert (cond.status, cond.reason) == ("False", "Unschedulable")
        assert cond.message.startswith("0/2 nodes are available: 2 Insufficient cpu.")
        assert small  # a node is added: the unschedulable pod is retried and fits
        huge_node = await c.add_node("huge", cpu="16")
        assert await c.wait_bound("huge") == huge_node


async def test_selectors_and_affinity_operators(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        a = await c.add_node("a", labels={"disk": "ssd", "gen": "3"})
        b = await c.add_node("b", labels={"disk": "hdd", "gen": "5", "gpu": "yes"})
        await c.start()
        cases = {
            "sel": ({"nodeSelector": {"disk": "ssd"}}, a),
            "in": ({"affinity": required(expr("disk", "In", "hdd", "nvme"))}, b),
            "notin": ({"affinity": required(expr("disk", "NotIn", "hdd"))}, a),
            "exists": ({"affinity": required(expr("gpu", "Exists"))}, b),
            "absent": ({"affinity": required(expr("gpu", "DoesNotExist"))}, a),
            "gt": ({"affinity": required(expr("gen", "Gt", "4"))}, b),
            "lt": ({"affinity": required(expr("gen", "Lt", "4"))}, a),
        }
        for name, (spec, _) in cases.items():
            await c.create_pod(name, **spec)
        for name, (_, want) in cases.items():
            assert await c.wait_bound(name) == want, name
        await c.create_pod("nowhere", nodeSelector={"disk": "tape"})
        msg = await c.wait_event("nowhere", "FailedScheduling")
        assert msg.startswith("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")


async def test_taints_tolerations_and_cordon(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        gpu = await c.add_node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}])
        plain = await c.add_node("plain")
        await c.start()
        await c.create_pod("p1")
        assert await c.wait_bound("p1") == plain
        tol = [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
        await c.create_pod("p2", tolerations=tol, nodeSelector={"kubernetes.io/hostname": gpu})
        assert await c.wait_bound("p2") == gpu
        # cordon: kubectl cordon sets spec.unschedulable
        await c.client.patch(Node, plain, {"spec": {"unschedulable": True}})
        await asyncio.sleep(0.3)
        await c.create_pod("p3")
        msg = await c.wait_event("p3", "FailedScheduling")
        assert "1 node(s) had untolerated taint {gpu: true}" in msg
        assert "1 node(s) were unschedulable" in msg
        await c.client.patch(Node, plain, {"spec": {"unschedulable": False}})
        assert await c.wait_bound("p3") == plain


async def test_host_ports(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        await c.add_node("n1")
        await c.add_node("n2")
        await c.start()
        ports = [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}]
        for i in range(3):
            await c.create_pod(f"hp{i}", containers=ports)
        names = [f"hp{i}" for i in range(3)]
        assert await eventually(lambda: _bound_count(c, names, 2), what="two host-port pods bound") == 2
        unbound = [n for n in names if not (await c.pod(n)).spec.node_name]  # type: ignore[union-attr]
        assert len(unbound) == 1
        loser = unbound[0]
        msg = await c.wait_event(loser, "FailedScheduling")
        assert "2 node(s) didn't have free ports for the requested pod ports" in msg


async def _bound_count(c: Cluster, names: list[str], want: int) -> int | None:
    n = 0
    for name in names:
        p = await c.pod(name)
        if p.spec and p.spec.node_name:
            n += 1
    return n if n >= want else None


async def test_pod_affinity_and_anti_affinity(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        names = [await c.add_node(f"n{i}") for i in range(3)]
        await c.start()
        anti = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
        for i in range(3):
            await c.create_pod(f"db{i}", labels={"app": "db"}, affinity=anti)
        placed = {await c.wait_bound(f"db{i}") for i in range(3)}
        assert placed == set(names)
        await c.create_pod("db3", labels={"app": "db"}, affinity=anti)
        msg = await c.wait_event("db3", "FailedScheduling")
        assert "node(s) didn't satisfy existing pods anti-affinity rules" in msg
        aff = {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app": "cache"}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        }
        await c.create_pod("cache", labels={"app": "cache"})
        where = await c.wait_bound("cache")
        await c.create_pod("web", affinity=aff)
        assert await c.wait_bound("web") == where


async def test_topology_spread(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        zone = {}
        for i in range(4):
            n = await c.add_node(f"n{i}", labels={"zone": f"z{i % 2}"})
            zone[n] = f"z{i % 2}"
        await c.start()
        spread = [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "s"}},
            }
        ]
        for i in range(6):
            await c.create_pod(f"s{i}", labels={"app": "s"}, topologySpreadConstraints=spread)
        counts = {"z0": 0, "z1": 0}
        for i in range(6):
            counts[zone[await c.wait_bound(f"s{i}")]] += 1
        assert counts == {"z0": 3, "z1": 3}


async def test_scheduling_gates(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        n = await c.add_node("n")
        await c.start()
        await c.create_pod("gated", schedulingGates=[{"name": "example.com/wait"}])
        await c.create_pod("free")
        await c.wait_bound("free")
        p = await c.pod("gated")
        assert not p.spec.node_name  # type: ignore[union-attr]
        assert not [e for e in await c.events("gated") if e.reason == "FailedScheduling"]
        await c.client.patch(Pod, "gated", {"spec": {"schedulingGates": None}}, c.ns)
        assert await c.wait_bound("gated") == n


async def test_image_locality(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        img = [{"names": ["docker.io/library/bigimage:1.0"], "sizeBytes": 900 * 1024 * 1024}]
        await c.add_node("empty1")
        has = await c.add_node("has", images=img)
        await c.add_node("empty2")
        await c.start()
        await c.create_pod("i", containers=[{"name": "c", "image": "bigimage:1.0"}])
        assert await c.wait_bound("i") == has


async def _act_as_kubelet(c: Cluster, stop: asyncio.Event) -> None:
    """No kubelet runs here: finish graceful deletions the way a kubelet would."""
    while not stop.is_set():
        for p in (await c.client.list(Pod, c.ns)).items:
            if p.metadata.deletion_timestamp:
                await c.client.delete(Pod, p.metadata.name or "", c.ns, grace_period_seconds=0)
        await asyncio.sleep(0.1)


async def test_preemption(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        for name, value in ((f"low-{c.tag}", 10), (f"high-{c.tag}", 1000)):
            pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}}
            await c.client.create(from_builtins(PriorityClass, {**pc, "value": value}))
        n = await c.add_node("n", cpu="2")
        await c.start()
        await c.create_pod("victim", cpu="1500m", priorityClassName=f"low-{c.tag}")
        assert await c.wait_bound("victim") == n
        stop = asyncio.Event()
        kubelet = asyncio.get_running_loop().create_task(_act_as_kubelet(c, stop))
        try:
            await c.create_pod("vip", cpu="1500m", priorityClassName=f"high-{c.tag}")
            msg = await c.wait_event("victim", "Preempted")
            assert msg.startswith("Preempted by pod ") and msg.endswith(f" on node {n}")
            assert await c.wait_bound("vip") == n
        finally:
            stop.set()
            await kubelet


async def test_gang_all_or_nothing(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        for i in range(3):
            await c.add_node(f"n{i}", cpu="1")
        await c.start()

        def member(group: str, n: int, timeout: int = 30) -> dict[str, Any]:
            return {
                "cpu": "1",
                "labels": {"skiff.io/gang": group},
                "annotations": {
                    "skiff.io/gang-min-member": str(n),
                    "skiff.io/gang-timeout-seconds": str(timeout),
                },
            }

        for i in range(3):
            await c.create_pod(f"a{i}", **member("a", 3))
        assert len({await c.wait_bound(f"a{i}") for i in range(3)}) == 3
        # group b needs 2 at once; there is no room left: none is bound, and the reason is told
        for i in range(2):
            await c.create_pod(f"b{i}", **member("b", 2, timeout=1))
        await c.wait_event("b0", "FailedScheduling")
        await c.client.delete(Pod, "a0", c.ns, grace_period_seconds=0)
        # one slot frees: one member fits and waits at Permit, then gives its reservation back
        msg = await c.wait_event("b0", "FailedScheduling", "reservations released", timeout=20)
        assert "of 2 members could be placed within 1s" in msg
        for i in range(2):
            assert not (await c.pod(f"b{i}")).spec.node_name  # type: ignore[union-attr]


async def test_deadline_passed(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        await c.add_node("n")
        await c.start()
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        await c.create_pod("late", annotations={"skiff.io/deadline": past})
        msg = await c.wait_event("late", "DeadlineExceeded")
        assert "has passed" in msg
        assert not (await c.pod("late")).spec.node_name  # type: ignore[union-attr]


async def test_invalid_pod_is_reported_not_fatal(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        n = await c.add_node("n")
        await c.start()
        await c.create_pod("bad", annotations={"skiff.io/deadline": "not-a-time"})
        msg = await c.wait_event("bad", "FailedScheduling")
        assert "invalid pod" in msg and "skiff.io/deadline" in msg
        await c.create_pod("good")
        assert await c.wait_bound("good") == n


async def test_leader_failover(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        await c.add_node("n")
        le = {"leaderElect": True, "resourceName": f"sched-{c.tag}", "resourceNamespace": c.ns}
        a = await c.start({"leaderElection": le}, identity="a")
        await eventually(lambda: a.leading.is_set(), what="a leads")
        b = await c.start({"leaderElection": le}, identity="b")
        await c.create_pod("one")
        await c.wait_bound("one")
        assert a.stats.bound == 1 and b.stats.bound == 0 and not b.leading.is_set()
        a.stop()  # the leader goes away (releasing its Lease); the other takes over
        await eventually(lambda: b.leading.is_set(), timeout=30, what="b takes over")
        await c.create_pod("two")
        await c.wait_bound("two")
        assert b.stats.bound == 1


async def test_profiles_and_foreign_scheduler_names(server: APIServerHandle) -> None:
    async with cluster(server.kubeconfig) as c:
        a = await c.add_node("a", cpu="2")
        b = await c.add_node("b", cpu="8")
        cfg = {
            "leaderElection": {"leaderElect": False},
            "profiles": [
                {"schedulerName": "default-scheduler"},
                {
                    "schedulerName": "bin-packer",
                    "plugins": {
                        "score": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeResourcesFit"}]}
                    },
                    "pluginConfig": [
                        {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}
                    ],
                },
            ],
        }
        await c.start(cfg)
        await c.create_pod("spread-out", cpu="1")
        assert await c.wait_bound("spread-out") == b  # least allocated: the bigger node
        await c.create_pod("packed", cpu="1", schedulerName="bin-packer")
        assert await c.wait_bound("packed") == a  # most allocated: the fuller node (50% vs 25%)
        await c.create_pod("theirs", schedulerName="someone-else")
        await c.create_pod("after")
        await c.wait_bound("after")
        assert not (await c.pod("theirs")).spec.node_name  # type: ignore[union-attr]
