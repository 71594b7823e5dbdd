"""How fast `skiff up` answers: from the command's start until the kubeconfig is written, the API
answers and every node is Ready (issue target: 3 s on this 2-core machine).

    python -m bench.up [--runs 5] [--runtime docker|process] [--nodes 1]

Each run starts `skiff up` in a fresh data dir, polls the API through the kubeconfig, then stops it
with SIGTERM and also reports how long the stop took. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bench.tls import admin_tls
from skiff.ports import free_port


def node_ready_count(server: str, verify: ssl.SSLContext) -> int:
    body = httpx.get(f"{server}/api/v1/nodes", timeout=2, verify=verify).json()
    ready = 0
    for node in body.get("items", []):
        conditions = node.get("status", {}).get("conditions", [])
        ready += any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return ready


def one_run(runtime: str, nodes: int) -> tuple[float, float, float]:
    """Returns (seconds to kubeconfig+API, seconds to all nodes Ready, seconds to stop)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        argv = [sys.executable, "-m", "skiff", "up", "--data-dir", str(data), "--port", str(port)]
        argv += ["--runtime", runtime, "--nodes", str(nodes)]
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kubeconfig = data / "kubeconfig"
        while not kubeconfig.exists():
            time.sleep(0.01)
        server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        verify = admin_tls(data)
        while True:
            try:
                if httpx.get(f"{server}/readyz", timeout=1, verify=verify).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        api_up = time.monotonic() - started
        while True:
            try:
                if node_ready_count(server, verify) >= nodes:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        ready = time.monotonic() - started
        stop_started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        return api_up, ready, time.monotonic() - stop_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--nodes", type=int, default=1)
    args = parser.parse_args()
    results = [one_run(args.runtime, args.nodes) for _ in range(args.runs)]
    for i, label in enumerate(["API up, kubeconfig written", "all nodes Ready", "stop (SIGTERM) took"]):
        values = [r[i] for r in results]
        print(
            f"{label}: median {statistics.median(values):.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f}, runs {len(values)})"
        )
    print(f"up_ready_s={statistics.median(r[1] for r in results):.2f}")


if __name__ == "__main__":
    main()
