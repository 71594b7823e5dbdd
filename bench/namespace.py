"""Namespace deletion: a namespace holding N unbound pods and N events, deleted, emptied by the namespace
controller (in this process) through a live `skiff apiserver` (SQLite, loopback), until it is gone.

Run: .venv/bin/python -m bench.namespace [--objects 1000] [--runs 3]
Prints medians of --runs runs: wall time from DELETE to finalize, and the CPU seconds of the controller
(this process) and of the API server per deleted object (the machine is shared: CPU is the steadier
number).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from skiff.api.core import Container, Event, Namespace, ObjectReference, Pod, PodSpec
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client, load_kubeconfig
from skiff.controllers.manager import ControllerManager, Options
from tests.fixtures.apiserver import start

from .procstat import proc_cpu


async def fill(client: Client, ns: str, n: int) -> None:
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            await client.create(
                Pod(
                    metadata=ObjectMeta(name=f"p{i}", namespace=ns),
                    spec=PodSpec(containers=[Container(name="c", image="busybox")]),
                )
            )
            await client.create(
                Event(
                    metadata=ObjectMeta(name=f"e{i}", namespace=ns),
                    involved_object=ObjectReference(kind="Pod", name=f"p{i}", namespace=ns),
                    reason="Bench",
                    message="m",
                )
            )

    await asyncio.gather(*(one(i) for i in range(n)))


async def run_once(kubeconfig: str, server_pid: int, n: int, run: int) -> dict[str, float]:
    options = dataclasses.replace(Options(), controllers=("namespace",), leader_elect=False)
    manager = ControllerManager(load_kubeconfig(kubeconfig), options)
    task = asyncio.get_running_loop().create_task(manager.run())
    async with Client.from_kubeconfig(kubeconfig) as client:
        ns = f"bench-{run}"
        await client.create(Namespace(metadata=ObjectMeta(name=ns)))
        await fill(client, ns, n)
        await asyncio.wait_for(manager.leading.wait(), 60)
        c0, s0, t0 = time.process_time(), proc_cpu(server_pid), time.perf_counter()
        await client.delete(Namespace, ns)
        while manager.namespace is None or manager.namespace.finalized < 1:
            await asyncio.sleep(0.02)
        wall = time.perf_counter() - t0
        cpu_ctl, cpu_srv = time.process_time() - c0, proc_cpu(server_pid) - s0
        try:
            await client.get(Namespace, ns)
            raise AssertionError("namespace still there after finalize")
        except ApiError as e:
            assert e.not_found
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    objects = 2 * n + 1  # pods, events, the default ServiceAccount
    return {
        "wall_s": wall,
        "ctl_cpu_ms_per_obj": 1000 * cpu_ctl / objects,
        "srv_cpu_ms_per_obj": 1000 * cpu_srv / objects,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1000, help="pods (and as many events)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        handle, procs = start(Path(d))
        try:
            results: list[dict[str, Any]] = []
            for r in range(args.runs):
                results.append(asyncio.run(run_once(handle.kubeconfig, procs[0].proc.pid, args.objects, r)))
        finally:
            for p in procs:
                p.stop()
    med = {k: statistics.median(x[k] for x in results) for k in results[0]}
    print(f"namespace deletion, {args.objects} pods + {args.objects} events, median of {args.runs}:")
    print(
        f"  wall {med['wall_s']:.2f} s; CPU per object: controller {med['ctl_cpu_ms_per_obj']:.2f} ms, "
        f"API server {med['srv_cpu_ms_per_obj']:.2f} ms; load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
