"""End to end on real Docker: the API server, this kubelet, kubectl. Pods are bound by spec.nodeName.

Back-offs and probe periods are short (see conftest) so each test takes seconds; assertions are on what
a user sees (pod status, events, kubectl output, containers in Docker), never on timing.
"""

from __future__ import annotations

import asyncio

import docker
import pytest

from skiff.api import core
from skiff.runtime.base import LABEL_NODE
from tests.kubelet.conftest import Cluster, create, cstatus, pod_manifest, ready, running

pytestmark = pytest.mark.docker

IMAGE = "busybox:1.35"


def node_containers(node: str) -> list[str]:
    client = docker.from_env()
    try:
        return [c.id for c in client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={node}"})]
    finally:
        client.close()


async def events_of(cluster: Cluster, pod: str) -> list[tuple[str, str]]:
    await asyncio.sleep(0)
    evs = await cluster.client.list(core.Event, "default", field_selector=f"involvedObject.name={pod}")
    return [(e.reason or "", e.message or "") for e in evs.items]


async def test_web_pod_ready_logs_exec_and_graceful_delete(cluster: Cluster) -> None:
    k = await cluster.kubelet("docker")
    web = {
        "name": "web",
        "image": IMAGE,
        "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        "resources": {"limits": {"cpu": "200m", "memory": "64Mi"}},
    }
    ticker = {
        "name": "ticker",
        "image": IMAGE,
        "command": [
            "sh",
            "-c",
            "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
        ],
    }
    await create(cluster.client, pod_manifest("web", k.node, web, ticker, terminationGracePeriodSeconds=2))
    await cluster.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    pod = await cluster.pod("web")
    assert pod.status is not None and pod.status.phase == "Running"
    assert pod.status.pod_ip and pod.status.pod_ip != "127.0.0.1"
    assert pod.status.qos_class == "BestEffort" or pod.status.qos_class == "Burstable"
    s = cstatus(pod, "web")
    assert (
        s.ready
        and s.image == IMAGE
        and s.image_id
        and s.container_id
        and s.container_id.startswith("docker://")
    )
    reasons = [r for r, _ in await events_of(cluster, "web")]
    assert "Pulled" in reasons and "Created" in reasons and "Started" in reasons

    # kubectl logs -f follows the ticker: lines keep coming.
    proc = await asyncio.create_subprocess_exec(
        "kubectl",
        "logs",
        "-f",
        "web",
        "-c",
        "ticker",
        env=cluster.kubectl_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines = [await asyncio.wait_for(proc.stdout.readline(), 30) for _ in range(8)]
    proc.kill()
    await proc.wait()
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + 8))

    # kubectl exec: output and exit code come back.
    code, out, _ = await cluster.kubectl(
        "exec", "web", "-c", "web", "--", "wget", "-q", "-O", "-", "http://localhost:8080/"
    )
    assert code == 0 and "hello from skiff" in out
    code, _, _ = await cluster.kubectl("exec", "web", "-c", "web", "--", "sh", "-c", "exit 3", check=False)
    assert code == 3

    # Graceful delete: containers get SIGTERM, the object goes, no container is left.
    await cluster.kubectl("delete", "pod", "web", "--timeout=60s")
    assert node_containers(k.node) == []
    assert "Killing" in [r for r, _ in await events_of(cluster, "web")]


async def test_crash_loop_backoff_and_liveness_restart(cluster: Cluster) -> None:
    k = await cluster.kubelet("docker")
    crash = {"name": "crash", "image": IMAGE, "command": ["sh", "-c", "echo attempt; exit 1"]}
    await create(cluster.client, pod_manifest("crash", k.node, crash))
    live = {
        "name": "live",
        "image": IMAGE,
        "command": ["sh", "-c", "touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 600"],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 1, "failureThreshold": 1},
    }
    await create(cluster.client, pod_manifest("live", k.node, live))

    def backing_off(p: core.Pod) -> bool:
        s = cstatus(p, "crash") if p.status and p.status.container_statuses else None
        return bool(
            s
            and s.restart_count >= 2
            and s.state
            and s.state.waiting
            and s.state.waiting.reason == "CrashLoopBackOff"
        )

    pod = await cluster.wait_pod("crash", backing_off)
    s = cstatus(pod, "crash")
    assert s.last_state and s.last_state.terminated and s.last_state.terminated.exit_code == 1
    assert s.last_state.terminated.reason == "Error"
    assert pod.status and pod.status.phase == "Running"
    assert s.state and s.state.waiting and "back-off" in (s.state.waiting.message or "")
    _, prev, _ = await cluster.kubectl("logs", "crash", "--previous")
    assert prev == "attempt\n"
    assert "BackOff" in [r for r, _ in await events_of(cluster, "crash")]

    pod = await cluster.wait_pod("live", lambda p: cstatus(p, "live").restart_count >= 1)
    evs = await events_of(cluster, "live")
    assert any(r == "Unhealthy" and "Liveness probe failed" in m for r, m in evs)
    assert any(r == "Killing" and "failed liveness probe" in m for r, m in evs)


