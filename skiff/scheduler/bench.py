"""`skiff bench scheduler`: pods bound per second, through a live API server or the algorithm alone.

Through the API (default): N nodes and M pods are created through the API server (one is started in a
temporary directory when no --kubeconfig is given), then the scheduler starts, syncs its informers, and
binds every pod; throughput = M / (time from the start of the scheduling loop to the last binding).
With --algorithm-only the same workload runs through the scheduling cycle (filters, scores, assume,
reserve, permit) without the API. The last line printed is `throughput_pods_per_s=<number>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from skiff.ports import free_port

from .cache import Cache
from .config import build_frameworks, parse_config
from .framework import CycleState, FitError, Handle
from .types import node_info, pod_info
from .workloads import make_filler, make_node, make_pod

Echo = Callable[[str], None]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_algorithm(nodes: int, pods: int, workload: str, echo: Echo = print, seed: int = 1) -> float:
    cache = Cache(capacity=max(64, nodes))
    handle = Handle(cache)
    fw = next(iter(build_frameworks(parse_config({}), handle, seed=seed).values()))
    for i in range(nodes):
        cache.add_node(node_info(make_node(i, workload)))
    if workload == "preemption":
        k = 0
        for i in range(nodes):
            for _ in range(4):
                cache.add_pod(pod_info(make_filler(k, f"node-{i}")))
                k += 1
    infos = [pod_info(make_pod(i, workload)) for i in range(pods)]
    bound = failed = preempted = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for p in infos:
        state = CycleState()
        try:
            node = fw.schedule(state, p).node
        except FitError as e:
            post = fw.run_post_filter(state, p, e.diagnosis)
            if post.nominated_node:
                for v in post.victims:
                    cache.remove_pod(v.key)
                preempted += 1
                node = post.nominated_node
            else:
                failed += 1
                continue
        cache.assume(p, node)
        fw.run_reserve(state, p, node)
        fw.run_permit(state, p, node)
        bound += 1
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    rate = bound / dt if dt > 0 else 0.0
    echo(
        f"algorithm-only workload={workload} nodes={nodes} pods={pods} placed={bound} unschedulable={failed} "
        f"preemptions={preempted} seconds={dt:.3f} cpu_seconds={cpu:.3f} "
        f"pods_per_cpu_second={bound / cpu if cpu > 0 else 0:.0f} peak_rss_mib={peak_rss_mib():.0f}"
    )
    return rate


# ---------------------------------------------------------------- through the API


@contextlib.contextmanager
def _apiserver(echo: Echo) -> Any:
    """A throwaway `skiff apiserver` on SQLite in a temporary directory; yields (kubeconfig path, pid)."""
    d = tempfile.mkdtemp(prefix="skiff-bench-")
    port = free_port()
    log = open(os.path.join(d, "apiserver.log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "skiff", "apiserver", "--data-dir", d, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    kc = os.path.join(d, "kubeconfig")
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(kc):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start (see {d}/apiserver.log)")
            time.sleep(0.1)
        echo(f"started an API server on port {port} (data in {d})")
        yield kc, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


async def _create_all(client: Any, kind: Any, objs: list[dict[str, Any]], concurrency: int = 32) -> None:
    from skiff.api.codec import from_builtins

    sem = asyncio.Semaphore(concurrency)

    async def one(o: dict[str, Any]) -> None:
        async with sem:
            obj = from_builtins(kind, o)
            for attempt in range(5):
                try:
                    await client.create(obj)
                    return
                except Exception as e:
                    if "already exists" in str(e):
                        return
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))

    await asyncio.gather(*(one(o) for o in objs))


async def _force_delete(client: Any, name: str, namespace: str | None) -> None:
    from skiff.api.core import Pod

    with contextlib.suppress(Exception):
        await client.delete(Pod, name, namespace, grace_period_seconds=0)


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU of another process so far (0 when unknown): the API server's share of the work."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run_api(
    kubeconfig: str, nodes: int, pods: int, workload: str, echo: Echo, apiserver_pid: int | None = None
) -> float:
    from skiff.api.core import Node, Pod
    from skiff.api.scheduling import PriorityClass
    from skiff.client import Client
    from skiff.client.kubeconfig import load_kubeconfig

    from .scheduler import Scheduler

    client = Client(load_kubeconfig(kubeconfig), max_connections=16)
    try:
        t0 = time.perf_counter()
        await _create_all(client, Node, [make_node(i, workload) for i in range(nodes)])
        if workload == "preemption":
            for name, value in (("bench-low", 0), ("bench-high", 1000)):
                await _create_all(
                    client,
                    PriorityClass,
                    [
                        {
                            "apiVersion": "scheduling.k8s.io/v1",
                            "kind": "PriorityClass",
                            "metadata": {"name": name},
                            "value": value,
                        }
                    ],
                )
            fillers = [make_filler(k, f"node-{k // 4}") for k in range(nodes * 4)]
            await _create_all(client, Pod, fillers)
        objs = [make_pod(i, workload) for i in range(pods)]
        for o in objs:
            o["metadata"].pop("uid", None)
            if workload == "preemption":
                o["spec"].pop("priority", None)
        await _create_all(client, Pod, objs)
        echo(f"created {nodes} nodes and {pods} pods in {time.perf_counter() - t0:.1f}s")
        cfg = parse_config({"leaderElection": {"leaderElect": False}})
        sched = Scheduler(client, cfg)
        if workload == "preemption":
            # No kubelet runs in this benchmark: finish the victims' graceful deletion as one would.
            def on_update(old: Pod, new: Pod) -> None:
                if new.metadata.deletion_timestamp and new.spec and new.spec.node_name:
                    name, ns = new.metadata.name or "", new.metadata.namespace
                    asyncio.get_running_loop().create_task(_force_delete(client, name, ns))

            sched.pods.add_handler(on_update=on_update)
        t_sync = time.perf_counter()
        run = asyncio.get_running_loop().create_task(sched.run())
        await sched.leading.wait()
        t_start = time.perf_counter()
        c_start = time.process_time()
        a_start = process_cpu_seconds(apiserver_pid)
        echo(f"scheduler synced in {t_start - t_sync:.2f}s")
        target = pods
        last_report = t_start
        while True:
            await asyncio.sleep(0.2)
            bound = sched.stats.bound
            now = time.perf_counter()
            if now - last_report >= 1.0:
                echo(
                    f"  t={now - t_start:5.1f}s bound={bound} queue={len(sched.queue)} "
                    f"failed={sched.stats.failed}"
                )
                last_report = now
            if bound >= target:
                break
            if now - t_start > 600:
                echo("timed out waiting for bindings")
                break
            if run.done():
                run.result()
        dt = time.perf_counter() - t_start
        cpu = time.process_time() - c_start
        api_cpu = process_cpu_seconds(apiserver_pid) - a_start
        sched.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(run, 10)
        rate = sched.stats.bound / dt if dt > 0 else 0.0
        echo(
            f"through-api workload={workload} nodes={nodes} pods={pods} bound={sched.stats.bound} "
            f"seconds={dt:.2f} preemptions={sched.stats.preemptions} "
            f"scheduler_cpu_ms_per_pod={cpu / max(sched.stats.bound, 1) * 1000:.2f} "
            + (
                f"apiserver_cpu_ms_per_pod={api_cpu / max(sched.stats.bound, 1) * 1000:.2f} "
                if apiserver_pid is not None
                else ""
            )
            + (
                f"events_posted={sched.recorder.posted} events_dropped={sched.recorder.dropped} "
                if sched.recorder is not None
                else ""
            )
            + f"loadavg={os.getloadavg()[0]:.1f} "
            f"peak_rss_mib={peak_rss_mib():.0f}"
        )
        return rate
    finally:
        await client.aclose()


def run_api(kubeconfig: str | None, nodes: int, pods: int, workload: str, echo: Echo = print) -> float:
    from .scheduler import run_event_loop  # the loop `skiff scheduler` runs on

    if kubeconfig:
        return run_event_loop(_run_api(kubeconfig, nodes, pods, workload, echo))
    with _apiserver(echo) as (kc, pid):
        return run_event_loop(_run_api(kc, nodes, pods, workload, echo, pid))
