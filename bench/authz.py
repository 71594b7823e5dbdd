"""Authorization cost (results in BENCHMARKS.md).

1. In process: CPU time per decision of the authorizer on a realistic policy (the bootstrap roles plus
   N namespaces each with a Role and a RoleBinding): system:masters, an RBAC decision remembered, an
   RBAC decision evaluated (no remembered one), a node's decision on a pod bound to it, and the
   attributes of a request built from its route.
2. End to end: pod creates against a real `skiff apiserver` as the admin (system:masters) and, side
   by side, as a service account allowed by a RoleBinding (impersonated by the admin, so each create
   also pays for the impersonation checks), with the server's CPU per create.

Run: python -m bench.authz [--namespaces N] [--pods N] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.apiserver import Conn, bench_creates, cpu_seconds, start_server
from skiff.apiserver import catalog
from skiff.apiserver.auth import bootstrap
from skiff.apiserver.auth.attributes import Attributes
from skiff.apiserver.auth.authorizer import Authorizer
from skiff.apiserver.auth.requests import route_attributes
from skiff.apiserver.auth.user import ADMIN, UserInfo
from skiff.apiserver.cache import WatchCache
from skiff.apiserver.handlers import Route
from skiff.apiserver.server import build
from skiff.apiserver.storage import encode_for_store
from skiff.ports import free_port
from skiff.store import open_store


def _role(ns: str) -> dict[str, Any]:
    return {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "app", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "create"]}],
    }


def _binding(ns: str) -> dict[str, Any]:
    return {
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "app", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
        "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}],
    }


def per_op_us(fn: Any, n: int) -> float:
    """CPU microseconds per call (process time, not wall clock: the machine is shared)."""
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n * 1e6


async def in_process(namespaces: int, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        store = open_store("sqlite", d)
        await store.start()
        await bootstrap.seed(store)
        for i in range(namespaces):
            ns = f"ns{i}"
            await store.create(f"/registry/roles/{ns}/app", encode_for_store(_role(ns)))
            await store.create(f"/registry/rolebindings/{ns}/app", encode_for_store(_binding(ns)))
            pod = {"metadata": {"name": "p", "namespace": ns}, "spec": {"nodeName": "node-1"}}
            await store.create(f"/registry/pods/{ns}/p", encode_for_store(pod))
        resources = catalog.build()
        cache = WatchCache(store, {r.store_plural: r.namespaced for r in resources})
        await cache.start()
        authz = Authorizer(cache)
        t0 = time.process_time()
        authz.rbac.refresh()
        build_ms = (time.process_time() - t0) * 1e3
        sa = UserInfo(
            "system:serviceaccount:ns7:app", groups=("system:serviceaccounts", "system:authenticated")
        )
        node = UserInfo("system:node:node-1", groups=("system:nodes", "system:authenticated"))
        create = Attributes(sa, "create", True, namespace="ns7", resource="pods")
        out: dict[str, float] = {"index_build_ms": build_ms, "namespaces": namespaces}

        async def timed(a: Attributes) -> float:
            t = time.process_time()
            for _ in range(n):
                await authz.authorize(a)
            return (time.process_time() - t) / n * 1e6

        out["masters_us"] = await timed(Attributes(ADMIN, "create", True, namespace="ns7", resource="pods"))
        out["rbac_remembered_us"] = await timed(create)
        names = [f"x{i}" for i in range(n)]

        t = time.process_time()
        for nm in names:  # each name is a new decision: the index is evaluated every time
            authz.rbac.allows(Attributes(sa, "get", True, namespace="ns7", resource="pods", name=nm))
        out["rbac_evaluated_us"] = (time.process_time() - t) / n * 1e6
        denied = Attributes(sa, "delete", True, namespace="ns8", resource="pods", name="p")
        t = time.process_time()
        for _ in range(n):
            authz.rbac.allows(denied)
        out["rbac_evaluated_denied_us"] = (time.process_time() - t) / n * 1e6
        out["node_pod_us"] = await timed(
            Attributes(node, "get", True, namespace="ns3", resource="pods", name="p")
        )
        pods = next(r for r in resources if r.plural == "pods" and not r.group)
        route = Route(pods, "ns7", None, None)
        out["attributes_us"] = per_op_us(lambda: route_attributes(sa, route, "POST", {}), n)
        # A whole request's authorization as the API server does it (impersonation, then the route),
        # for the admin and for the admin impersonating the service account.
        api, _ = build(store, "127.0.0.1:1")
        api.authz = authz
        base = [(b"host", b"x"), (b"content-type", b"application/json"), (b"accept", b"application/json")]
        for label, headers in (
            ("request_admin_us", base),
            ("request_impersonated_sa_us", [*base, (b"impersonate-user", b"system:serviceaccount:ns7:app")]),
        ):
            t = time.process_time()
            for _ in range(n):
                scope: dict[str, Any] = {
                    "type": "http",
                    "method": "POST",
                    "path": "/api/v1/x",
                    "headers": headers,
                }
                await api.admit(scope)
                await api.authorize_route(route, scope, {})
            out[label] = (time.process_time() - t) / n * 1e6
        await cache.stop()
        await store.close()
        return out


async def end_to_end(port: int, pid: int, pods: int, clients: int, runs: int) -> dict[str, Any]:
    host = "127.0.0.1"
    c = Conn(host, port)
    await c.open()
    await c.request("POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": "bench"}}).encode())
    role = _role("bench")
    await c.request(
        "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/bench/roles", json.dumps(role).encode()
    )
    binding = _binding("bench")
    path = "/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings"
    await c.request("POST", path, json.dumps(binding).encode())
    await asyncio.sleep(0.5)  # the binding reaches the authorizer through the watch cache
    sa = {"Impersonate-User": "system:serviceaccount:bench:app"}
    rows: dict[str, list[tuple[float, float]]] = {"admin": [], "service account": []}
    pair: list[tuple[str, dict[str, str] | None]] = [("admin", None), ("service account", sa)]
    for run in range(runs):  # interleaved, each first in turn: both see the same load and store size
        for who, headers in pair if run % 2 == 0 else pair[::-1]:
            c0 = cpu_seconds(pid)
            res = await bench_creates(host, port, "bench", pods, clients, headers, prefix=f"{who[0]}{run}-")
            rows[who].append((res["rate"], (cpu_seconds(pid) - c0) / pods * 1e6))
    c.close()
    return {
        who: {
            "creates_per_s_median": statistics.median(r for r, _ in vals),
            "server_cpu_us_per_create_median": statistics.median(u for _, u in vals),
            "runs": vals,
        }
        for who, vals in rows.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--decisions", type=int, default=20000)
    ap.add_argument("--pods", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import uvloop

    out: dict[str, Any] = {"in_process": uvloop.run(in_process(args.namespaces, args.decisions))}
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = start_server(Path(d), port)
        try:
            out["end_to_end"] = uvloop.run(end_to_end(port, proc.pid, args.pods, args.clients, args.runs))
        finally:
            proc.terminate()
            proc.wait(10)
    out["machine"] = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}"
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
