"""The kubelet's behaviour on the process runtime (fast: no containers to create)."""

from __future__ import annotations

from skiff.api import core
from skiff.api.coordination import Lease
from tests.kubelet.conftest import Cluster, create, cstatus, pod_manifest, ready, running


async def test_node_registration_and_lease(cluster: Cluster) -> None:
    k = await cluster.kubelet("process", capacity={"cpu": "4", "memory": "8Gi", "pods": "110"})
    node = await cluster.client.get(core.Node, k.node)
    labels = node.metadata.labels or {}
    assert labels["kubernetes.io/hostname"] == k.node and labels["kubernetes.io/os"] == "linux"
    assert "kubernetes.io/arch" in labels
    assert node.status is not None
    assert node.status.capacity == {
        "cpu": "4",
        "memory": "8Gi",
        "pods": "110",
        **{k_: v for k_, v in node.status.capacity.items() if k_ == "ephemeral-storage"},
    }
    assert node.status.allocatable == node.status.capacity
    conds = {c.type: c.status for c in node.status.conditions or []}
    assert conds == {
        "Ready": "True",
        "MemoryPressure": "False",
        "DiskPressure": "False",
        "PIDPressure": "False",
    }
    assert node.status.addresses and node.status.addresses[0].type == "InternalIP"
    assert node.status.daemon_endpoints and node.status.daemon_endpoints.kubelet_endpoint
    assert node.status.daemon_endpoints.kubelet_endpoint.port == k.agent.port
    info = node.status.node_info
    assert info and info.kubelet_version.startswith("v1.") and info.container_runtime_version
    assert "skiff.io/usage" in (node.metadata.annotations or {})
    lease = await cluster.client.get(Lease, k.node, "kube-node-lease")
    assert lease.spec.holder_identity == k.node and lease.spec.renew_time


async def test_pod_runs_with_env_and_reports_status(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    await create(
        cluster.client,
        pod_manifest(
            "hello",
            k.node,
            {
                "name": "main",
                "image": "busybox:1.35",
                "command": ["sh", "-c", "echo hi $(GREETING) $POD; sleep 30"],
                "env": [
                    {"name": "GREETING", "value": "there"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                ],
            },
        ),
    )
    pod = await cluster.wait_pod("hello", lambda p: running(p) and ready(p))
    assert pod.status is not None
    assert pod.status.pod_ip == "127.0.0.1" and pod.status.host_ip == "127.0.0.1"
    assert pod.status.start_time and pod.status.qos_class == "BestEffort"
    s = cstatus(pod, "main")
    assert s.ready and s.started and s.restart_count == 0
    assert s.state and s.state.running and s.container_id and s.container_id.startswith("process://")
    types = {c.type for c in pod.status.conditions or []}
    assert {"PodScheduled", "Initialized", "ContainersReady", "Ready"} <= types
    _, out, _ = await cluster.kubectl("logs", "hello")
    assert out == "hi there hello\n"