async def test_oomkilled_deadline_and_bad_input(cluster: Cluster) -> None:
    k = await cluster.kubelet("docker")
    hog = {
        "name": "hog",
        "image": IMAGE,
        "command": ["sh", "-c", "tail /dev/zero"],
        "resources": {"limits": {"memory": "16Mi"}},
    }
    await create(cluster.client, pod_manifest("hog", k.node, hog, restartPolicy="Never"))
    slow = {"name": "slow", "image": IMAGE, "command": ["sleep", "600"]}
    await create(cluster.client, pod_manifest("deadline", k.node, slow, activeDeadlineSeconds=2))
    missing = {"name": "app", "image": "skiff-test/does-not-exist:1"}
    await create(cluster.client, pod_manifest("missing", k.node, missing))
    badcmd = {"name": "app", "image": IMAGE, "command": ["/no/such/binary"]}
    await create(cluster.client, pod_manifest("badcmd", k.node, badcmd, restartPolicy="Never"))
    tiny = {
        "name": "app",
        "image": IMAGE,
        "command": ["sleep", "60"],
        "resources": {"limits": {"memory": "1Ki"}},
    }
    await create(cluster.client, pod_manifest("tiny", k.node, tiny))
    fine = {"name": "app", "image": IMAGE, "command": ["sleep", "600"]}
    await create(cluster.client, pod_manifest("fine", k.node, fine))

    pod = await cluster.wait_pod("hog", lambda p: bool(p.status and p.status.phase == "Failed"))
    t = cstatus(pod, "hog").state
    assert t and t.terminated and t.terminated.reason == "OOMKilled" and t.terminated.exit_code == 137

    pod = await cluster.wait_pod("deadline", lambda p: bool(p.status and p.status.phase == "Failed"))
    assert pod.status and pod.status.reason == "DeadlineExceeded"

    def waiting(reason: str):
        def check(p: core.Pod) -> bool:
            s = p.status.container_statuses if p.status else None
            return bool(s and s[0].state and s[0].state.waiting and s[0].state.waiting.reason == reason)

        return check

    await cluster.wait_pod("missing", waiting("ErrImagePull"))
    await cluster.wait_pod("missing", waiting("ImagePullBackOff"))
    pod = await cluster.wait_pod("tiny", waiting("CreateContainerError"))
    pod = await cluster.wait_pod("badcmd", lambda p: bool(p.status and p.status.phase == "Failed"))
    t = cstatus(pod, "app").state
    assert t and t.terminated and t.terminated.reason == "ContainerCannotRun"
    # None of that disturbed the healthy pod.
    pod = await cluster.wait_pod("fine", lambda p: running(p) and ready(p))
    assert cstatus(pod, "app").restart_count == 0


async def test_foreign_containers_left_alone_and_restart_adopts(cluster: Cluster) -> None:
    client = docker.from_env()
    by_hand = client.containers.run(IMAGE, ["sleep", "300"], detach=True)
    try:
        k = await cluster.kubelet("docker")
        app = {"name": "app", "image": IMAGE, "command": ["sleep", "600"]}
        await create(cluster.client, pod_manifest("keep", k.node, app))
        await create(cluster.client, pod_manifest("gone", k.node, app))
        await cluster.wait_pod("keep", running)
        await cluster.wait_pod("gone", running)
        before = cstatus(await cluster.pod("keep"), "app").container_id
        node, port = k.node, k.agent.port
        await cluster.stop(k)
        # While the kubelet is down, "gone" is force-deleted: its containers are orphans.
        await cluster.client.delete(core.Pod, "gone", "default", grace_period_seconds=0)
        k2 = await cluster.kubelet("docker", node=node, port=port)
        pod = await cluster.wait_pod("keep", running)
        s = cstatus(pod, "app")
        assert s.container_id == before and s.restart_count == 0
        remaining = {c.pod.name for c in await k2.runtime.list_containers()}
        assert remaining == {"keep"}
        by_hand.reload()
        assert by_hand.status == "running"
    finally:
        by_hand.remove(force=True)
        client.close()
