"""The dashboard at 1,000 pods and 100 nodes, in real headless Chromium.

    python -m bench.ui [--runs 3] [--nodes 100] [--pods 1000] [--burst 100]

Starts `skiff up --runtime hollow --nodes N`, creates the pods and waits until they run, then per run
opens the dashboard in a fresh headless Chromium and measures, in the page's own clock:
- load: from navigation start until the first render with every node and pod listed;
- burst: from the first create of ``--burst`` new pods until the page shows all of them Running (the
  pods are created, scheduled and started while the page watches);
- the longest single render pass and the longest main-thread task (Long Tasks API) over the run, which
  is what a user feels as a freeze;
- journey: from choosing a pod until its sequence diagram is drawn.
Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.tls import admin_tls
from skiff.ports import free_port
from tests.fixtures.chromium import Browser

LONGTASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ]
        },
    }


# The admin's TLS context, once `skiff up` has written the data dir's CA and certificates.
TLS: ssl.SSLContext | bool = True


async def create_pods(server: str, names: list[str], concurrency: int = 16) -> None:
    queue = list(names)
    async with httpx.AsyncClient(base_url=server, timeout=30, verify=TLS) as client:

        async def worker() -> None:
            while queue:
                name = queue.pop()
                r = await client.post("/api/v1/namespaces/default/pods", json=pod(name))
                r.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def count(server: str, path: str, running: bool = False, ready: bool = False) -> int:
    items = httpx.get(f"{server}{path}", timeout=30, verify=TLS).json().get("items", [])
    if running:
        return sum(1 for p in items if p.get("status", {}).get("phase") == "Running")
    if ready:
        return sum(
            1
            for n in items
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        )
    return len(items)


def wait(check: Any, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench.ui: timed out waiting for {what}")
        time.sleep(0.5)


def one_run(browser: Browser, data: Path, server: str, run: int, burst: int, pods: int) -> dict[str, float]:
    browser.send("Page.enable")
    browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": LONGTASKS})
    browser.navigate((data / "dashboard-url").read_text().strip())
    browser.wait_for(
        f"window.skiffUI && window.skiffUI.stats.firstFullRenderAt !== null"
        f" && document.querySelectorAll('.pod').length >= {pods}",
        timeout=120,
        what="every pod listed",
    )
    load_ms = browser.evaluate("window.skiffUI.stats.firstFullRenderAt")
    load_max_render = browser.evaluate("window.skiffUI.stats.maxMs")
    prefix = f"burst-{run}-"
    browser.evaluate(
        f"""(() => {{ const ui = window.skiffUI; ui.stats.maxMs = 0; ui.burstDone = null;
        ui.afterRender = () => {{
          if (ui.burstDone !== null) return;
          let n = 0;
          for (const [k, p] of ui.state.pods) if (k.startsWith('default/{prefix}')
              && p.status && p.status.phase === 'Running') n += 1;
          if (n >= {burst}) ui.burstDone = performance.now();
        }}; return true; }})()"""
    )
    t0 = browser.evaluate("performance.now()")
    asyncio.run(create_pods(server, [f"{prefix}{i}" for i in range(burst)]))
    browser.wait_for("window.skiffUI.burstDone !== null", timeout=180, what="burst pods Running on the page")
    burst_ms = browser.evaluate("window.skiffUI.burstDone") - t0
    burst_max_render = browser.evaluate("window.skiffUI.stats.maxMs")
    journey_ms = browser.evaluate(
        """new Promise((resolve) => {
          const key = [...window.skiffUI.state.pods.keys()][0];
          const t0 = performance.now();
          window.skiffUI.choose(key);
          const tick = () => {
            const s = document.querySelector('#journey svg');
            if (s && s.dataset.pod === key) resolve(performance.now() - t0); else requestAnimationFrame(tick);
          };
          tick();
        })"""
    )
    longest_task = browser.evaluate("window.__longest")
    return {
        "load_ms": load_ms,
        "load_longest_render_ms": load_max_render,
        "burst_ms": burst_ms,
        "burst_longest_render_ms": burst_max_render,
        "journey_ms": journey_ms,
        "longest_task_ms": longest_task,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--screenshot", default=None, help="save the last run's page as this PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        server = f"https://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "skiff", "up", "--data-dir", str(data), "--port", str(port)]
        argv += ["--runtime", "hollow", "--nodes", str(args.nodes)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(lambda: (data / "dashboard-url").exists(), "skiff up")
            global TLS
            TLS = admin_tls(data)
            wait(lambda: count(server, "/api/v1/nodes", ready=True) >= args.nodes, "nodes Ready")
            asyncio.run(create_pods(server, [f"pod-{i}" for i in range(args.pods)]))
            wait(lambda: count(server, "/api/v1/pods", running=True) >= args.pods, "pods Running")
            results = []
            for run in range(args.runs):
                browser = Browser(trust_pem=data / "pki" / "apiserver-127.0.0.1.pem")
                try:
                    results.append(
                        one_run(browser, data, server, run, args.burst, args.pods + run * args.burst)
                    )
                    if args.screenshot:
                        Path(args.screenshot).write_bytes(browser.screenshot())
                finally:
                    browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    print(f"dashboard with {args.nodes} nodes, {args.pods} pods (+{args.burst} per run), {args.runs} runs")
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"{key}: median {statistics.median(values):.0f} (min {min(values):.0f}, max {max(values):.0f})")


if __name__ == "__main__":
    main()
