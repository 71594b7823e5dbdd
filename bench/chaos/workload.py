"""What runs against the cluster while faults are injected, and what it records.

- ``PodCreator`` creates pods one after another; a create whose outcome is unknown (broken connection,
  5xx, timeout) is retried until the API says it exists, so every acknowledged pod has one known uid.
- ``PodRecorder`` watches pods from the start (resuming from its last resourceVersion after a broken
  connection, relisting on 410) and keeps every (uid, nodeName, phase) it saw: the binding history.
- ``Registers`` run read / write / compare-and-set (PUT with the resourceVersion read) on a few
  Leases from several clients, each operation timed, for the linearizability checker.
- ``Heartbeat`` writes one Lease every 100 ms: the gaps between its successes are write outages.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bench.chaos.linearizability import Kind, Op
from skiff.api.core import Pod
from skiff.client.rest import ApiError, Client, ClientError, ConnectError

NS = "default"
UNKNOWN_OUTCOME_CODES = frozenset({500, 502, 503, 504})


def pod_body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "chaos"}},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "10m"}}}],
            "terminationGracePeriodSeconds": 0,
        },
    }


def ambiguous(exc: ClientError) -> bool:
    """Whether the request may have taken effect although it failed."""
    return isinstance(exc, ConnectError) or (isinstance(exc, ApiError) and exc.code in UNKNOWN_OUTCOME_CODES)


@dataclass
class PodCreator:
    client: Client
    prefix: str = "p"
    acked: dict[str, str] = field(default_factory=dict)  # name -> uid
    attempted: set[str] = field(default_factory=set)
    retries: int = 0  # creates sent again because the first outcome was unknown

    async def create(self, name: str) -> str:
        """Creates one pod, retrying while the outcome is unknown; returns its uid."""
        self.attempted.add(name)
        unsure = False
        while True:
            try:
                raw = await self.client.request("POST", f"/api/v1/namespaces/{NS}/pods", body=pod_body(name))
                uid = str(msgspec.json.decode(raw)["metadata"]["uid"])
                break
            except ApiError as exc:
                if exc.already_exists and unsure:
                    uid = str((await self.client.get(Pod, name, NS)).metadata.uid)
                    break
                if not ambiguous(exc):
                    raise
                unsure = True
            except ConnectError:
                unsure = True
            self.retries += 1
            await asyncio.sleep(0.3)
        self.acked[name] = uid
        return uid

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            await self.create(f"{self.prefix}-{i:04d}")
            i += 1
            with_jitter = random.uniform(0.5, 1.5) / rate
            await asyncio.sleep(with_jitter)


@dataclass
class Seen:
    t: float
    type: str
    name: str
    uid: str
    node: str | None
    phase: str | None


@dataclass
class PodRecorder:
    client: Client
    seen: list[Seen] = field(default_factory=list)
    relists: int = 0
    resumes: int = 0

    def _record(self, kind: str, pod: Pod) -> None:
        m, st = pod.metadata, pod.status
        self.seen.append(
            Seen(
                time.monotonic(),
                kind,
                m.name or "",
                m.uid or "",
                pod.spec.node_name,
                st.phase if st else None,
            )
        )

    async def run(self) -> None:
        rv: str | None = None
        while True:
            try:
                if rv is None:
                    listed = await self.client.list(Pod, NS)
                    for p in listed.items:
                        self._record("LIST", p)
                    rv = listed.resource_version
                async for ev in self.client.watch(Pod, NS, resource_version=rv, timeout_seconds=60):
                    if ev.type != "BOOKMARK":
                        self._record(ev.type, ev.object)
                    rv = ev.resource_version or rv
            except ApiError as exc:
                if exc.expired:
                    self.relists += 1
                    rv = None
                else:
                    await asyncio.sleep(0.2)
            except ConnectError:
                self.resumes += 1
                await asyncio.sleep(0.2)

    def bindings(self) -> dict[str, list[str]]:
        """uid -> the nodes it was seen bound to, in order, without repeats (one entry when all is well)."""
        out: dict[str, list[str]] = {}
        for s in self.seen:
            nodes = out.setdefault(s.uid, [])
            if s.node and (not nodes or nodes[-1] != s.node):
                nodes.append(s.node)
        return out

    def unbound_after_bound(self) -> list[str]:
        """uids seen with a node and later without one (a binding lost)."""
        bound: set[str] = set()
        lost: set[str] = set()
        for s in self.seen:
            if s.node:
                bound.add(s.uid)
            elif s.uid in bound and s.type != "DELETED":
                lost.add(s.uid)
        return sorted(lost)

    def first_running(self, name: str, after: float) -> float | None:
        for s in self.seen:
            if s.name == name and s.phase == "Running" and s.t >= after:
                return s.t
        return None


# Registers are Leases (objects nothing else in the cluster touches); the value is spec.holderIdentity.
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def register(name: str, value: str, rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {"holderIdentity": value},
    }


async def read_register(client: Client, key: str) -> tuple[str | None, str]:
    obj = msgspec.json.decode(await client.request("GET", f"{LEASES}/{key}"))
    return (obj.get("spec") or {}).get("holderIdentity"), str(obj["metadata"]["resourceVersion"])


@dataclass
class Registers:
    client: Client
    keys: list[str]
    history: dict[str, list[Op]] = field(default_factory=dict)
    initial: str = "v0"

    async def setup(self) -> None:
        for key in self.keys:
            self.history[key] = []
            await self.client.request("POST", LEASES, body=register(key, self.initial))

    def _add(self, key: str, op: Op) -> None:
        self.history[key].append(op)

    async def _read(self, proc: int, key: str) -> tuple[str | None, str] | None:
        t0 = time.monotonic()
        try:
            value, rv = await read_register(self.client, key)
        except ClientError:
            return None  # a failed read observed nothing
        self._add(key, Op(proc, "read", t0, time.monotonic(), result=value))
        return value, rv

    async def _put(self, proc: int, key: str, value: str, expected: tuple[str | None, str] | None) -> None:
        t0 = time.monotonic()
        body = register(key, value, expected[1] if expected else None)
        kind: Kind = "cas" if expected else "write"
        arg: Any = (expected[0], value) if expected else value
        try:
            await self.client.request("PUT", f"{LEASES}/{key}", body=body)
            self._add(key, Op(proc, kind, t0, time.monotonic(), arg=arg, result=True))
        except ApiError as exc:
            if exc.conflict and expected:
                self._add(key, Op(proc, "cas", t0, time.monotonic(), arg=arg, result=False))
            elif ambiguous(exc):
                self._add(key, Op(proc, kind, t0, arg=arg, ok=False))
            # any other refusal changed nothing
        except ConnectError:
            self._add(key, Op(proc, kind, t0, arg=arg, ok=False))

    async def client_loop(self, proc: int, stop: asyncio.Event, seed: int) -> None:
        rng = random.Random(seed)
        n = 0
        while not stop.is_set():
            n += 1
            key = rng.choice(self.keys)
            r = rng.random()
            if r < 0.4:
                await self._read(proc, key)
            elif r < 0.65:
                await self._put(proc, key, f"c{proc}-{n}", None)
            else:
                seen = await self._read(proc, key)
                if seen is not None:
                    await self._put(proc, key, f"c{proc}-{n}", seen)
            await asyncio.sleep(rng.uniform(0.05, 0.25))

    async def final_reads(self, proc: int) -> None:
        """After the faults: each key read until a read succeeds (a lost acknowledged write shows here)."""
        for key in self.keys:
            for _ in range(100):
                if await self._read(proc, key) is not None:
                    break
                await asyncio.sleep(0.3)


@dataclass
class Heartbeat:
    client: Client
    key: str = "heartbeat"
    ok_at: list[float] = field(default_factory=list)  # return times of successful writes

    async def run(self) -> None:
        await self.client.request("POST", LEASES, body=register(self.key, "0"))
        n = 0
        while True:
            n += 1
            try:
                await self.client.request("PUT", f"{LEASES}/{self.key}", body=register(self.key, str(n)))
                self.ok_at.append(time.monotonic())
            except ClientError:
                pass
            await asyncio.sleep(0.1)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without a successful write between start and end (a fault at ``start``)."""
        times = [start] + [t for t in self.ok_at if start < t <= end]
        if len(times) == 1:
            return end - start
        return max(b - a for a, b in itertools.pairwise(times))
