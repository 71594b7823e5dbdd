"""Client CPU per request: raw httpx vs raw aiohttp vs skiff.client (its own transport + msgspec decode).

Run: .venv/bin/python -m bench.client_http [--runs 5] [--requests 400]
Sequential GETs of one pod from a live `skiff apiserver`, alternating the three clients run by run so
they see the same machine load; prints the median client CPU (process time) and wall time per request.
Client CPU is what a component pays per call whatever the server's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from skiff.api.core import Container, Pod, PodSpec
from skiff.api.meta import ObjectMeta
from skiff.client import Client, load_kubeconfig
from tests.fixtures.apiserver import start

PATH = "/api/v1/namespaces/default/pods/probe"


async def measure(fn: Callable[[], Awaitable[object]], n: int) -> tuple[float, float]:
    for _ in range(20):
        await fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.process_time() - c0) / n * 1e6, (time.perf_counter() - t0) / n * 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as tmp:
        handle, procs = start(Path(tmp) / "skiff", "sqlite")
        try:
            cfg = load_kubeconfig(handle.kubeconfig)
            url = cfg.server
            async with Client(cfg) as client:
                await client.create(
                    Pod(
                        metadata=ObjectMeta(name="probe", namespace="default"),
                        spec=PodSpec(containers=[Container(name="c", image="busybox:1")]),
                    )
                )
                hx = httpx.AsyncClient(base_url=url, trust_env=False)
                ah = aiohttp.ClientSession(trust_env=False)

                async def via_httpx() -> object:
                    return (await hx.get(PATH)).content

                async def via_aiohttp() -> object:
                    async with ah.get(url + PATH) as r:
                        return await r.read()

                async def via_skiff() -> object:
                    return await client.get(Pod, "probe", "default")

                results: dict[str, list[tuple[float, float]]] = {}
                for _ in range(args.runs):
                    for name, fn in (
                        ("httpx raw GET", via_httpx),
                        ("aiohttp raw GET", via_aiohttp),
                        ("skiff.client.get (its transport + typed decode)", via_skiff),
                    ):
                        results.setdefault(name, []).append(await measure(fn, args.requests))
                await hx.aclose()
                await ah.close()
            machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            print(f"# client CPU per request ({machine}), median of {args.runs} runs")
            for name, rs in results.items():
                cpu = statistics.median(r[0] for r in rs)
                wall = statistics.median(r[1] for r in rs)
                print(f"{name}: client_cpu_us={cpu:.0f} wall_us={wall:.0f}")
        finally:
            for p in procs:
                p.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=400)
    asyncio.run(main(ap.parse_args()))
