"""kubectl logs and exec through the API server to a real skiff kubelet (process runtime)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver.helpers import Kubectl
from tests.fixtures.apiserver import APIServerHandle, free_port
from tests.fixtures.processes import stop_process

POD = """
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  nodeName: NODE
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo hello; echo world; while true; do sleep 1; done"]
"""


@pytest.fixture
def kubelet(apiserver: APIServerHandle, tmp_path: Path) -> Iterator[str]:
    node = "proxy-node"
    log = open(tmp_path / "kubelet.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skiff",
            "kubelet",
            "--kubeconfig",
            apiserver.kubeconfig,
            "--node-name",
            node,
            "--runtime",
            "process",
            "--port",
            str(free_port()),
            "--address",
            "127.0.0.1",
            "--root-dir",
            str(tmp_path / "kubelet"),
            "--tls-cert-file",
            apiserver.kubelet_serving_pem(node),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield node
    finally:
        stop_process(proc, 15)
        log.close()


def test_logs_and_exec(apiserver: APIServerHandle, kubelet: str, tmp_path: Path) -> None:
    k = Kubectl(apiserver.kubeconfig, tmp_path / "cache")
    deadline = time.monotonic() + 60
    while k.run("get", "node", kubelet, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the kubelet did not register"
        time.sleep(0.2)
    k("apply", "-f", "-", input=POD.replace("NODE", kubelet))
    k("wait", "--for=condition=Ready", "pod/hello", "--timeout=60s")
    deadline = time.monotonic() + 30
    while k("logs", "hello").split() != ["hello", "world"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert k("logs", "hello", "--tail=1").split() == ["world"]
    follow = k.popen("logs", "-f", "hello")
    try:
        assert follow.stdout is not None
        assert [follow.stdout.readline().strip() for _ in range(2)] == ["hello", "world"]
    finally:
        follow.terminate()
        follow.wait(10)
    assert k("exec", "hello", "--", "sh", "-c", "echo out").strip() == "out"
    res = k.run("exec", "hello", "--", "sh", "-c", "echo err >&2; exit 3", check=False)
    assert res.returncode == 3 and "err" in res.stderr
    assert k("exec", "-i", "hello", "--", "cat", input="piped\n").strip() == "piped"


def test_exec_answers_the_pods_problem(apiserver: APIServerHandle, tmp_path: Path) -> None:
    """kubectl falls back to SPDY (a POST) when its websocket upgrade is refused: that answer carries
    what is wrong with the pod, as on Kubernetes."""
    k = Kubectl(apiserver.kubeconfig, tmp_path / "cache")
    unbound = POD.replace("  nodeName: NODE\n", "").replace("name: hello", "name: unbound")
    k("apply", "-f", "-", input=unbound)
    res = k.run("exec", "unbound", "--", "true", check=False)
    assert res.returncode != 0
    assert "pod unbound does not have a host assigned" in res.stderr, res.stderr
    res = k.run("exec", "unbound", "-c", "nope", "--", "true", check=False)
    assert "container nope is not valid for pod unbound" in res.stderr, res.stderr
    res = k.run("exec", "missing", "--", "true", check=False)
    assert 'pods "missing" not found' in res.stderr, res.stderr
    with apiserver.client() as c:
        r = c.post("/api/v1/namespaces/default/pods/unbound/exec", params={"command": "true"})
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest"
