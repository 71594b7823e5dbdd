"""skiff's own components under their least-privilege identities: `skiff scheduler` as
system:kube-scheduler, `skiff controller-manager` as system:kube-controller-manager and a kubelet as
system:node:NODE (group system:nodes), each with a kubeconfig that impersonates its identity. A pod
is scheduled, runs, and is deleted; a killed kubelet's node goes Ready=Unknown; and the API server
never refused any of them (no 403 in its request metrics)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from skiff.api.core import Event, Node, Pod
from skiff.client import ApiError, Client
from tests.auth.conftest import tls
from tests.client.util import eventually, namespace, pod
from tests.controllers.util import ready_status
from tests.fixtures.apiserver import free_port
from tests.fixtures.processes import skiff_components

NODE = "authz-node"
CM_FLAGS = ["--node-monitor-period=1s", "--node-monitor-grace-period=20s", "--pod-gc-period=1s"]


def impersonating(admin_kubeconfig: str, path: Path, user: str, groups: list[str] | None = None) -> str:
    doc = yaml.safe_load(Path(admin_kubeconfig).read_text())
    for u in doc["users"]:
        u["user"]["as"] = user
        if groups:
            u["user"]["as-groups"] = groups
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def components(apiserver: Any, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    kc = apiserver.kubeconfig
    sched = impersonating(kc, tmp_path / "scheduler.kubeconfig", "system:kube-scheduler")
    cm = impersonating(kc, tmp_path / "cm.kubeconfig", "system:kube-controller-manager")
    kubelet = impersonating(kc, tmp_path / "kubelet.kubeconfig", f"system:node:{NODE}", ["system:nodes"])
    hollow = ["--runtime", "hollow", "--port", str(free_port()), "--address", "127.0.0.1"]
    commands = {
        "scheduler": ["scheduler", "--kubeconfig", sched, "--metrics-port", str(free_port())],
        "cm": ["controller-manager", "--kubeconfig", cm, *CM_FLAGS],
        "kubelet": ["kubelet", "--kubeconfig", kubelet, "--node-name", NODE, *hollow],
    }
    with skiff_components(commands, tmp_path) as procs:
        yield procs


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


def refusals(apiserver: Any) -> list[str]:
    text = httpx.get(f"{apiserver.url}/metrics", timeout=10, **tls(apiserver)).text
    return [
        line
        for line in text.splitlines()
        if line.startswith("apiserver_request_total") and 'code="403"' in line
    ]


async def test_components_work_with_least_privilege(
    apiserver: Any, client: Client, components: dict[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    async def node() -> Node | None:
        try:
            return await client.get(Node, NODE)
        except ApiError as e:
            if e.not_found:
                return None
            raise

    async def ready() -> bool:
        n = await node()
        return n is not None and ready_status(n) == "True"

    await eventually(ready, timeout=60, what="the kubelet registered its node Ready")
    # the kubeconfigs really act as the identities: the scheduler's may not touch nodes
    sched = impersonating(apiserver.kubeconfig, tmp_path / "check.kubeconfig", "system:kube-scheduler")
    async with Client.from_kubeconfig(sched) as as_scheduler:
        with pytest.raises(ApiError) as refused:
            await as_scheduler.delete(Node, NODE)
        assert refused.value.code == 403
    mine = refusals(apiserver)  # that refusal was the test's
    async with namespace(client, "authz") as ns:
        created = await client.create(pod("web", ns))
        assert created.spec.node_name in (None, "")

        async def running() -> bool:
            p = await client.get(Pod, "web", ns)
            return p.spec.node_name == NODE and p.status is not None and p.status.phase == "Running"

        await eventually(running, timeout=60, what="scheduled by the scheduler, run by the kubelet")

        async def scheduled_event() -> bool:
            evs = await client.list(Event, ns)
            return any(e.reason == "Scheduled" for e in evs.items)

        await eventually(scheduled_event, timeout=30, what="the scheduler's event")
        await client.delete(Pod, "web", ns)

        async def gone() -> bool:
            try:
                await client.get(Pod, "web", ns)
            except ApiError as e:
                return e.not_found
            return False

        await eventually(gone, timeout=60, what="the kubelet confirmed the graceful deletion")
    components["kubelet"].kill()
    components["kubelet"].wait(10)

    async def unknown() -> bool:
        n = await node()
        return n is not None and ready_status(n) == "Unknown"

    await eventually(unknown, timeout=120, what="the controller manager marked the node Ready=Unknown")
    assert refusals(apiserver) == mine, "a component was refused something it needs"
    assert all(p.poll() is None for k, p in components.items() if k != "kubelet")
