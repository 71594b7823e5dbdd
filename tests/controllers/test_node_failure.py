"""A node whose real kubelet process dies (kill -9), end to end: `skiff kubelet --runtime hollow` and
`skiff controller-manager` as processes against a live API server.

The kubelet renews its Lease every 10 s, so the grace period is shortened to 20 s (Kubernetes keeps
4 renewals in 40 s; 2 here), the monitor period to 1 s. A second, healthy node keeps the controller out
of master disruption (no node Ready at all: nothing is evicted). What a user sees: a kubelet paused
(SIGSTOP) makes its node Ready=Unknown with the unreachable taints, and once resumed it reports Ready
again at once, the taints go; killed -9, the node goes Unknown again, a pod tolerating that for 2 s is
evicted, one with the API server's default 300 s tolerations stays; once the node object is deleted,
pod GC removes its pods.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from skiff.api.core import Node, Pod, Toleration
from skiff.client import ApiError, Client
from tests.fixtures.apiserver import free_port
from tests.fixtures.processes import skiff_components

from ..client.util import eventually, namespace
from .util import cond, node_pod, ready_status, taint, taints_of

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
FLAGS = ["--node-monitor-period=1s", "--node-monitor-grace-period=20s", "--pod-gc-period=1s"]


@pytest.fixture
def processes(apiserver: Any, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    kc = apiserver.kubeconfig

    def kubelet(node: str) -> list[str]:
        hollow = ["--runtime", "hollow", "--address", "127.0.0.1", "--port", str(free_port())]
        return ["kubelet", "--kubeconfig", kc, "--node-name", node, *hollow]

    commands = {
        "kubelet": kubelet("doomed"),
        "healthy": kubelet("healthy"),
        "cm": ["controller-manager", "--kubeconfig", kc, *FLAGS],
    }
    with skiff_components(commands, tmp_path) as procs:
        yield procs


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


async def _node(client: Client, name: str = "doomed") -> Node | None:
    try:
        return await client.get(Node, name)
    except ApiError as e:
        if e.not_found:
            return None
        raise


async def _pod(client: Client, ns: str, name: str) -> Pod | None:
    try:
        return await client.get(Pod, name, ns)
    except ApiError as e:
        if e.not_found:
            return None
        raise


async def test_kubelet_killed_node_unreachable_pods_evicted_then_collected(
    client: Client, processes: dict[str, subprocess.Popen[bytes]]
) -> None:
    async def ready(name: str = "doomed") -> bool:
        node = await _node(client, name)
        return node is not None and ready_status(node) == "True" and not taints_of(node)

    async def unreachable() -> Node | None:
        node = await _node(client)
        ok = node is not None and (UNREACHABLE, "NoExecute") in taints_of(node)
        return node if ok and ready_status(node) == "Unknown" else None

    await eventually(ready, timeout=60, what="the hollow node registered Ready")
    await eventually(lambda: ready("healthy"), timeout=60, what="the healthy node registered Ready")
    async with namespace(client, "nf") as ns:

        async def running(name: str) -> bool:
            p = await _pod(client, ns, name)
            return p is not None and p.status is not None and p.status.phase == "Running"

        await client.create(node_pod("default", ns, "doomed"))  # the API server adds 300 s tolerations
        await eventually(lambda: running("default"), timeout=60, what="default Running")
        tols = {
            (t.key, t.toleration_seconds)
            for t in (await client.get(Pod, "default", ns)).spec.tolerations or ()
        }
        assert {(UNREACHABLE, 300), (NOT_READY, 300)} <= tols

        # Paused: no heartbeats, the node looks gone; resumed, it says Ready again at once (its own
        # view of its status never changed: it must notice the controller's Unknown on the server).
        processes["kubelet"].send_signal(signal.SIGSTOP)
        await eventually(unreachable, timeout=120, what="paused: Ready=Unknown and the unreachable taint")
        processes["kubelet"].send_signal(signal.SIGCONT)
        await eventually(ready, timeout=60, what="resumed: Ready again, taints removed")
        assert (await client.get(Pod, "default", ns)).metadata.deletion_timestamp is None

        async def pod_ready_again() -> bool:
            p = await _pod(client, ns, "default")
            return p is not None and cond(p, "Ready") is not None and cond(p, "Ready").status == "True"

        await eventually(pod_ready_again, timeout=60, what="resumed: the pod the controller marked not Ready")

        short = [
            Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute", toleration_seconds=2),
            Toleration(key=NOT_READY, operator="Exists", effect="NoExecute", toleration_seconds=2),
        ]
        await client.create(node_pod("short", ns, "doomed", short))
        await eventually(lambda: running("short"), timeout=60, what="short Running")

        processes["kubelet"].kill()  # kill -9: no goodbye, no more lease renewals
        processes["kubelet"].wait(10)

        node = await eventually(unreachable, timeout=120, what="Ready=Unknown and the unreachable taint")
        assert cond(node, "Ready").reason == "NodeStatusUnknown"
        assert (UNREACHABLE, "NoSchedule") in taints_of(node)
        t = taint(node, UNREACHABLE, "NoExecute")
        assert t is not None and t.time_added

        async def evicted() -> Pod | None:
            p = await _pod(client, ns, "short")
            return p if p is None or p.metadata.deletion_timestamp else None

        await eventually(evicted, timeout=60, what="the 2 s pod evicted")
        kept = await client.get(Pod, "default", ns)
        assert kept.metadata.deletion_timestamp is None, "300 s tolerations: not evicted yet"
        assert cond(kept, "Ready").status == "False"

        # The node is gone for good: its pods go with it (pod GC, after the quarantine).
        await client.delete(Node, "doomed")

        async def collected() -> bool:
            return await _pod(client, ns, "default") is None and await _pod(client, ns, "short") is None

        await eventually(collected, timeout=120, what="the deleted node's pods removed")
