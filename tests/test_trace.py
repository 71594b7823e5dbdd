"""build_journey on records shaped as the components write them (the live run is in tests/e2e)."""

from skiff.api import wellknown
from skiff.api.codec import from_builtins
from skiff.api.core import Event, Pod
from skiff.trace import build_journey, render

POD = {
    "metadata": {
        "name": "web",
        "namespace": "default",
        "creationTimestamp": "2026-11-27T10:00:00Z",
        "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
    },
    "spec": {"nodeName": "node-1", "containers": [{"name": "httpd", "image": "busybox:1.35"}]},
    "status": {
        "phase": "Running",
        "podIP": "172.17.0.5",
        "startTime": "2026-11-27T10:00:01Z",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-27T10:00:00Z"},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-27T10:00:03Z"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-27T10:00:03Z"},
        ],
    },
}


def event(reason: str, at: str, annotations: dict[str, str] | None = None, component: str = "") -> Event:
    return from_builtins(
        Event,
        {
            "metadata": {"name": f"web.{reason}", "namespace": "default", "annotations": annotations or {}},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": reason,
            "message": f"{reason} message",
            "eventTime": at,
            "reportingComponent": component,
        },
    )


def test_journey_follows_the_seed_order_with_recorded_details() -> None:
    events = [
        event("Started", "2026-11-27T10:00:02.500000Z", component="kubelet"),
        event(
            "Scheduled",
            "2026-11-27T10:00:00.200000Z",
            {
                wellknown.SCHEDULER_POD_REVISION: "42",
                wellknown.SCHEDULER_NOTICED_AT: "2026-11-27T10:00:00.100000Z",
                wellknown.SCHEDULER_FEASIBLE_NODES: "2/3",
                wellknown.SCHEDULER_TOP_SCORES: "node-1=90,node-2=70",
            },
            component="default-scheduler",
        ),
        event(
            "Pulled",
            "2026-11-27T10:00:01.500000Z",
            {wellknown.KUBELET_NOTICED_AT: "2026-11-27T10:00:00.900000Z"},
            component="kubelet",
        ),
    ]
    steps = build_journey(from_builtins(Pod, POD), events)
    assert [s.seed_step for s in steps] == sorted(s.seed_step for s in steps)
    assert {s.seed_step for s in steps} == set(range(1, 9))
    by_what = {s.what: s for s in steps}
    assert by_what["stored"].detail == "revision 42"
    assert "feasible nodes 2/3" in by_what["decision"].detail
    assert "node-1=90" in by_what["decision"].detail
    assert by_what["binding written"].detail == "node node-1"
    assert by_what["noticed by the kubelet"].at is not None
    assert by_what["noticed by the kubelet"].at.microsecond == 900000
    assert by_what["status reported Ready"].at is not None
    text = render(from_builtins(Pod, POD), steps)
    assert "pod default/web" in text
    assert "+3000ms" in text  # Ready, three seconds after creation


def test_unscheduled_pod_shows_missing_steps_as_not_seen() -> None:
    pod = from_builtins(Pod, {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": []}})
    steps = build_journey(pod, [])
    text = render(pod, steps)
    assert "not bound" in text
    assert "not seen" in text
