"""What the kubelet's TLS, authentication and authorization cost (results in BENCHMARKS.md, security).

1. End to end: a real `skiff apiserver` and a `skiff kubelet` (process runtime, as system:node:NODE)
   from a checkout (--checkout: this one, or another to compare, e.g. a main from before the kubelet
   served HTTPS); N sequential `pods/log` GETs and N sequential `pods/exec` websockets (`true`) through
   the API server as the admin: wall time per request (median) and CPU of the API server and of the
   kubelet per request. The kubelet's decisions are cached, so after the first request each costs the
   TLS leg plus a cache hit.
2. In process: CPU per DelegatedAuth.check() answered from the cache (client certificate; bearer token),
   and the wall time of a miss (one SubjectAccessReview to the API server).

Run: python -m bench.kubelet_auth [--requests N] [--runs R] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.apiserver import cpu_seconds
from bench.procstat import loadavg
from skiff.apiserver.auth import certs, kubeconfigs
from skiff.client import Client
from skiff.client.delegated import Attrs, Caller, DelegatedAuth
from skiff.kubelet.auth import node_attributes
from skiff.tlspeer import PEER_SCOPE_KEY
from tests.fixtures.apiserver import free_port

NODE = "bench-node"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "nodeName": NODE,
        "containers": [{"name": "c", "image": "x", "command": ["sh", "-c", "echo hello; sleep 3600"]}],
    },
}


def _wait(check: Any, what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except (httpx.HTTPError, ssl.SSLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out: {what}")


def start(
    checkout: Path, data: Path
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], str, ssl.SSLContext]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    api = subprocess.Popen(
        [sys.executable, "-m", "skiff", "apiserver", "--data-dir", str(data), "--port", str(port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data.parent / "apiserver.log", "wb"),  # noqa: SIM115
    )
    url = f"https://127.0.0.1:{port}"
    _wait(lambda: (data / "kubeconfig").exists(), "the API server")
    tls = ssl.create_default_context(cafile=str(data / "pki" / "ca.crt"))
    tls.load_cert_chain(str(data / "pki" / "admin.pem"))
    _wait(lambda: httpx.get(url + "/readyz", verify=tls).status_code == 200, "readyz")
    kc = kubeconfigs.write(
        data / "node.kubeconfig",
        kubeconfigs.for_user(data, url, f"system:node:{NODE}", ["system:nodes"], "kubelet-bench"),
    )
    args = ["--kubeconfig", kc, "--node-name", NODE, "--runtime", "process", "--address", "127.0.0.1"]
    args += ["--port", str(free_port()), "--root-dir", str(data / "root")]
    help_text = subprocess.run(
        [sys.executable, "-m", "skiff", "kubelet", "--help"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    if "--tls-cert-file" in help_text:
        args += ["--tls-cert-file", str(certs.kubelet_serving_pem(data, NODE, ["127.0.0.1"]))]
    kubelet = subprocess.Popen(
        [sys.executable, "-m", "skiff", "kubelet", *args],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data.parent / "kubelet.log", "wb"),  # noqa: SIM115
    )
    with httpx.Client(base_url=url, verify=tls) as c:
        _wait(lambda: c.get(f"/api/v1/nodes/{NODE}").status_code == 200, "node registration")
        c.post("/api/v1/namespaces/default/pods", json=POD).raise_for_status()
        _wait(
            lambda: c.get("/api/v1/namespaces/default/pods/p/log").text.startswith("hello"),
            "the pod's log",
        )
    return api, kubelet, url, tls


async def _exec_once(url: str, tls: ssl.SSLContext) -> None:
    ws_url = url.replace("https", "wss") + "/api/v1/namespaces/default/pods/p/exec?command=true&stdout=true"
    async with websockets.connect(ws_url, subprotocols=["v5.channel.k8s.io"], ssl=tls) as ws:  # type: ignore[list-item]
        async for _ in ws:
            pass


def end_to_end(checkout: Path, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-kubelet-auth-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        api, kubelet, url, tls = start(checkout, data)
        try:
            out: dict[str, float] = {}
            with httpx.Client(base_url=url, verify=tls) as c:
                walls = []
                a0, k0 = cpu_seconds(api.pid), cpu_seconds(kubelet.pid)
                for _ in range(n):
                    t = time.perf_counter()
                    c.get("/api/v1/namespaces/default/pods/p/log").raise_for_status()
                    walls.append(time.perf_counter() - t)
                out["log_ms"] = statistics.median(walls) * 1000
                out["log_api_cpu_us"] = (cpu_seconds(api.pid) - a0) / n * 1e6
                out["log_kubelet_cpu_us"] = (cpu_seconds(kubelet.pid) - k0) / n * 1e6
            walls = []
            a0, k0 = cpu_seconds(api.pid), cpu_seconds(kubelet.pid)
            for _ in range(n):
                t = time.perf_counter()
                asyncio.run(_exec_once(url, tls))
                walls.append(time.perf_counter() - t)
            out["exec_ms"] = statistics.median(walls) * 1000
            out["exec_api_cpu_us"] = (cpu_seconds(api.pid) - a0) / n * 1e6
            out["exec_kubelet_cpu_us"] = (cpu_seconds(kubelet.pid) - k0) / n * 1e6
            return out
        finally:
            for p in (kubelet, api):
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()


async def in_process(url: str, kubeconfig: str, n: int) -> dict[str, float]:
    client = Client.from_kubeconfig(kubeconfig)
    auth = DelegatedAuth(client)
    attributes = node_attributes(NODE)
    peer = {
        "type": "http",
        "method": "GET",
        "path": "/containerLogs/default/p/c",
        PEER_SCOPE_KEY: ("kubernetes-admin", ("system:masters",)),
    }
    bearer = {
        "type": "http",
        "method": "GET",
        "path": "/metrics",
        "headers": [(b"authorization", b"Bearer x")],
    }
    auth.tokens.put(hashlib.sha256(b"x").digest(), Caller("robot", groups=("g",)), 1e9)
    auth.decisions.put((Caller("robot", groups=("g",)), Attrs("get", "nodes", "metrics", NODE)), True, 1e9)
    out: dict[str, float] = {}
    t = time.perf_counter()
    await auth.check(peer, attributes(peer))  # the miss: one SubjectAccessReview
    out["miss_ms"] = (time.perf_counter() - t) * 1000
    for name, scope in (("hit_cert_us", peer), ("hit_token_us", bearer)):
        c0 = time.process_time()
        for _ in range(n):
            assert (await auth.check(scope, attributes(scope))).code == 0
        out[name] = (time.process_time() - c0) / n * 1e6
    await client.aclose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--checkout", default=str(Path(__file__).resolve().parent.parent))
    args = ap.parse_args()
    runs = [end_to_end(Path(args.checkout), args.requests) for _ in range(args.runs)]
    result: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
    with tempfile.TemporaryDirectory(prefix="bench-kubelet-auth-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        api, kubelet, url, _ = start(Path(__file__).resolve().parent.parent, data)
        try:
            result.update(
                {
                    k: round(v, 2)
                    for k, v in asyncio.run(in_process(url, str(data / "kubeconfig"), 20000)).items()
                }
            )
        finally:
            for p in (kubelet, api):
                p.terminate()
                p.wait(15)
    result["checkout"] = args.checkout
    result["load"] = loadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
