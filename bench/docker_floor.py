"""How fast this machine's dockerd creates and starts containers: the floor under the kubelet's pod startup.

`python -m bench.docker_floor [--count N] [--concurrency 1,2,4,8] [--variants ...] [--host URL]`

Each trial creates and starts `count` busybox containers (`sleep`) from `concurrency` threads through the
Docker SDK's low-level API (what the kubelet's runtime uses), timing from the first create to the last
start; then removes them (not timed). Reports containers/s, ms per container per thread, and CPU seconds
per container of dockerd + containerd (+ shims and runc, reaped children included) and of the whole
machine (the machine is shared, so the latter includes others' work). Only containers labelled with this
run's label are ever removed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import docker

from bench.procstat import daemon_pids, loadavg, machine_cpu, proc_cpu

IMAGE = os.environ.get("SKIFF_PAUSE_IMAGE", "busybox:1.35")
LABEL = "io.skiff.bench"


def _host_config(api: docker.APIClient, **kw: Any) -> dict[str, Any]:
    return dict(api.create_host_config(**kw))


VARIANTS: dict[str, Callable[[docker.APIClient, dict[str, str]], dict[str, Any]]] = {
    "bridge": lambda api, ctx: {"host_config": _host_config(api, network_mode="bridge")},
    "none": lambda api, ctx: {"host_config": _host_config(api, network_mode="none")},
    "host": lambda api, ctx: {"host_config": _host_config(api, network_mode="host")},
    "container": lambda api, ctx: {
        "host_config": _host_config(
            api, network_mode=f"container:{ctx['sandbox']}", ipc_mode=f"container:{ctx['sandbox']}"
        )
    },
    "bridge+ipc": lambda api, ctx: {
        "host_config": _host_config(api, network_mode="bridge", ipc_mode="shareable")
    },
    "bridge+init": lambda api, ctx: {"host_config": _host_config(api, network_mode="bridge", init=True)},
    "bridge+log-none": lambda api, ctx: {
        "host_config": _host_config(api, network_mode="bridge", log_config={"Type": "none"})
    },
    "bridge+log-local": lambda api, ctx: {
        "host_config": _host_config(api, network_mode="bridge", log_config={"Type": "local"})
    },
    "container+log-none": lambda api, ctx: {
        "host_config": _host_config(
            api,
            network_mode=f"container:{ctx['sandbox']}",
            ipc_mode=f"container:{ctx['sandbox']}",
            log_config={"Type": "none"},
        )
    },
    "bridge+ipc+log-none": lambda api, ctx: {
        "host_config": _host_config(
            api, network_mode="bridge", ipc_mode="shareable", log_config={"Type": "none"}
        )
    },
    "none+log-none": lambda api, ctx: {
        "host_config": _host_config(api, network_mode="none", log_config={"Type": "none"})
    },
    "bridge+no-healthcheck": lambda api, ctx: {
        "host_config": _host_config(api, network_mode="bridge"),
        "healthcheck": {"Test": ["NONE"]},
    },
}


def trial(
    api: docker.APIClient, variant: str, count: int, concurrency: int, run_label: str, start: bool = True
) -> dict[str, float]:
    ctx: dict[str, str] = {}
    labels = {LABEL: run_label}
    if variant.startswith("container"):
        sb = api.create_container(
            IMAGE,
            command=["sleep", "3600"],
            labels=labels,
            host_config=_host_config(api, network_mode="bridge", ipc_mode="shareable"),
        )["Id"]
        api.start(sb)
        ctx["sandbox"] = sb
    kwargs = VARIANTS[variant](api, ctx)
    ids: list[str] = []

    def one(_: int) -> str:
        cid = str(api.create_container(IMAGE, command=["sleep", "3600"], labels=labels, **kwargs)["Id"])
        if start:
            api.start(cid)
        return cid

    before = {p: proc_cpu(p) for p in daemon_pids()}
    m0 = machine_cpu()
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        ids = list(pool.map(one, range(count)))
    wall = time.monotonic() - t0
    # Shims started during the trial count too (their runc children are reaped into cstime); a
    # process that ended meanwhile (another engineer's shim) drops out of both sums.
    after = {p: proc_cpu(p) for p in daemon_pids()}
    daemon = sum(cpu - before.get(p, 0.0) for p, cpu in after.items())
    m1 = machine_cpu()
    for cid in ids + ([ctx["sandbox"]] if "sandbox" in ctx else []):
        api.remove_container(cid, force=True)
    return {
        "rate": count / wall,
        "ms_per": wall / count * concurrency * 1000,
        "daemon_cpu": daemon / count,
        "machine_cpu": (m1 - m0) / count,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--variants", default="bridge")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--create-only", action="store_true", help="time create without start")
    parser.add_argument("--host", default=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    args = parser.parse_args(argv)
    api = docker.APIClient(base_url=args.host, version="auto", timeout=120, max_pool_size=16)
    run_label = f"floor-{uuid.uuid4().hex[:8]}"
    print(f"dockerd {api.version()['Version']} at {args.host}, image {IMAGE}, {args.count} per trial")
    print(
        "variant | conc | containers/s | ms per container per thread | "
        "daemon CPU s/ctr | machine CPU s/ctr | load"
    )
    try:
        for variant in args.variants.split(","):
            for conc in [int(c) for c in args.concurrency.split(",")]:
                results = [
                    trial(api, variant, args.count, conc, run_label, start=not args.create_only)
                    for _ in range(args.runs)
                ]

                def med(key: str, rs: list[dict[str, float]] = results) -> float:
                    return statistics.median(r[key] for r in rs)

                print(
                    f"{variant} | {conc} | {med('rate'):.1f} | {med('ms_per'):.0f} | "
                    f"{med('daemon_cpu'):.3f} | {med('machine_cpu'):.3f} | {loadavg()}",
                    flush=True,
                )
    finally:
        for row in api.containers(all=True, filters={"label": f"{LABEL}={run_label}"}):
            api.remove_container(row["Id"], force=True)


if __name__ == "__main__":
    main()
