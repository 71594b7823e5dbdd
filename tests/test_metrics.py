from skiff import metrics


def test_metrics_are_exposed_in_prometheus_text_format() -> None:
    metrics.scheduler_schedule_attempts_total.labels(result="scheduled", profile="default-scheduler").inc()
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert 'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}' in text
    assert "# TYPE kubelet_pod_start_duration_seconds histogram" in text
