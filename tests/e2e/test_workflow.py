"""The seed's eight steps, end to end, on `skiff up` with the docker runtime, on both stores.

Each step is checked by its observable effect: what the API shows, what Docker runs, what `skiff trace`
prints. A second test restarts `skiff up` on its data dir and finds the same pods, uids and containers.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.cluster import UpProcess, kubectl, wait_for
from tests.fixtures.etcd import EtcdCluster

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "examples" / "10-web.yaml"
POD_UID_LABEL = "io.kubernetes.pod.uid"


@pytest.fixture
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


def containers_of(client: docker.DockerClient, uid: str) -> dict[str, str]:
    """Running containers of one pod: id -> name."""
    found = client.containers.list(filters={"label": f"{POD_UID_LABEL}={uid}"})
    return {c.id: c.name for c in found}


def remove_pod_containers(client: docker.DockerClient, uid: str) -> None:
    """Cleanup; the kubelet may be removing the same containers (Docker answers 404 or 409 then)."""
    for c in client.containers.list(all=True, filters={"label": f"{POD_UID_LABEL}={uid}"}):
        with contextlib.suppress(docker.errors.APIError):
            c.remove(force=True)


@pytest.fixture(params=["sqlite", "etcd"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UpProcess]:
    store = "sqlite"
    if request.param == "etcd":
        etcd: EtcdCluster = request.getfixturevalue("etcd_cluster_fresh")
        store = etcd.url
    up = UpProcess(tmp_path / "data", nodes=2, runtime="docker", store=store)
    try:
        up.start()
        yield up
    finally:
        up.kill_leftovers()


def test_eight_steps(cluster: UpProcess, docker_client: docker.DockerClient) -> None:
    core = cluster.core()
    # 1. A user creates a Pod through the API server (the real kubectl).
    out = kubectl(cluster.kubeconfig, "apply", "-f", str(WEB)).stdout
    assert "pod/web created" in out
    # 2. The API server wrote it to the store: it reads back with a resourceVersion and a uid.
    pod = core.read_namespaced_pod("web", "default")
    assert int(pod.metadata.resource_version) > 0
    uid = pod.metadata.uid
    try:
        # 3. The scheduler noticed the unbound pod and decided: its Scheduled event.
        def scheduled_event() -> object:
            events = core.list_namespaced_event(
                "default", field_selector=f"involvedObject.uid={uid},reason=Scheduled"
            ).items
            return events[0] if events else None

        event = wait_for(scheduled_event, 60, "the Scheduled event")
        assert event.message.startswith("Successfully assigned default/web to node-")  # type: ignore[attr-defined]
        # 4. The binding was written through the API server.
        pod = core.read_namespaced_pod("web", "default")
        node = pod.spec.node_name
        assert node in ("node-1", "node-2")
        assert any(c.type == "PodScheduled" and c.status == "True" for c in pod.status.conditions)
        # 5. The kubelet of that node noticed it: it reports the pod with its host IP and start time.
        pod = wait_for(
            lambda: (p := core.read_namespaced_pod("web", "default")).status.start_time and p, 60, "kubelet"
        )
        assert pod.status.host_ip
        # 6. The kubelet ran the containers through Docker: the sandbox and httpd, by pod uid.
        running = wait_for(lambda: containers_of(docker_client, uid), 60, "containers in Docker")
        assert any("httpd" in name for name in running.values())
        # 7. It monitors the pod through the runtime: the readiness probe passes.
        # 8. ... and reflects the status back to the API server: Ready, with the container status.
        waited = kubectl(cluster.kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        assert "condition met" in waited.stdout
        pod = core.read_namespaced_pod("web", "default")
        status = pod.status.container_statuses[0]
        assert status.ready and status.state.running is not None
        assert status.container_id.removeprefix("docker://") in running
        assert pod.status.pod_ip

        # The journey, as `skiff trace` tells it from the same records.
        trace = subprocess.run(
            [sys.executable, "-m", "skiff", "trace", "--kubeconfig", str(cluster.kubeconfig), "web"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = trace.splitlines()
        assert lines[0] == "pod default/web"
        steps = [line.split()[0] for line in lines[2:]]
        assert steps == sorted(steps) and set(steps) == {str(i) for i in range(1, 9)}
        assert f"Successfully assigned default/web to {node}" in trace
        assert "not seen" not in trace  # every step was recorded by the component that did it
        stored = next(line for line in lines if " stored " in line)
        assert re.search(r"revision \d+$", stored), stored
        assert "feasible nodes 2/2" in trace
    finally:
        kubectl(cluster.kubeconfig, "delete", "pod", "web", "--wait=false", check=False)
        remove_pod_containers(docker_client, uid)


def test_restart_keeps_pods_uids_and_containers(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    up = UpProcess(tmp_path / "data", nodes=1, runtime="docker")
    uid = ""
    try:
        up.start()
        kubectl(up.kubeconfig, "apply", "-f", str(WEB))
        kubectl(up.kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        uid = up.core().read_namespaced_pod("web", "default").metadata.uid
        before = containers_of(docker_client, uid)
        assert before

        took = up.stop()
        assert "stopped" in up.output()
        assert took < 15
        # Pods keep running in Docker while the cluster is down.
        assert containers_of(docker_client, uid) == before

        up.start()
        core = up.core()
        pod = core.read_namespaced_pod("web", "default")
        assert pod.metadata.uid == uid
        # The kubelet adopts the running containers instead of restarting them.
        kubectl(up.kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        assert containers_of(docker_client, uid) == before
        assert core.read_namespaced_pod("web", "default").status.container_statuses[0].restart_count == 0
    finally:
        up.kill_leftovers()
        if uid:
            remove_pod_containers(docker_client, uid)


def test_a_second_cluster_with_the_same_node_names_leaves_the_first_clusters_containers_alone(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    first = UpProcess(tmp_path / "first", nodes=1, runtime="docker")
    second = UpProcess(tmp_path / "second", nodes=1, runtime="docker")
    uid = ""
    try:
        first.start()
        kubectl(first.kubeconfig, "apply", "-f", str(WEB))
        kubectl(first.kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        uid = first.core().read_namespaced_pod("web", "default").metadata.uid
        before = containers_of(docker_client, uid)
        # The second cluster's node-1 kubelet starts, lists its runtime and removes its orphans ...
        second.start()
        kubectl(second.kubeconfig, "apply", "-f", str(WEB))
        kubectl(second.kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        # The kubelet logs "kubelet started" once its start-up, orphan removal included, is over.
        log = second.data_dir / "logs" / "kubelet-node-1.log"
        wait_for(lambda: "kubelet started" in log.read_text(), 60, "the second kubelet's start-up")
        # ... and the first cluster's pod still runs, in the same containers, untouched.
        assert containers_of(docker_client, uid) == before
        pod = first.core().read_namespaced_pod("web", "default")
        assert pod.status.container_statuses[0].restart_count == 0
    finally:
        for up in (second, first):
            core = up.core() if up.kubeconfig.exists() else None
            other_uid = ""
            if core is not None:
                with contextlib.suppress(Exception):
                    other_uid = core.read_namespaced_pod("web", "default").metadata.uid
            up.kill_leftovers()
            if other_uid:
                remove_pod_containers(docker_client, other_uid)
        if uid:
            remove_pod_containers(docker_client, uid)
