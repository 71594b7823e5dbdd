"""Pod GC on a live API server: orphaned pods, terminated pods beyond the threshold."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from skiff.api.core import Node, Pod, PodStatus
from skiff.client import ApiError, Client

from ..client.util import eventually, namespace, pod
from .util import FAST, FakeKubelet, cond, node_pod, running_manager


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


async def _gone(client: Client, ns: str, name: str) -> bool:
    try:
        await client.get(Pod, name, ns)
    except ApiError as e:
        return e.not_found
    return False


async def test_pods_on_vanished_nodes_are_deleted(client: Client, apiserver: Any) -> None:
    kubelet = FakeKubelet(client, "alive")
    await kubelet.register()
    async with namespace(client, "gc") as ns:
        await client.create(node_pod("orphan", ns, "ghost"))
        await client.create(node_pod("kept", ns, "alive"))
        options = dataclasses.replace(FAST, controllers=("podgc",))
        async with running_manager(apiserver.kubeconfig, options) as manager:
            await eventually(lambda: _gone(client, ns, "orphan"), what="orphan deleted")
            assert manager.podgc is not None and manager.podgc.deleted >= 1
            assert (await client.get(Pod, "kept", ns)).metadata.deletion_timestamp is None

            # A node deleted later takes its pods with it (after the quarantine).
            watched = await client.create(node_pod("late", ns, "alive"))
            await kubelet.stop()
            await client.delete(Node, "alive")
            await eventually(lambda: _gone(client, ns, "late"), what="pods of the deleted node")
            assert watched.metadata.uid
    await kubelet.stop()


async def test_terminated_pods_beyond_the_threshold_are_deleted_oldest_first(
    client: Client, apiserver: Any
) -> None:
    async with namespace(client, "gct") as ns:
        for i in range(4):
            created = await client.create(pod(f"t{i}", ns))
            created.status = PodStatus(phase="Succeeded" if i % 2 == 0 else "Failed")
            await client.update_status(created)
        await client.create(pod("running", ns))
        options = dataclasses.replace(FAST, controllers=("podgc",), terminated_pod_gc_threshold=2)
        async with running_manager(apiserver.kubeconfig, options):
            await eventually(lambda: _gone(client, ns, "t0"), what="t0 deleted")
            await eventually(lambda: _gone(client, ns, "t1"), what="t1 deleted")
            left = sorted(p.metadata.name or "" for p in (await client.list(Pod, ns)).items)
            assert left == ["running", "t2", "t3"]


async def test_orphan_marked_failed_before_deletion(client: Client, apiserver: Any) -> None:
    # Seen through a watch: the pod GC marks a running orphan Failed with DisruptionTarget first.
    async with namespace(client, "gcw") as ns:
        created = await client.create(node_pod("runner", ns, "nowhere"))
        created.status = PodStatus(phase="Running")
        await client.update_status(created)
        start = await client.list(Pod, ns)
        seen: list[Pod] = []
        options = dataclasses.replace(FAST, controllers=("podgc",))
        async with running_manager(apiserver.kubeconfig, options):
            async for ev in client.watch(
                Pod, ns, resource_version=start.resource_version, timeout_seconds=60
            ):
                if ev.type == "BOOKMARK":
                    continue
                seen.append(ev.object)
                if ev.type == "DELETED":
                    break
        marked = [p for p in seen if p.status is not None and p.status.phase == "Failed"]
        assert marked, [p.status for p in seen]
        target = cond(marked[0], "DisruptionTarget")
        assert target is not None and target.reason == "DeletionByPodGC"


async def test_terminating_pods_on_an_out_of_service_node_are_deleted(client: Client, apiserver: Any) -> None:
    """A node an administrator declared out of service (taint node.kubernetes.io/out-of-service) and not
    Ready: its terminating pods are force-deleted; a pod not being deleted stays."""
    kubelet = FakeKubelet(client, "dead")
    await kubelet.register(ready="False")
    await kubelet.stop()
    async with namespace(client, "oos") as ns:
        await client.create(node_pod("stuck", ns, "dead"))
        await client.create(node_pod("kept", ns, "dead"))
        await client.delete(Pod, "stuck", ns)  # bound: only marked, no kubelet will finish it
        assert (await client.get(Pod, "stuck", ns)).metadata.deletion_timestamp is not None
        taints = [
            {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}
        ]
        await client.patch(Node, "dead", {"spec": {"taints": taints}})
        options = dataclasses.replace(FAST, controllers=("podgc",))
        async with running_manager(apiserver.kubeconfig, options):
            await eventually(lambda: _gone(client, ns, "stuck"), what="the terminating pod deleted")
            assert (await client.get(Pod, "kept", ns)).metadata.deletion_timestamp is None
