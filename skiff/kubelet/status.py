"""A pod's status as the kubelet reports it, and the patch that sends only what changed.

Pure functions of the pod spec and what the worker knows (runtime container states, waiting reasons,
probe results); no I/O. Phase rules (Kubernetes' behaviour): Pending while a container has never run;
Running while one runs or will be restarted; Succeeded when all ended with 0 and none restarts; Failed
when all ended, one of them failed and none restarts (or the pod was failed as a whole, e.g.
DeadlineExceeded).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from skiff.api import core
from skiff.runtime.base import ContainerInfo


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclasses.dataclass
class ContainerView:
    """What the worker knows of one container of the spec."""

    name: str
    image: str
    current: ContainerInfo | None = None  # latest attempt
    previous: ContainerInfo | None = None  # the attempt before it
    restart_count: int = 0
    waiting_reason: str | None = None  # set while it cannot (re)start: ErrImagePull, CrashLoopBackOff...
    waiting_message: str | None = None
    ready: bool = False
    started: bool = False
    will_restart: bool = True  # for a terminated current attempt: does the policy restart it?


def _terminated(info: ContainerInfo, runtime: str) -> core.ContainerStateTerminated:
    return core.ContainerStateTerminated(
        exit_code=info.exit_code if info.exit_code is not None else 0,
        reason=info.reason or None,
        message=info.message or None,
        started_at=rfc3339(info.started_at),
        finished_at=rfc3339(info.finished_at),
        container_id=f"{runtime}://{info.id}",
    )


def container_status(view: ContainerView, runtime: str, default_waiting: str) -> core.ContainerStatus:
    cur = view.current
    state: core.ContainerState
    last = core.ContainerState()
    if view.previous is not None and view.previous.state == "exited":
        last = core.ContainerState(terminated=_terminated(view.previous, runtime))
    if view.waiting_reason is not None:
        state = core.ContainerState(
            waiting=core.ContainerStateWaiting(reason=view.waiting_reason, message=view.waiting_message)
        )
        if cur is not None and cur.state == "exited":
            last = core.ContainerState(terminated=_terminated(cur, runtime))
    elif cur is None or cur.state in ("created", "unknown"):
        state = core.ContainerState(waiting=core.ContainerStateWaiting(reason=default_waiting))
    elif cur.state == "running":
        state = core.ContainerState(running=core.ContainerStateRunning(started_at=rfc3339(cur.started_at)))
    else:
        state = core.ContainerState(terminated=_terminated(cur, runtime))
    image_id = ""
    if cur is not None and cur.image_id:
        image_id = cur.image_id if "://" in cur.image_id else f"{runtime}://{cur.image_id}"
    running = cur is not None and cur.state == "running" and view.waiting_reason is None
    return core.ContainerStatus(
        name=view.name,
        state=state,
        last_state=last,
        ready=view.ready and running,
        restart_count=view.restart_count,
        image=view.image,
        image_id=image_id,
        container_id=f"{runtime}://{cur.id}" if cur is not None else None,
        started=view.started and running,
    )


def phase(
    init: list[ContainerView], containers: list[ContainerView], restart_policy: str, init_done: bool
) -> str:
    for v in init:
        cur = v.current
        if cur is not None and cur.state == "exited" and cur.exit_code != 0 and not v.will_restart:
            return "Failed"
    if not init_done:
        return "Pending"
    running = waiting_initial = failed = succeeded = restarting = 0
    for v in containers:
        cur = v.current
        if cur is None or (cur.state != "exited" and cur.state != "running"):
            if v.previous is None and v.restart_count == 0:
                waiting_initial += 1
            else:
                restarting += 1
        elif cur.state == "running":
            running += 1
        elif v.will_restart:
            restarting += 1
        elif cur.exit_code == 0:
            succeeded += 1
        else:
            failed += 1
    if waiting_initial:
        return "Pending"
    if running or restarting:
        return "Running"
    if failed:
        return "Failed"
    return "Succeeded" if succeeded else "Pending"


def _condition(
    type_: str,
    ok: bool,
    generation: int | None,
    previous: dict[str, core.PodCondition],
    reason: str | None = None,
    message: str | None = None,
) -> core.PodCondition:
    status = "True" if ok else "False"
    old = previous.get(type_)
    since = old.last_transition_time if old is not None and old.status == status else None
    return core.PodCondition(
        type=type_,
        status=status,
        observed_generation=generation,
        last_probe_time=None,
        last_transition_time=since or rfc3339(time.time()),
        reason=None if ok else reason,
        message=None if ok else message,
    )


def conditions(
    pod: core.Pod,
    init: list[ContainerView],
    containers: list[ContainerView],
    init_done: bool,
    sandbox_ready: bool,
    terminal: bool,
    previous: list[core.PodCondition],
) -> list[core.PodCondition]:
    """previous: the conditions last reported (transition times carry over while a status holds)."""
    gen = pod.metadata.generation
    prev = {c.type: c for c in previous}
    out = [
        _condition("PodReadyToStartContainers", sandbox_ready and not terminal, gen, prev),
    ]
    incomplete = [
        v.name for v in init if not (v.current and v.current.state == "exited" and v.current.exit_code == 0)
    ]
    out.append(
        _condition(
            "Initialized",
            init_done,
            gen,
            prev,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(incomplete)}]",
        )
    )
    unready = [v.name for v in containers if not v.ready]
    all_ready = init_done and not unready and not terminal
    msg = f"containers with unready status: [{' '.join(unready)}]"
    reason = "PodCompleted" if terminal else "ContainersNotReady"
    out.append(_condition("ContainersReady", all_ready, gen, prev, reason, msg))
    gates = [g.condition_type for g in (pod.spec.readiness_gates or [])]
    gates_ok = all(prev[g].status == "True" for g in gates if g in prev) and all(g in prev for g in gates)
    ready_msg = msg if unready else "corresponding condition of pod readiness gate is not true"
    out.append(_condition("Ready", all_ready and gates_ok, gen, prev, reason, ready_msg))
    scheduled = prev.get("PodScheduled")
    out.append(scheduled or core.PodCondition(type="PodScheduled", status="True", observed_generation=gen))
    # Conditions others own (readiness gates, DisruptionTarget) are kept as they are.
    own = {c.type for c in out}
    out.extend(c for c in prev.values() if c.type not in own)
    return out


def status_patch(sent: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON merge patch of the status fields that differ from what was last sent (None: nothing)."""
    if sent is None:
        return dict(new)
    changed = {k: v for k, v in new.items() if sent.get(k) != v}
    for k in sent:
        if k not in new:
            changed[k] = None
    return changed or None
