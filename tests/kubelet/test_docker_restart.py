"""Issue 9: a kubelet process killed with SIGKILL during pod start-up and started again creates no
duplicate containers: every pod ends with exactly one sandbox and one app container, both running, and
the app container is the one the pod's status names."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from skiff.runtime.base import LABEL_KIND, LABEL_NODE, LABEL_POD_UID
from tests.kubelet.conftest import Cluster, create, cstatus, pod_manifest, running
from tests.runtime.conftest import remove_docker_node

pytestmark = pytest.mark.docker

IMAGE = "busybox:1.35"
PODS = 6


def kubelet_process(cluster: Cluster, node: str, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "skiff", "kubelet", "--kubeconfig", cluster.apiserver.kubeconfig]
    args += ["--node-name", node, "--runtime", "docker", "--address", "127.0.0.1", "--port", "0"]
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def node_containers(dc: docker.DockerClient, node: str) -> list[dict[str, Any]]:
    return list(dc.api.containers(all=True, filters={"label": f"{LABEL_NODE}={node}"}))


@pytest.mark.parametrize("kill_after", ["sandbox", "container"])
async def test_kubelet_killed_during_startup_creates_no_duplicates(
    cluster: Cluster, tmp_path: Path, kill_after: str
) -> None:
    node = f"n-{uuid.uuid4().hex[:6]}"
    dc = docker.from_env()
    log = tmp_path / "kubelet.log"
    first = kubelet_process(cluster, node, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        app = {"name": "app", "image": IMAGE, "command": ["sleep", "600"]}
        for i in range(PODS):
            await create(cluster.client, pod_manifest(f"r{i}", node, app, terminationGracePeriodSeconds=0))
        # Kill the kubelet as soon as its first sandbox (or app container) exists: the pods are then
        # part-way started (sandboxes created or started, app containers created or not).
        while not any(c["Labels"][LABEL_KIND] == kill_after for c in node_containers(dc, node)):
            assert first.poll() is None, log.read_text()
            await asyncio.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = kubelet_process(cluster, node, log)
        pods = [await cluster.wait_pod(f"r{i}", running, timeout=120) for i in range(PODS)]
        for pod in pods:
            uid = pod.metadata.uid
            rows = [c for c in node_containers(dc, node) if c["Labels"].get(LABEL_POD_UID) == uid]
            kinds = sorted(c["Labels"][LABEL_KIND] for c in rows)
            assert kinds == ["container", "sandbox"], (pod.metadata.name, rows)
            assert all(c["State"] == "running" for c in rows), rows
            app_row = next(c for c in rows if c["Labels"][LABEL_KIND] == "container")
            s = cstatus(pod, "app")
            assert s.container_id == f"docker://{app_row['Id']}"
            assert s.restart_count == 0
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        dc.close()
        remove_docker_node(node)
