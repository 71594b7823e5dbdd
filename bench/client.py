"""skiff.client against a live `skiff apiserver` (SQLite, loopback): request latency and throughput by
concurrency and pool size, and informer sync/delivery at the scheduler's scale (10,000 pods, 5,000 nodes).

Run: .venv/bin/python -m bench.client [--pods 10000] [--nodes 5000] [--runs 3]
Prints medians of --runs runs. The server runs in its own process on the same (2-core) machine, so the
numbers are client + server together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from skiff.api.core import Container, Namespace, Node, NodeCondition, NodeStatus, Pod, PodSpec
from skiff.api.meta import ObjectMeta
from skiff.client import Client, load_kubeconfig
from skiff.client.informer import Informer
from tests.fixtures.apiserver import start


def _pod(name: str, ns: str, node: str | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace=ns, labels={"app": "bench", "shard": name[-1]}),
        spec=PodSpec(
            containers=[
                Container(name="c", image="busybox:1", resources=None, command=["sleep", "3600"], args=None)
            ],
            node_name=node,
        ),
    )


def _node(name: str) -> Node:
    return Node(
        metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name, "zone": f"z{hash(name) % 3}"}),
        status=NodeStatus(
            capacity={"cpu": "8", "memory": "32Gi", "pods": "110"},
            allocatable={"cpu": "8", "memory": "32Gi", "pods": "110"},
            conditions=[NodeCondition(type="Ready", status="True")],
        ),
    )


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def bench_get(client: Client, ns: str, n: int) -> dict[str, float]:
    await client.create(_pod("probe", ns))
    lat: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        s = time.perf_counter()
        await client.get(Pod, "probe", ns)
        lat.append(time.perf_counter() - s)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "per_s": n / total,
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "client_cpu_us": cpu / n * 1e6,
    }


async def bench_create(client: Client, ns: str, n: int, concurrency: int, tag: str) -> dict[str, float]:
    lat: list[float] = []
    it = iter(range(n))

    async def worker() -> None:
        for i in it:
            s = time.perf_counter()
            await client.create(_pod(f"{tag}-{i}", ns))
            lat.append(time.perf_counter() - s)

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "per_s": n / total,
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "client_cpu_us": cpu / n * 1e6,
    }


async def populate(client: Client, pods: int, nodes: int) -> None:
    sem = asyncio.Semaphore(32)

    async def one(obj: Any) -> None:
        async with sem:
            await client.create(obj)

    await asyncio.gather(*(one(_node(f"node-{i:05d}")) for i in range(nodes)))
    await client.create(Namespace(metadata=ObjectMeta(name="scale")))
    await asyncio.gather(
        *(one(_pod(f"pod-{i:05d}", "scale", f"node-{i % nodes:05d}" if i % 2 else None)) for i in range(pods))
    )


async def bench_informer_sync(client: Client, kind: Any, indexers: Any = None) -> tuple[float, float, int]:
    inf = Informer(client, kind, indexers=indexers)
    t0, c0 = time.perf_counter(), time.process_time()
    inf.start()
    await inf.wait_for_sync()
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(inf)
    await inf.stop()
    return took, cpu, n


async def bench_informer_delivery(client: Client, n: int, round_id: str) -> dict[str, float]:
    """Patch n pods (32 concurrent writers); time until the informer has applied every change."""
    inf = Informer(client, Pod, "scale")
    seen = 0
    done = asyncio.Event()

    def on_update(old: Pod, new: Pod) -> None:
        nonlocal seen
        if (new.metadata.labels or {}).get("round") == round_id:
            seen += 1
            if seen == n:
                done.set()

    inf.add_handler(on_update=on_update)
    inf.start()
    await inf.wait_for_sync()
    names = [p.metadata.name or "" for p in inf.list()][:n]
    n = len(names)
    sem = asyncio.Semaphore(32)

    async def patch(name: str) -> None:
        async with sem:
            await client.patch(Pod, name, {"metadata": {"labels": {"round": round_id}}}, "scale")

    t0 = time.perf_counter()
    await asyncio.gather(*(patch(x) for x in names))
    writes = time.perf_counter() - t0
    await done.wait()
    total = time.perf_counter() - t0
    await inf.stop()
    return {
        "writes_per_s": n / writes,
        "all_seen_s": total,
        "lag_after_last_write_ms": (total - writes) * 1e3,
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as tmp:
        handle, procs = start(Path(tmp) / "skiff", "sqlite")
        try:
            cfg = load_kubeconfig(handle.kubeconfig)
            results: dict[str, list[dict[str, float]]] = {}

            def record(key: str, r: dict[str, float]) -> None:
                results.setdefault(key, []).append(r)

            async with Client(cfg, max_connections=64) as client:
                await client.create(Namespace(metadata=ObjectMeta(name="bench")))
                for run in range(args.runs):
                    record("get (1 client, sequential)", await bench_get(client, "bench", args.requests))
                    await client.delete(Pod, "probe", "bench")
                    for conc in (1, 8, 32, 64):
                        record(
                            f"create, {conc} concurrent, pool 64",
                            await bench_create(client, "bench", args.requests, conc, f"r{run}c{conc}"),
                        )
            for pool in (4, 16):
                async with Client(cfg, max_connections=pool) as client:
                    for run in range(args.runs):
                        record(
                            f"create, 32 concurrent, pool {pool}",
                            await bench_create(client, "bench", args.requests, 32, f"r{run}p{pool}"),
                        )

            async with Client(cfg, max_connections=64) as client:
                t0 = time.perf_counter()
                await populate(client, args.pods, args.nodes)
                populate_s = time.perf_counter() - t0
                for _ in range(args.runs):
                    took, cpu, n = await bench_informer_sync(
                        client, Pod, {"node": lambda p: [p.spec.node_name or ""]}
                    )
                    record(f"informer sync, pods ({n})", {"s": took, "client_cpu_s": cpu})
                    took, cpu, n = await bench_informer_sync(client, Node)
                    record(f"informer sync, nodes ({n})", {"s": took, "client_cpu_s": cpu})
                for run in range(args.runs):
                    r = await bench_informer_delivery(client, 2000, f"r{run}")
                    record("informer delivery of 2000 pod updates", r)

            machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            print(f"# skiff.client bench ({machine})")
            print(f"populate: {args.pods} pods + {args.nodes} nodes in {populate_s:.1f} s (32 concurrent)")
            for key, rs in results.items():
                med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                print(
                    f"{key}: "
                    + ", ".join(f"{k}={v:.1f}" if v >= 10 else f"{k}={v:.3f}" for k, v in med.items())
                )
        finally:
            for p in procs:
                p.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=1000, help="requests per latency/throughput run")
    asyncio.run(main(ap.parse_args()))
