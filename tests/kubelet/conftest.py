"""A kubelet in the test's event loop against a live API server, on real Docker or host processes.

Nodes get a unique name per test, so the label-based cleanup removes exactly the test's containers.
Back-offs are shortened (1 s doubling to 4 s) so restarts are seen quickly.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from skiff.api import core
from skiff.client import ApiError, Client
from skiff.kubelet.kubelet import Kubelet
from skiff.kubelet.pod_worker import KubeletConfig
from skiff.runtime.base import Runtime
from skiff.runtime.docker import DockerRuntime
from skiff.runtime.process import ProcessRuntime
from tests.runtime.conftest import remove_docker_node

FAST = KubeletConfig(backoff_initial=1.0, backoff_max=4.0, default_grace=5)


class Cluster:
    """One API server, a client, and kubelets started on demand."""

    def __init__(self, apiserver: Any, client: Client, tmp: Path) -> None:
        self.apiserver = apiserver
        self.client = client
        self.tmp = tmp
        self.kubelets: list[Kubelet] = []
        self.docker_nodes: list[str] = []

    def runtime(self, kind: str, node: str) -> Runtime:
        if kind == "docker":
            self.docker_nodes.append(node)
            return DockerRuntime(node)
        return ProcessRuntime(node, root=self.tmp / "process")

    async def kubelet(self, kind: str = "docker", node: str | None = None, **kw: Any) -> Kubelet:
        node = node or f"n-{uuid.uuid4().hex[:6]}"
        kw.setdefault("config", FAST)
        kw.setdefault("relist_period", 0.5)
        kw.setdefault("address", "127.0.0.1")
        kw.setdefault("port", 0)
        kw.setdefault("tls_cert_file", self.apiserver.kubelet_serving_pem(node, kw["address"]))
        k = Kubelet(self.client, self.runtime(kind, node), node, **kw)
        await k.start()
        self.kubelets.append(k)
        return k

    async def stop(self, k: Kubelet) -> None:
        await k.stop()
        self.kubelets.remove(k)

    def kubectl_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = self.apiserver.kubeconfig
        env["KUBECACHEDIR"] = str(self.tmp / "kube-cache")
        return env

    async def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            "kubectl",
            *args,
            env=self.kubectl_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        code = proc.returncode or 0
        if check and code != 0:
            raise AssertionError(f"kubectl {' '.join(args)} -> {code}: {err.decode()}")
        return code, out.decode(), err.decode()

    async def pod(self, name: str, ns: str = "default") -> core.Pod:
        return await self.client.get(core.Pod, name, ns)

    async def wait_pod(
        self, name: str, pred: Callable[[core.Pod], bool], timeout: float = 60, ns: str = "default"
    ) -> core.Pod:
        """Polls until pred(pod) holds; the timeout only stops a broken test from hanging."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            try:
                pod: core.Pod | None = await self.pod(name, ns)
            except ApiError as exc:
                if not exc.not_found:
                    raise
                pod = None  # not created yet (a mirror pod)
            if pod is not None and pred(pod):
                return pod
            if loop.time() > end:
                raise AssertionError(f"pod {name} never matched; status: {pod.status if pod else None}")
            await asyncio.sleep(0.2)


@pytest.fixture
async def cluster(apiserver: Any, tmp_path: Path) -> AsyncIterator[Cluster]:
    client = Client.from_kubeconfig(apiserver.kubeconfig)
    c = Cluster(apiserver, client, tmp_path)
    try:
        yield c
    finally:
        for k in list(c.kubelets):
            await k.stop()
        await client.aclose()
        for node in c.docker_nodes:
            remove_docker_node(node)
        proc_root = tmp_path / "process"
        if proc_root.exists():
            for node_dir in proc_root.iterdir():
                rt = ProcessRuntime(node_dir.name, root=proc_root)
                await rt.start()
                for ci in await rt.list_containers():
                    await rt.remove_container(ci.id)
                await rt.close()


def pod_manifest(name: str, node: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": list(containers), **spec},
    }


async def create(client: Client, manifest: dict[str, Any]) -> core.Pod:
    import msgspec

    return await client.create(msgspec.convert(manifest, core.Pod))


def running(pod: core.Pod) -> bool:
    return bool(pod.status and pod.status.phase == "Running")


def ready(pod: core.Pod) -> bool:
    conds = (pod.status.conditions or []) if pod.status else []
    return any(c.type == "Ready" and c.status == "True" for c in conds)


def cstatus(pod: core.Pod, name: str) -> core.ContainerStatus:
    assert pod.status is not None
    for s in pod.status.container_statuses or []:
        if s.name == name:
            return s
    raise AssertionError(f"no status for container {name}: {pod.status}")


Waiter = Callable[[str, Callable[[core.Pod], bool]], Awaitable[core.Pod]]
