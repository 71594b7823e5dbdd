"""/metrics in Prometheus format on the API server, the scheduler and the kubelet of a live cluster."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import httpx

from tests.e2e.cluster import UpProcess, kubectl, wait_for

POD = """
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  containers:
    - {name: main, image: "busybox:1.35", command: ["sleep", "300"]}
"""


def metric(body: str, name: str, **labels: str) -> float:
    """The value of one sample (labels in any order), 0 when absent."""
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_every_component_serves_metrics(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data", nodes=1, runtime="process")
    try:
        up.start()
        manifest = tmp_path / "pod.yaml"
        manifest.write_text(POD)
        kubectl(up.kubeconfig, "apply", "-f", str(manifest))
        core = up.core()
        wait_for(
            lambda: core.read_namespaced_pod("sleeper", "default").status.phase == "Running", 60, "Running"
        )

        out = up.output()
        api_url = re.search(r"metrics: (https://\S+/metrics) \(apiserver", out)
        sched_url = re.search(r"(https://\S+/metrics) \(scheduler\)", out)
        assert api_url and sched_url, out

        tls = ssl.create_default_context(cafile=str(up.data_dir / "pki" / "ca.crt"))
        tls.load_cert_chain(str(up.data_dir / "pki" / "admin.pem"))
        api = httpx.get(api_url.group(1), timeout=10, verify=tls).text
        assert metric(api, "apiserver_request_total", verb="create", resource="pods", code="201") >= 1
        assert metric(api, "apiserver_request_total", verb="create", resource="pods/binding", code="201") >= 1
        assert "apiserver_request_duration_seconds_bucket" in api

        # HTTPS (a certificate from the cluster CA), authenticated and authorized like the kubelet's.
        anonymous = ssl.create_default_context(cafile=str(up.data_dir / "pki" / "ca.crt"))
        assert httpx.get(sched_url.group(1), timeout=10, verify=anonymous).status_code == 401
        sched = httpx.get(sched_url.group(1), timeout=10, verify=tls).text
        assert metric(sched, "scheduler_schedule_attempts_total", result="scheduled") >= 1

        node = core.read_node("node-1")
        port = node.status.daemon_endpoints.kubelet_endpoint.port
        address = next(a.address for a in node.status.addresses if a.type == "InternalIP")
        # The kubelet's too.
        assert httpx.get(f"https://{address}:{port}/metrics", timeout=10, verify=anonymous).status_code == 401
        kubelet = httpx.get(f"https://{address}:{port}/metrics", timeout=10, verify=tls).text
        assert metric(kubelet, "kubelet_pod_start_duration_seconds_count") >= 1
    finally:
        up.kill_leftovers()
