"""The node lifecycle controller on a live API server, with nodes whose 'kubelet' is the test.

Timings are shortened (grace 4 s, monitor 0.2 s); every wait is for an outcome, never for a duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from skiff.api.core import Event, Node, Pod, PodCondition, PodStatus, Taint, Toleration
from skiff.client import Client
from skiff.controllers.nodelifecycle import (
    FULL_DISRUPTION,
    PARTIAL_DISRUPTION,
    ZONE_NORMAL,
    zone_state,
)

from ..client.util import eventually, namespace
from .util import FakeKubelet, cond, node_pod, ready_status, running_manager, taint, taints_of

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


async def test_unreachable_node_is_tainted_its_pods_evicted_and_recovers(
    client: Client, apiserver: Any
) -> None:
    dying, healthy = FakeKubelet(client, "dying"), FakeKubelet(client, "healthy")
    await dying.register()
    await healthy.register()
    async with namespace(client, "nlc") as ns:
        short = [
            Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute", toleration_seconds=1),
            Toleration(key=NOT_READY, operator="Exists", effect="NoExecute", toleration_seconds=1),
        ]
        forever = [Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute")]
        await client.create(node_pod("short", ns, "dying", short))
        staying = await client.create(node_pod("forever", ns, "dying", forever))
        # What the API server's defaults give a pod: 300 s for not-ready and unreachable.
        slow = [
            Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute", toleration_seconds=300),
            Toleration(key=NOT_READY, operator="Exists", effect="NoExecute", toleration_seconds=300),
        ]
        await client.create(node_pod("slow", ns, "dying", slow))
        await client.create(node_pod("elsewhere", ns, "healthy", short))
        staying.status = PodStatus(phase="Running", conditions=[PodCondition(type="Ready", status="True")])
        await client.update_status(staying)

        async with running_manager(apiserver.kubeconfig) as manager:
            assert manager.node_lifecycle is not None
            await dying.stop()  # the kubelet dies: no more lease renewals, no more status

            node = await eventually(
                lambda: _node_if(client, "dying", lambda n: ready_status(n) == "Unknown"),
                what="Ready=Unknown",
            )
            ready = cond(node, "Ready")
            assert ready.reason == "NodeStatusUnknown"
            assert ready.message == "Kubelet stopped posting node status."
            for other in ("MemoryPressure", "DiskPressure", "PIDPressure"):
                assert cond(node, other).status == "Unknown"
                assert cond(node, other).reason == "NodeStatusNeverUpdated"

            node = await eventually(
                lambda: _node_if(client, "dying", lambda n: (UNREACHABLE, "NoExecute") in taints_of(n)),
                what="unreachable taint",
            )
            assert (UNREACHABLE, "NoSchedule") in taints_of(node)
            t = taint(node, UNREACHABLE, "NoExecute")
            assert t is not None and t.time_added

            # tolerationSeconds 1: evicted (bound, so deleted gracefully), with the DisruptionTarget.
            evicted = await eventually(
                lambda: _pod_if(client, ns, "short", lambda p: p.metadata.deletion_timestamp is not None),
                what="short evicted",
            )
            target = cond(evicted, "DisruptionTarget")
            assert target is not None and target.reason == "DeletionByTaintManager"
            await eventually(
                lambda: _has_event(client, ns, "short", "TaintManagerEviction"), what="eviction event"
            )

            # Tolerating forever, or for 300 s: still there. Marked not ready.
            kept = await client.get(Pod, "forever", ns)
            assert kept.metadata.deletion_timestamp is None
            assert cond(kept, "Ready").status == "False"
            assert (await client.get(Pod, "slow", ns)).metadata.deletion_timestamp is None

            # The node that kept its heartbeat all along is untouched.
            other = await client.get(Node, "healthy")
            assert ready_status(other) == "True" and not taints_of(other)
            assert (await client.get(Pod, "elsewhere", ns)).metadata.deletion_timestamp is None

            # The kubelet comes back: renews its lease and posts Ready=True; the taints go.
            dying.start()
            await dying.post_ready("True")
            node = await eventually(
                lambda: _node_if(client, "dying", lambda n: not taints_of(n)), what="taints removed"
            )
            assert ready_status(node) == "True"
            assert manager.node_lifecycle.evictions == 1
        await healthy.stop()
        await dying.stop()


async def test_not_ready_and_unschedulable_taints(client: Client, apiserver: Any) -> None:
    kubelet = FakeKubelet(client, "sick")
    await kubelet.register()
    healthy = FakeKubelet(client, "fine")  # one Ready node: no master disruption
    await healthy.register()
    # A user's own taint is left alone.
    await client.patch(
        Node, "sick", {"spec": {"taints": [{"key": "team", "value": "a", "effect": "NoSchedule"}]}}
    )
    async with running_manager(apiserver.kubeconfig):
        await kubelet.post_ready("False")  # alive (lease renewed) but not ready
        node = await eventually(
            lambda: _node_if(client, "sick", lambda n: (NOT_READY, "NoExecute") in taints_of(n)),
            what="not-ready taint",
        )
        assert taints_of(node) == {
            (NOT_READY, "NoExecute"),
            (NOT_READY, "NoSchedule"),
            ("team", "NoSchedule"),
        }
        assert ready_status(node) == "False"  # alive: the controller does not overwrite it

        await client.patch(Node, "sick", {"spec": {"unschedulable": True}})
        await kubelet.post_ready("True")
        node = await eventually(
            lambda: _node_if(
                client,
                "sick",
                lambda n: (
                    taints_of(n)
                    == {("node.kubernetes.io/unschedulable", "NoSchedule"), ("team", "NoSchedule")}
                ),
            ),
            what="only unschedulable and the user's taint",
        )
    await kubelet.stop()
    await healthy.stop()


async def test_noexecute_taint_evicts_intolerant_pods_at_once(client: Client, apiserver: Any) -> None:
    kubelet = FakeKubelet(client, "dedicated")
    await kubelet.register()
    async with namespace(client, "nx") as ns, running_manager(apiserver.kubeconfig):
        tolerant = [Toleration(key="dedicated", operator="Equal", value="db", effect="NoExecute")]
        await client.create(node_pod("db", ns, "dedicated", tolerant))
        await client.create(node_pod("web", ns, "dedicated"))
        taints = [Taint(key="dedicated", value="db", effect="NoExecute")]
        await client.patch(Node, "dedicated", {"spec": {"taints": msgspec.to_builtins(taints)}})
        await eventually(
            lambda: _pod_if(client, ns, "web", lambda p: p.metadata.deletion_timestamp is not None),
            what="web evicted",
        )
        assert (await client.get(Pod, "db", ns)).metadata.deletion_timestamp is None
    await kubelet.stop()


def test_zone_states_as_kubernetes_counts_them() -> None:
    assert zone_state(["True", "True"]) == ZONE_NORMAL
    assert zone_state(["Unknown"]) == FULL_DISRUPTION
    assert zone_state(["False", None]) == FULL_DISRUPTION
    # More than 2 not ready and at least 55 %: partial; 2 of 2 + 1 ready is not (only 2 not ready).
    assert zone_state(["Unknown", "Unknown", "False", "True"]) == PARTIAL_DISRUPTION
    assert zone_state(["Unknown", "Unknown", "True"]) == ZONE_NORMAL
    assert zone_state(["Unknown", "Unknown", "Unknown", "True", "True", "True"]) == ZONE_NORMAL


async def test_master_disruption_no_node_ready_evicts_nothing(client: Client, apiserver: Any) -> None:
    """Every heartbeat stops at once (the trouble is on the control plane's side): the nodes go
    Unknown and unschedulable, but no NoExecute taint, so no eviction, until a node is Ready again."""
    a, b = FakeKubelet(client, "a"), FakeKubelet(client, "b")
    await a.register()
    await b.register()
    # Both fall silent before the controller starts: it sees them cross the grace period in one pass.
    await a.stop()
    await b.stop()
    async with namespace(client, "md") as ns, running_manager(apiserver.kubeconfig) as manager:
        assert manager.node_lifecycle is not None
        brief = [Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute", toleration_seconds=1)]
        await client.create(node_pod("bare", ns, "b", brief))

        async def both_unknown() -> bool:
            nodes = [await client.get(Node, n) for n in ("a", "b")]
            return all(
                ready_status(n) == "Unknown" and (UNREACHABLE, "NoSchedule") in taints_of(n) for n in nodes
            )

        await eventually(both_unknown, what="both nodes Unknown and unschedulable")
        assert manager.node_lifecycle.master_disruption
        for n in ("a", "b"):
            assert (UNREACHABLE, "NoExecute") not in taints_of(await client.get(Node, n))
        assert (await client.get(Pod, "bare", ns)).metadata.deletion_timestamp is None

        # Node a is back: out of master disruption; b, still silent, is tainted NoExecute after a fresh
        # grace period, and its pod evicted.
        a.start()
        await a.post_ready("True")
        await eventually(
            lambda: _pod_if(client, ns, "bare", lambda p: p.metadata.deletion_timestamp is not None),
            what="bare evicted once a node is Ready again",
        )
        assert not manager.node_lifecycle.master_disruption
    await a.stop()


async def test_partial_disruption_in_a_small_cluster_adds_no_noexecute(
    client: Client, apiserver: Any
) -> None:
    kubelets = [FakeKubelet(client, f"p{i}") for i in range(4)]
    for k in kubelets:
        await k.register()
    for k in kubelets[:3]:  # silent before the controller starts: all seen failing in one pass
        await k.stop()
    async with running_manager(apiserver.kubeconfig) as manager:
        assert manager.node_lifecycle is not None

        async def three_unknown() -> bool:
            nodes = [await client.get(Node, f"p{i}") for i in range(3)]
            return all((UNREACHABLE, "NoSchedule") in taints_of(n) for n in nodes)

        await eventually(three_unknown, what="three nodes Unknown and unschedulable")
        assert set(manager.node_lifecycle.zone_states.values()) == {PARTIAL_DISRUPTION}
        for i in range(3):
            assert (UNREACHABLE, "NoExecute") not in taints_of(await client.get(Node, f"p{i}"))
    await kubelets[3].stop()


async def _node_if(client: Client, name: str, pred: Any) -> Node | None:
    node = await client.get(Node, name)
    return node if pred(node) else None


async def _pod_if(client: Client, ns: str, name: str, pred: Any) -> Pod | None:
    p = await client.get(Pod, name, ns)
    return p if pred(p) else None


async def _has_event(client: Client, ns: str, name: str, reason: str) -> bool:
    evs = await client.list(Event, ns, field_selector={"involvedObject.name": name})
    return any(e.reason == reason for e in evs.items)
