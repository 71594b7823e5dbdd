"""Kubelet benchmark: pod startup latency on one node, and hollow nodes' memory.

    python -m bench.kubelet [--runtime docker|process|both] [--pods 100] [--rate 10] [--runs 3]
    python -m bench.kubelet --hollow 5000 [--settle 30]

Startup: a fresh API server and `skiff kubelet` (separate processes, as in `skiff up`); pods with
spec.nodeName set (no scheduler in the path) are created at --rate per second; latency is from just
before the create request to the watch event showing the pod Running with all containers running
(Kubernetes' pod startup SLI, image present). Each run reports p50/p99 and the time until all pods ran;
the table shows the median over --runs. Then the pods are deleted and the bench waits until the node
has no containers left.

Hollow: `skiff kubelet --runtime hollow --count N`, waits until N nodes are Ready, lets heartbeats run
for --settle seconds and reports the kubelet process's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import msgspec

from bench import tls
from bench.procstat import daemon_pids, loadavg, proc_cpu
from skiff.api import core
from skiff.api.coordination import Lease
from skiff.client import Client
from skiff.client.rest import ApiError
from skiff.ports import free_port


class Procs:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        p = subprocess.Popen([sys.executable, "-m", "skiff", *args], stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


async def start_apiserver(procs: Procs) -> str:
    port = free_port()
    data = procs.tmp / "data"
    procs.start("apiserver", "apiserver", "--data-dir", str(data), "--port", str(port), "--bind", "127.0.0.1")
    for _ in range(600):
        if tls.ready(data):
            async with httpx.AsyncClient(verify=tls.admin_tls(data)) as http:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"https://127.0.0.1:{port}/version")).status_code == 200:
                        return str(data / "kubeconfig")
        await asyncio.sleep(0.1)
    raise SystemExit("the API server did not start; see " + str(procs.tmp / "apiserver.log"))


async def wait_node_ready(client: Client, name: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            node = await client.get(core.Node, name)
            conds = node.status.conditions if node.status else None
            if any(c.type == "Ready" and c.status == "True" for c in conds or []):
                return
        except ApiError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"node {name} never became Ready")


def _all_running(pod: core.Pod) -> bool:
    st = pod.status
    if st is None or st.phase != "Running" or not st.container_statuses:
        return False
    return all(s.state is not None and s.state.running is not None for s in st.container_statuses)


async def startup_run(runtime: str, pods: int, rate: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="skiff-kubelet-bench-") as tmpdir:
        procs = Procs(Path(tmpdir))
        try:
            kubeconfig = await start_apiserver(procs)
            node = f"bench-{uuid.uuid4().hex[:6]}"
            kubelet = procs.start(
                "kubelet",
                "kubelet",
                "--kubeconfig",
                kubeconfig,
                "--node-name",
                node,
                "--runtime",
                runtime,
                "--address",
                "127.0.0.1",
                "--port",
                "0",
                "--root-dir",
                str(Path(tmpdir) / "process"),
            )
            client = Client.from_kubeconfig(kubeconfig)
            try:
                await wait_node_ready(client, node)
                pids: dict[str, list[int]] = {
                    "kubelet": [kubelet.pid],
                    "apiserver": [procs.procs[0].pid],
                    "daemon": [],
                }
                if runtime == "docker":
                    pids["daemon"] = daemon_pids()
                before = {k: {p: proc_cpu(p) for p in v} for k, v in pids.items()}
                result = await _measure(client, node, runtime, pods, rate)
                if pids["daemon"]:
                    pids["daemon"] = daemon_pids()  # shims started meanwhile count too
                for key, pid_list in pids.items():
                    used = sum(proc_cpu(p) - before[key].get(p, 0.0) for p in pid_list)
                    result[f"cpu_{key}"] = used / pods
                result["load"] = float(loadavg().split()[0])
                return result
            finally:
                await client.aclose()
        finally:
            procs.stop()


async def _measure(client: Client, node: str, runtime: str, pods: int, rate: float) -> dict[str, float]:
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    done = asyncio.Event()
    listed = await client.list(core.Pod, "default")

    async def watch() -> None:
        async for ev in client.watch(core.Pod, "default", resource_version=listed.resource_version):
            pod = ev.object
            name = pod.metadata.name or ""
            if name in sent and name not in latencies and _all_running(pod):
                latencies[name] = time.perf_counter() - sent[name]
                if len(latencies) == pods:
                    done.set()
                    return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.2)
    command = ["sleep", "3600"]
    t0 = time.perf_counter()
    for i in range(pods):
        name = f"p{i}"
        body = {
            "metadata": {"name": name},
            "spec": {
                "nodeName": node,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "c", "image": "busybox:1.35", "command": command}],
            },
        }
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent[name] = time.perf_counter()
        await client.create(msgspec.convert(body, core.Pod), "default")
    await asyncio.wait_for(done.wait(), 300)
    total = time.perf_counter() - t0
    watcher.cancel()
    values = sorted(latencies.values())
    result = {
        "p50": statistics.median(values),
        "p99": values[min(len(values) - 1, round(0.99 * (len(values) - 1)))],
        "max": values[-1],
        "all_running_s": total,
    }
    # Tear down through the kubelet: delete every pod and wait until they are gone.
    for i in range(pods):
        await client.delete(core.Pod, f"p{i}", "default")
    end = time.monotonic() + 300
    while time.monotonic() < end:
        if not (await client.list(core.Pod, "default")).items:
            break
        await asyncio.sleep(0.5)
    if runtime == "docker":
        # The pods are gone from the API; wait until the kubelet removed their containers too.
        import docker

        dc = docker.from_env()
        try:
            while time.monotonic() < end and dc.api.containers(
                all=True, filters={"label": f"io.skiff.node={node}"}
            ):
                await asyncio.sleep(0.5)
        finally:
            dc.close()
    result["teardown_s"] = time.perf_counter() - t0 - total
    return result


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hollow_run(count: int, settle: float, cap: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="skiff-kubelet-bench-") as tmpdir:
        procs = Procs(Path(tmpdir))
        try:
            kubeconfig = await start_apiserver(procs)
            prefix = f"hollow{uuid.uuid4().hex[:4]}"
            t0 = time.perf_counter()
            kp = procs.start(
                "kubelet", "kubelet", "--kubeconfig", kubeconfig, "--node-name", prefix,
                "--runtime", "hollow", "--count", str(count),
            )  # fmt: skip
            client = Client.from_kubeconfig(kubeconfig, timeout=120)
            try:
                ready = 0
                peak = 0.0
                while time.perf_counter() - t0 < cap:
                    ready = _ready_nodes(await client.list(core.Node))
                    peak = max(peak, _rss_mib(kp.pid))
                    if ready >= count:
                        break
                    if kp.poll() is not None:
                        raise SystemExit(
                            "the hollow kubelet exited; see " + str(Path(tmpdir) / "kubelet.log")
                        )
                    await asyncio.sleep(2)
                registered = time.perf_counter() - t0
                end = time.perf_counter() + settle
                while time.perf_counter() < end:
                    peak = max(peak, _rss_mib(kp.pid))
                    await asyncio.sleep(1)
                leases = len((await client.list(Lease, "kube-node-lease")).items)
                return {
                    "nodes": count,
                    "ready": ready,
                    "leases": leases,
                    "registered_s": registered,
                    "rss_mib": _rss_mib(kp.pid),
                    "peak_mib": peak,
                }
            finally:
                await client.aclose()
        finally:
            procs.stop()


def _ready_nodes(nodes: Any) -> int:
    n = 0
    for node in nodes.items:
        conds = node.status.conditions if node.status else None
        n += any(c.type == "Ready" and c.status == "True" for c in conds or [])
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", default="both", choices=["docker", "process", "both"])
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hollow", type=int, default=0, help="measure N hollow nodes instead")
    ap.add_argument("--settle", type=float, default=30.0)
    ap.add_argument("--cap", type=float, default=900.0, help="hollow: stop waiting for Ready after this")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    if args.hollow:
        r = asyncio.run(hollow_run(args.hollow, args.settle, args.cap))
        print(
            f"| hollow nodes | {r['nodes']} | Ready: {r['ready']} after {r['registered_s']:.0f} s | "
            f"leases {r['leases']} | kubelet RSS after {args.settle:g} s more: {r['rss_mib']:.0f} MiB "
            f"(peak {r['peak_mib']:.0f} MiB) |"
        )
        return
    runtimes = ["docker", "process"] if args.runtime == "both" else [args.runtime]
    print(
        "| runtime | pods | rate/s | p50 ms | p99 ms | max ms | all running s | teardown s | "
        "CPU ms/pod kubelet | apiserver | docker daemons | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for rt in runtimes:
        runs = [asyncio.run(startup_run(rt, args.pods, args.rate)) for _ in range(args.runs)]

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"| {rt} | {args.pods} | {args.rate:g} | {med('p50') * 1000:.0f} | {med('p99') * 1000:.0f} | "
            f"{med('max') * 1000:.0f} | {med('all_running_s'):.1f} | {med('teardown_s'):.1f} | "
            f"{med('cpu_kubelet') * 1000:.0f} | {med('cpu_apiserver') * 1000:.0f} | "
            f"{med('cpu_daemon') * 1000:.0f} | {med('load'):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
