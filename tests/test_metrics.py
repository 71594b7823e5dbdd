import httpx

from skiff import metrics
from skiff.up import free_port


def test_metrics_are_served_in_prometheus_text_format() -> None:
    metrics.scheduler_schedule_attempts_total.labels(result="scheduled", profile="default-scheduler").inc()
    port = free_port()
    metrics.serve(port)
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}' in body
    assert "# TYPE kubelet_pod_start_duration_seconds histogram" in body
