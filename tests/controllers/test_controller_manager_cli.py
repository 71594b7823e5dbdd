"""`skiff controller-manager` as a user runs it: leader-elected, visible with kubectl, clean on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from skiff.api.core import Node
from skiff.client import Client

from ..client.util import eventually
from .util import FakeKubelet, taints_of

# Leader election keeps its defaults (15 s / 10 s / 2 s): the first instance takes the free lease at
# once, the second waits; a busy machine never makes the leader lose it mid-test.
FLAGS = ["--node-monitor-period=200ms", "--node-monitor-grace-period=4s", "--pod-gc-period=1s"]


def kubectl(apiserver: Any, *args: str) -> str:
    env = {"KUBECONFIG": apiserver.kubeconfig, "HOME": "/tmp", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def holder(apiserver: Any) -> str:
    return kubectl(
        apiserver, "get", "lease", "-n", "kube-system", "kube-controller-manager", "-o",
        "jsonpath={.spec.holderIdentity}",
    )  # fmt: skip


async def test_controller_manager_leads_acts_and_releases_on_sigterm(apiserver: Any, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "skiff", "controller-manager", "--kubeconfig", apiserver.kubeconfig, *FLAGS]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with open(logs[0], "wb") as out1, open(logs[1], "wb") as out2:
        first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out1)
        second = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out2)
    try:
        async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
            # A node whose kubelet never renews its lease: whichever instance leads taints it.
            lost = FakeKubelet(client, "lost")
            await lost.register()
            await lost.stop()
            alive = FakeKubelet(client, "alive")  # one Ready node: no master disruption
            await alive.register()

            async def tainted() -> bool:
                node = await client.get(Node, "lost")
                return ("node.kubernetes.io/unreachable", "NoExecute") in taints_of(node)

            await eventually(tainted, timeout=60, what="the leader taints the lost node")
            leader = holder(apiserver)
            assert leader, "the lease names a holder"

            # Stop both (SIGTERM): they exit 0 and the leader hands the lease back.
            for p in (first, second):
                p.send_signal(signal.SIGTERM)
            for p, log in zip((first, second), logs, strict=True):
                assert p.wait(30) == 0, log.read_text()
            assert "became leader" in logs[0].read_text() + logs[1].read_text()
            assert holder(apiserver) == ""
            await alive.stop()
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
                p.wait(5)


def test_bad_flags_are_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "skiff", "controller-manager", "--kubeconfig", "/nonexistent"],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "cannot read kubeconfig /nonexistent" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "skiff", "controller-manager", "--kubeconfig", "x", "--controllers", "nope"],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "unknown controllers: nope" in out.stderr
