"""A live API server, nodes as API objects (no kubelet), and skiff's scheduler running in-process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from skiff.api.codec import from_builtins
from skiff.api.core import Event, Namespace, Node, Pod
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client
from skiff.scheduler.config import parse_config
from skiff.scheduler.scheduler import Scheduler

from .util import node as node_dict
from .util import pod as pod_dict


async def eventually(check: Any, timeout: float = 30.0, what: str = "") -> Any:
    """Poll until check() is truthy (a hang guard, not a speed assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while True:
        r = check()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return r
        last = r
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what} (last: {last!r})")
        await asyncio.sleep(0.05)


class Cluster:
    """One test's view: its own namespace and node names, cleaned up afterwards."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tag = uuid.uuid4().hex[:6]
        self.ns = f"t-{self.tag}"
        self.nodes: list[str] = []
        self.schedulers: list[Scheduler] = []
        self.tasks: list[asyncio.Task[None]] = []

    def n(self, name: str) -> str:
        return f"{name}-{self.tag}"

    async def add_node(self, name: str, **kw: Any) -> str:
        full = self.n(name)
        d = node_dict(full, **kw)
        d["apiVersion"], d["kind"] = "v1", "Node"
        await self.client.create(from_builtins(Node, d))
        self.nodes.append(full)
        return full

    async def create_pod(self, name: str, **kw: Any) -> Pod:
        d = pod_dict(name, ns=self.ns, **kw)
        d["apiVersion"], d["kind"] = "v1", "Pod"
        d["metadata"].pop("uid", None)
        d["metadata"].pop("creationTimestamp", None)
        return await self.client.create(from_builtins(Pod, d))

    async def start(self, config: dict[str, Any] | None = None, identity: str | None = None) -> Scheduler:
        cfg = parse_config(config or {"leaderElection": {"leaderElect": False}})
        s = Scheduler(self.client, cfg, identity=identity, seed=1)
        self.schedulers.append(s)
        self.tasks.append(asyncio.get_running_loop().create_task(s.run()))
        return s

    async def pod(self, name: str) -> Pod:
        return await self.client.get(Pod, name, self.ns)

    async def wait_bound(self, name: str, timeout: float = 30.0) -> str:
        async def check() -> str | None:
            p = await self.pod(name)
            return p.spec.node_name if p.spec else None

        return str(await eventually(check, timeout, f"pod {name} bound"))

    async def events(self, name: str) -> list[Event]:
        got = await self.client.list(Event, self.ns, field_selector=f"involvedObject.name={name}")
        return list(got.items)

    async def wait_event(self, name: str, reason: str, contains: str = "", timeout: float = 30.0) -> str:
        async def check() -> str | None:
            for e in await self.events(name):
                if e.reason == reason and contains in (e.message or ""):
                    return e.message or ""
            return None

        return str(await eventually(check, timeout, f"{reason} event on {name} containing {contains!r}"))

    async def condition(self, name: str) -> Any:
        p = await self.pod(name)
        for c in (p.status.conditions if p.status else None) or []:
            if c.type == "PodScheduled":
                return c
        return None

    async def close(self) -> None:
        for s in self.schedulers:
            s.stop()
        for t in self.tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, 15)
        for n in self.nodes:
            with contextlib.suppress(ApiError):
                await self.client.delete(Node, n)
        with contextlib.suppress(ApiError):
            await self.client.delete_collection(Pod, self.ns, grace_period_seconds=0)


@contextlib.asynccontextmanager
async def cluster(kubeconfig: str) -> AsyncIterator[Cluster]:
    async with Client.from_kubeconfig(kubeconfig) as client:
        c = Cluster(client)
        await client.create(Namespace(metadata=ObjectMeta(name=c.ns)))
        try:
            yield c
        finally:
            await c.close()
