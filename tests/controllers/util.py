"""Helpers for controller tests: nodes as API objects whose 'kubelet' is the test itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.core import Node, NodeCondition, NodeStatus, Pod, Taint, Toleration
from skiff.api.meta import ObjectMeta, now_micro, now_rfc3339
from skiff.client import ApiError, Client, load_kubeconfig
from skiff.controllers.manager import ControllerManager, Options

from ..client.util import pod

# Short health timings so tests run fast, yet loose enough that a busy 2-core machine does not make a
# beating node look dead. Leader election keeps its defaults: on a fresh server the lease is free, so
# the first candidate leads at once, and a slow renewal never costs the leadership mid-test.
FAST = Options(
    node_monitor_period=0.2,
    node_monitor_grace_period=4.0,
    node_eviction_period=0.2,
    podgc_period=0.3,
    podgc_quarantine=1.0,
)


class FakeKubelet:
    """Plays a kubelet through the API only: registers the node, posts Ready, renews its Lease."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self._task: asyncio.Task[None] | None = None

    async def register(self, ready: str = "True") -> None:
        await self.client.create(Node(metadata=ObjectMeta(name=self.name, labels={"test": "node"})))
        await self.post_ready(ready)
        await self.client.create(
            Lease(
                metadata=ObjectMeta(name=self.name, namespace="kube-node-lease"),
                spec=LeaseSpec(holder_identity=self.name, lease_duration_seconds=40, renew_time=now_micro()),
            )
        )
        self.start()

    async def post_ready(self, status: str) -> None:
        ts = now_rfc3339()
        reason = "KubeletReady" if status == "True" else "KubeletNotReady"
        for _ in range(10):
            node = await self.client.get(Node, self.name)
            node.status = node.status or NodeStatus()
            others = [c for c in node.status.conditions or () if c.type != "Ready"]
            node.status.conditions = [
                *others,
                NodeCondition(
                    type="Ready",
                    status=status,
                    reason=reason,
                    message=f"kubelet says {status}",
                    last_heartbeat_time=ts,
                    last_transition_time=ts,
                ),
            ]
            try:
                await self.client.update_status(node)
                return
            except ApiError as e:
                if not e.conflict:
                    raise

    async def renew(self) -> None:
        patch = {"spec": {"renewTime": now_micro()}}
        await self.client.patch(Lease, self.name, patch, "kube-node-lease")

    def start(self) -> None:
        async def beat() -> None:
            while True:
                await self.renew()
                await asyncio.sleep(0.2)

        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(beat())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@asynccontextmanager
async def running_manager(kubeconfig: str, options: Options = FAST) -> AsyncIterator[ControllerManager]:
    manager = ControllerManager(load_kubeconfig(kubeconfig), options)
    task = asyncio.get_running_loop().create_task(manager.run())
    try:
        async with asyncio.timeout(60):
            await manager.leading.wait()
        yield manager
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def node_pod(name: str, ns: str, node: str, tolerations: list[Toleration] | None = None) -> Pod:
    p = pod(name, ns, node=node)
    p.spec.tolerations = tolerations
    return p


def taints_of(node: Node) -> set[tuple[str, str]]:
    return {(t.key, t.effect) for t in node.spec.taints or ()}


def taint(node: Node, key: str, effect: str) -> Taint | None:
    for t in node.spec.taints or ():
        if t.key == key and t.effect == effect:
            return t
    return None


def ready_status(node: Node) -> str | None:
    for c in (node.status.conditions if node.status else None) or ():
        if c.type == "Ready":
            return c.status
    return None


def cond(obj: Any, type_: str) -> Any:
    for c in (obj.status.conditions if obj.status else None) or ():
        if c.type == type_:
            return c
    return None
