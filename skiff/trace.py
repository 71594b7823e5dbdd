"""`skiff trace POD`: a pod's journey through the seed's eight steps, rebuilt from what the cluster records.

Sources, all readable through the API for any pod: metadata (creation time, managedFields), the
conditions (PodScheduled, Initialized, ContainersReady, Ready), container states, and the events of the
scheduler and kubelet (with the trace.skiff.io annotations of skiff.api.wellknown when skiff's own
components wrote them). A step whose record is missing is shown as not seen rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from skiff.api import wellknown
from skiff.api.core import Event, Pod
from skiff.api.meta import parse_time


@dataclass(frozen=True)
class Step:
    seed_step: int  # 1..8, the workflow step of the seed this line belongs to
    what: str
    component: str
    at: datetime | None
    detail: str = ""


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _event_time(ev: Event) -> datetime | None:
    return _time(ev.event_time) or _time(ev.first_timestamp) or _time(ev.last_timestamp)


def _annotation(ev: Event | None, key: str) -> str | None:
    if ev is None or ev.metadata is None or not ev.metadata.annotations:
        return None
    return ev.metadata.annotations.get(key)


def _condition(pod: Pod, type_: str) -> tuple[str | None, datetime | None]:
    for cond in pod.status.conditions if pod.status and pod.status.conditions else []:
        if cond.type == type_:
            return cond.status, _time(cond.last_transition_time)
    return None, None


def _when(ev: Event) -> float:
    """Sort key: the event's time, unknown times last."""
    t = _event_time(ev)
    return t.timestamp() if t else float("inf")


def _first(events: Iterable[Event], *reasons: str) -> Event | None:
    found = sorted((ev for ev in events if ev.reason in reasons), key=_when)
    return found[0] if found else None


def _component(ev: Event | None, default: str) -> str:
    if ev is None:
        return default
    if ev.reporting_component:
        return ev.reporting_component
    if ev.source and ev.source.component:
        return ev.source.component
    return default


def build_journey(pod: Pod, events: list[Event]) -> list[Step]:
    """The pod's steps in the seed's order."""
    meta = pod.metadata
    steps: list[Step] = []
    created = _time(meta.creation_timestamp if meta else None)
    manager = ""
    if meta and meta.managed_fields:
        manager = meta.managed_fields[0].manager or ""
    steps.append(
        Step(1, "created through the API server", "apiserver", created, f"by {manager}" if manager else "")
    )

    scheduled = _first(events, "Scheduled")
    failed = _first(events, "FailedScheduling")
    decision_event = scheduled or failed
    revision = _annotation(decision_event, wellknown.SCHEDULER_POD_REVISION)
    steps.append(
        Step(
            2, "stored", "apiserver", created, f"revision {revision}" if revision else "revision not recorded"
        )
    )
    noticed = _time(_annotation(decision_event, wellknown.SCHEDULER_NOTICED_AT))
    scheduler = _component(decision_event, "default-scheduler")
    steps.append(Step(3, "noticed by the scheduler", scheduler, noticed))
    if decision_event is not None:
        feasible = _annotation(decision_event, wellknown.SCHEDULER_FEASIBLE_NODES)
        scores = _annotation(decision_event, wellknown.SCHEDULER_TOP_SCORES)
        detail = decision_event.message or ""
        if feasible:
            detail += f"; feasible nodes {feasible}"
        if scores:
            detail += f"; top scores {scores}"
        decided = _time(_annotation(decision_event, wellknown.SCHEDULER_DECIDED_AT)) or _event_time(
            decision_event
        )
        steps.append(Step(3, "decision", scheduler, decided, detail))
    _, bound_at = _condition(pod, "PodScheduled")
    node = pod.spec.node_name if pod.spec else None
    steps.append(
        Step(
            4,
            "binding written",
            scheduler,
            bound_at if node else None,
            f"node {node}" if node else "not bound",
        )
    )

    kubelet_events = [ev for ev in events if ev.reason in ("Pulling", "Pulled", "Created", "Started")]
    first_kubelet = _first(kubelet_events, "Pulling", "Pulled", "Created", "Started")
    kubelet = _component(first_kubelet, f"kubelet {node}" if node else "kubelet")
    noticed_by_kubelet = _time(_annotation(first_kubelet, wellknown.KUBELET_NOTICED_AT))
    if noticed_by_kubelet is None and pod.status is not None:
        # The kubelet sets startTime when it first acknowledges the pod.
        noticed_by_kubelet = _time(pod.status.start_time)
    steps.append(Step(5, "noticed by the kubelet", kubelet, noticed_by_kubelet))
    sandbox_at = _time(_annotation(first_kubelet, wellknown.KUBELET_SANDBOX_READY_AT))
    ip = pod.status.pod_ip if pod.status else None
    steps.append(Step(6, "sandbox started", "runtime", sandbox_at, f"pod IP {ip}" if ip else ""))
    for ev in sorted((e for e in events if e.reason == "Started"), key=_when):
        steps.append(Step(6, "container started", "runtime", _event_time(ev), ev.message or ""))

    ready_status, ready_at = _condition(pod, "ContainersReady")
    steps.append(
        Step(7, "probes passing", kubelet, ready_at if ready_status == "True" else None, ready_status or "")
    )
    ready, ready_time = _condition(pod, "Ready")
    phase = pod.status.phase if pod.status else None
    steps.append(
        Step(
            8,
            "status reported Ready",
            kubelet,
            ready_time if ready == "True" else None,
            f"phase {phase}" if phase else "",
        )
    )
    return steps


def render(pod: Pod, steps: list[Step]) -> str:
    meta = pod.metadata
    name = f"{meta.namespace}/{meta.name}" if meta else "?"
    start = steps[0].at if steps else None
    lines = [f"pod {name}"]
    lines.append(f"{'STEP':<4} {'WHAT':<32} {'COMPONENT':<20} {'TIME':<26} {'DELTA':>9}  DETAIL")
    for step in steps:
        when = step.at.isoformat(timespec="milliseconds") if step.at else "not seen"
        delta = ""
        if step.at and start:
            delta = f"+{(step.at - start).total_seconds() * 1000:.0f}ms"
        lines.append(
            f"{step.seed_step:<4} {step.what:<32} {step.component:<20} {when:<26} {delta:>9}  {step.detail}"
        )
    return "\n".join(lines)


async def fetch_and_render(kubeconfig: str | None, namespace: str, name: str) -> str:
    """Reads the pod and its events through the API server and renders the journey."""
    from skiff.client.rest import Client

    async with Client.from_kubeconfig(kubeconfig) as client:
        pod = await client.get(Pod, name, namespace)
        uid = pod.metadata.uid if pod.metadata else None
        selector = f"involvedObject.name={name},involvedObject.namespace={namespace}"
        if uid:
            selector += f",involvedObject.uid={uid}"
        events = await client.list(Event, namespace, field_selector=selector)
    return render(pod, build_journey(pod, list(events.items)))
