"""Prometheus metrics of every component, named as Kubernetes names them where it has the same metric.

Each process has one registry (prometheus_client's default), served by ``exposition()``: the API
server at /metrics on its own port, the kubelet on its HTTPS server, the scheduler on --metrics-port
(skiff/serving.py; authenticated and authorized).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# API server.
apiserver_request_total = Counter(
    "apiserver_request_total", "API requests by verb, resource and HTTP code.", ["verb", "resource", "code"]
)
apiserver_request_duration_seconds = Histogram(
    "apiserver_request_duration_seconds",
    "API request latency by verb and resource (watches: time to the first byte).",
    ["verb", "resource"],
    buckets=_LATENCY_BUCKETS,
)
apiserver_watchers = Gauge("apiserver_registered_watchers", "Open watches by resource.", ["resource"])

# Scheduler.
scheduler_schedule_attempts_total = Counter(
    "scheduler_schedule_attempts_total",
    "Scheduling attempts by result (scheduled, unschedulable, error) and profile.",
    ["result", "profile"],
)
scheduler_scheduling_attempt_duration_seconds = Histogram(
    "scheduler_scheduling_attempt_duration_seconds",
    "Scheduling attempt latency (algorithm and binding) by result and profile.",
    ["result", "profile"],
    buckets=_LATENCY_BUCKETS,
)
scheduler_pending_pods = Gauge("scheduler_pending_pods", "Pending pods by queue.", ["queue"])

# Kubelet.
kubelet_pod_start_duration_seconds = Histogram(
    "kubelet_pod_start_duration_seconds",
    "Seconds from the pod's creation until the kubelet saw all its containers running.",
    buckets=_LATENCY_BUCKETS,
)
kubelet_running_pods = Gauge("kubelet_running_pods", "Pods with a running sandbox.", ["node"])


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric of this process and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
