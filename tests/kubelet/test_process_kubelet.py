"""The kubelet's behaviour on the process runtime (fast: no containers to create)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import kubernetes

from skiff.api import core
from skiff.api.coordination import Lease
from skiff.apiserver.auth.certs import HOLLOW_NODES, HOLLOW_USER
from skiff.client import ApiError, Client
from skiff.kubelet.kubelet import HollowKubelets
from skiff.runtime.hollow import HollowRuntime
from tests.auth.test_components import impersonating, refusals
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
    # kubectl and the official client read the node as it is.
    _, out, _ = await cluster.kubectl("describe", "node", k.node)
    assert "Ready" in out and "KubeletReady" in out and "Kubelet Version:" in out
    _, out, _ = await cluster.kubectl("get", "node", k.node, "-o", "wide")
    assert "Ready" in out and "v1.32.0" in out

    def read_node() -> object:
        api = kubernetes.client.CoreV1Api(
            kubernetes.config.new_client_from_config(cluster.apiserver.kubeconfig)
        )
        return api.read_node(k.node)

    official = await asyncio.to_thread(read_node)
    assert official.status.node_info.kubelet_version == "v1.32.0"  # type: ignore[attr-defined]


async def test_a_condition_another_component_set_survives_the_kubelets_report(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    other = {
        "type": "NetworkUnavailable",
        "status": "False",
        "reason": "RouteCreated",
        "message": "set by the network plugin",
    }
    await cluster.client.patch(
        core.Node, k.node, {"status": {"conditions": [other]}}, subresource="status", patch_type="strategic"
    )
    k.agent.ready = False  # something the kubelet must report: Ready becomes False
    await k.agent.update_status(force=True)
    node = await cluster.client.get(core.Node, k.node)
    conds = {c.type: c for c in (node.status.conditions if node.status else None) or []}
    assert conds["Ready"].status == "False"
    assert conds["NetworkUnavailable"].status == "False"
    assert conds["NetworkUnavailable"].reason == "RouteCreated"
    assert set(conds) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}


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

    def read_pod() -> object:
        api = kubernetes.client.CoreV1Api(
            kubernetes.config.new_client_from_config(cluster.apiserver.kubeconfig)
        )
        return api.read_namespaced_pod("hello", "default")

    official = await asyncio.to_thread(read_pod)
    assert official.status.container_statuses[0].state.running.started_at  # type: ignore[attr-defined]


def phase_is(*phases: str):
    return lambda p: bool(p.status and p.status.phase in phases)


async def test_init_containers_run_in_order_then_pod_succeeds(cluster: Cluster, tmp_path: Path) -> None:
    k = await cluster.kubelet("process")
    log = tmp_path / "order.log"
    init = [
        {"name": "first", "image": "x", "command": ["sh", "-c", f"echo first >> {log}"]},
        {"name": "second", "image": "x", "command": ["sh", "-c", f"echo second >> {log}"]},
    ]
    main = {"name": "main", "image": "x", "command": ["sh", "-c", f"echo main >> {log}"]}
    await create(
        cluster.client, pod_manifest("ordered", k.node, main, initContainers=init, restartPolicy="Never")
    )
    pod = await cluster.wait_pod("ordered", phase_is("Succeeded"))
    assert log.read_text() == "first\nsecond\nmain\n"
    assert pod.status is not None
    inits = pod.status.init_container_statuses or []
    assert [s.name for s in inits] == ["first", "second"]
    assert all(s.state and s.state.terminated and s.state.terminated.reason == "Completed" for s in inits)
    t = cstatus(pod, "main").state
    assert t and t.terminated and t.terminated.exit_code == 0
    conds = {c.type: c for c in pod.status.conditions or []}
    assert conds["Initialized"].status == "True" and conds["Ready"].status == "False"
    assert conds["Ready"].reason == "PodCompleted"


async def test_failing_init_container_with_never_fails_the_pod(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    init = [{"name": "setup", "image": "x", "command": ["sh", "-c", "exit 2"]}]
    main = {"name": "main", "image": "x", "command": ["sleep", "30"]}
    await create(
        cluster.client, pod_manifest("badinit", k.node, main, initContainers=init, restartPolicy="Never")
    )
    pod = await cluster.wait_pod("badinit", phase_is("Failed"))
    assert pod.status is not None
    s = (pod.status.init_container_statuses or [])[0]
    assert s.state and s.state.terminated and s.state.terminated.exit_code == 2
    main_state = cstatus(pod, "main").state
    assert main_state and main_state.waiting and main_state.waiting.reason == "PodInitializing"


async def test_restart_policy_on_failure(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    # Fails twice, then succeeds: OnFailure restarts it until it does, then the pod Succeeded.
    c = {"name": "flaky", "image": "x", "command": ["sh", "-c", "n=$(cat n 2>/dev/null || echo 0); exit 0"]}
    counter = cluster.tmp / "count"
    c["command"] = [
        "sh",
        "-c",
        f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ $n -ge 2 ]",
    ]
    await create(cluster.client, pod_manifest("flaky", k.node, c, restartPolicy="OnFailure"))
    pod = await cluster.wait_pod("flaky", phase_is("Succeeded"))
    s = cstatus(pod, "flaky")
    assert s.restart_count == 2
    assert s.last_state and s.last_state.terminated and s.last_state.terminated.exit_code == 1


async def test_startup_probe_gates_readiness(cluster: Cluster, tmp_path: Path) -> None:
    k = await cluster.kubelet("process")
    flag = tmp_path / "started"
    c = {
        "name": "app",
        "image": "x",
        "command": ["sleep", "60"],
        "startupProbe": {
            "exec": {"command": ["test", "-f", str(flag)]},
            "periodSeconds": 1,
            "failureThreshold": 30,
        },
        "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
    }
    await create(cluster.client, pod_manifest("gated", k.node, c))
    pod = await cluster.wait_pod("gated", running)
    s = cstatus(pod, "app")
    assert not s.started and not s.ready and not ready(pod)
    flag.write_text("")
    pod = await cluster.wait_pod("gated", ready)
    s = cstatus(pod, "app")
    assert s.started and s.ready and s.restart_count == 0


async def test_delete_runs_prestop_and_removes_the_pod(cluster: Cluster, tmp_path: Path) -> None:
    k = await cluster.kubelet("process")
    mark = tmp_path / "prestop"
    c = {
        "name": "app",
        "image": "x",
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"echo bye > {mark}"]}}},
    }
    await create(cluster.client, pod_manifest("bye", k.node, c, terminationGracePeriodSeconds=5))
    await cluster.wait_pod("bye", running)
    await cluster.kubectl("delete", "pod", "bye", "--timeout=60s")
    assert mark.read_text() == "bye\n"
    assert await k.runtime.list_containers() == []


async def test_static_pod_is_mirrored(cluster: Cluster, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "static.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\nspec:\n"
        "  containers:\n  - name: app\n    image: x\n    command: [sleep, '60']\n"
    )
    k = await cluster.kubelet("process", manifests=str(manifests))
    assert k.static is not None
    k.static.period = 0.5
    name = f"static-web-{k.node}"
    pod = await cluster.wait_pod(name, running)
    annotations = pod.metadata.annotations or {}
    assert annotations["kubernetes.io/config.source"] == "file" and annotations["kubernetes.io/config.mirror"]
    refs = pod.metadata.owner_references or []
    assert refs and refs[0].kind == "Node" and refs[0].name == k.node
    # Removing the manifest removes the mirror pod and its containers.
    (manifests / "static.yaml").unlink()
    for _ in range(300):
        try:
            await cluster.pod(name)
        except ApiError as exc:
            assert exc.not_found
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("mirror pod never removed")


async def test_kubelet_restart_adopts_process_containers(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    c = {"name": "app", "image": "x", "command": ["sleep", "60"]}
    await create(cluster.client, pod_manifest("adopt", k.node, c))
    pod = await cluster.wait_pod("adopt", running)
    before = cstatus(pod, "app").container_id
    node = k.node
    await cluster.stop(k)
    k2 = await cluster.kubelet("process", node=node)
    await asyncio.sleep(1)
    pod = await cluster.wait_pod("adopt", running)
    assert cstatus(pod, "app").container_id == before and cstatus(pod, "app").restart_count == 0
    assert len(await k2.runtime.list_containers()) == 1


async def test_hollow_nodes_run_pods(cluster: Cluster) -> None:
    # As `skiff up --runtime hollow` runs them: the hollow identity, not an admin (RBAC only).
    kc = impersonating(
        cluster.apiserver.kubeconfig, cluster.tmp / "hollow.kubeconfig", HOLLOW_USER, [HOLLOW_NODES]
    )
    client = Client.from_kubeconfig(kc)
    hollow = HollowKubelets(
        client,
        f"hollow-{uuid.uuid4().hex[:4]}",
        3,
        {"cpu": "8", "memory": "16Gi", "pods": "50"},
        lambda n: HollowRuntime(n),
    )
    await hollow.start()
    try:
        names = hollow.names
        nodes = await cluster.client.list(core.Node)
        by_name = {n.metadata.name: n for n in nodes.items}
        for name in names:
            node = by_name[name]
            assert node.status and node.status.capacity and node.status.capacity["pods"] == "50"
        c = {"name": "app", "image": "anything:1", "command": ["whatever"]}
        await create(cluster.client, pod_manifest("ghost", names[1], c))
        pod = await cluster.wait_pod("ghost", lambda p: running(p) and ready(p))
        assert pod.status and pod.status.host_ip == "127.0.0.1" and pod.status.pod_ip
        await cluster.kubectl("delete", "pod", "ghost", "--timeout=30s")
        assert refusals(cluster.apiserver) == []  # the hollow identity was refused nothing
    finally:
        await hollow.stop()
        await client.aclose()


async def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    for args in (
        ["--kubeconfig", str(tmp_path / "missing"), "--node-name", "x", "--runtime", "process"],
        ["--kubeconfig", "k", "--node-name", "x", "--capacity", "cpu=lots"],
        ["--kubeconfig", "k", "--node-name", "x", "--runtime", "docker", "--count", "3"],
    ):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "skiff",
            "kubelet",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 1, err
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
