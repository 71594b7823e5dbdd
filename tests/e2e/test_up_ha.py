"""`skiff up --ha`: three etcd members, two API servers behind HAProxy, two schedulers and controllers.

The cluster serves through the balancer, and keeps serving when an API server is killed with SIGKILL;
`skiff up` restarts the dead one; stopped and started again, it keeps everything. (The fault-injection
run over every component is tests/chaos.)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
import yaml

from tests.e2e.cluster import UpProcess, wait_for


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[UpProcess]:
    up = UpProcess(tmp_path / "data", nodes=2, runtime="hollow", store=None, extra=("--ha",))
    try:
        up.start(timeout=120)
        yield up
    finally:
        up.kill_leftovers()


def pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }


def create(core: kubernetes.client.CoreV1Api, name: str, errors: list[str]) -> bool:
    """One create; an error whose outcome is unknown is retried, and AlreadyExists then means it was done."""
    try:
        core.create_namespaced_pod("default", pod(name))
    except kubernetes.client.ApiException as exc:
        if exc.status == 409 and errors:
            return True
        errors.append(f"{exc.status} {exc.reason}")
        raise
    except Exception as exc:
        errors.append(repr(exc))
        raise
    return True


def running(core: kubernetes.client.CoreV1Api, name: str) -> bool:
    return bool(core.read_namespaced_pod(name, "default").status.phase == "Running")


def test_serves_through_haproxy_and_survives_an_apiserver_kill(ha: UpProcess) -> None:
    out = ha.output()
    for name in ("etcd-0", "etcd-1", "etcd-2", "apiserver-1", "apiserver-2", "haproxy"):
        assert name in out
    for name in ("scheduler-1", "scheduler-2", "controller-manager-1", "controller-manager-2"):
        assert name in out
    # The admin kubeconfig names the balancer, not one API server.
    server = yaml.safe_load(ha.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert server.endswith(f"127.0.0.1:{ha.port}")
    assert "haproxy" in Path(f"/proc/{ha.pid('haproxy')}/cmdline").read_text()

    core = ha.core()
    core.create_namespaced_pod("default", pod("before"))
    wait_for(lambda: running(core, "before"), 90, "pod before Running")

    killed = ha.pid("apiserver-1")
    os.kill(killed, signal.SIGKILL)
    # HAProxy retries refused connections on the other server: the API keeps answering.
    errors: list[str] = []
    wait_for(lambda: create(core, "after", errors), 60, "a create through the balancer")
    print("errors after killing apiserver-1:", errors)
    wait_for(lambda: running(core, "after"), 90, "pod after Running")
    assert core.read_namespaced_pod("before", "default").status.phase == "Running"

    # `skiff up` restarts the dead API server, and the balancer sends it requests again.
    wait_for(lambda: ha.pid("apiserver-1") != killed, 60, "apiserver-1 restarted")
    assert "apiserver-1 exited" in ha.output()
    os.kill(ha.pid("apiserver-2"), signal.SIGKILL)
    errors = []
    wait_for(lambda: create(core, "third", errors), 60, "a create via apiserver-1")
    print("errors after killing apiserver-2:", errors)
    wait_for(lambda: running(core, "third"), 90, "pod third Running")
    pods = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod("default").items}
    assert sorted(pods) == ["after", "before", "third"]

    # Stopped and started again on the same data dir: same etcd members and ports, everything kept.
    ha.stop()
    ha.start(timeout=120)
    core = ha.core()
    assert {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod("default").items} == pods
    wait_for(lambda: all(running(core, n) for n in pods), 90, "the pods Running again")
