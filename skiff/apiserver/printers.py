"""Table cells as a real cluster prints them (the facts of kubectl's server-side printers)."""

from __future__ import annotations

from typing import Any

from skiff.apiserver.resources import Obj
from skiff.apiserver.timeutil import parse_time, short_duration

NONE = "<none>"


def _age(ts: Any, now: float) -> str:
    if not ts:
        return "<unknown>"
    t = parse_time(ts)
    return "<unknown>" if t is None else short_duration(now - t)


def pod_cells(pod: Obj, now: float) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    total = len(spec.get("containers") or [])
    ready = 0
    restarts = 0
    last_restart: float | None = None
    reason = status.get("reason") or status.get("phase") or ""
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    def note_restart(cs: Obj) -> None:
        nonlocal last_restart
        term = ((cs.get("lastState") or {}).get("terminated")) or {}
        t = parse_time(term.get("finishedAt") or "") if term.get("finishedAt") else None
        if t is not None and (last_restart is None or t > last_restart):
            last_restart = t

    initializing = False
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        if cs.get("restartCount"):
            note_restart(cs)
        state = cs.get("state") or {}
        term = state.get("terminated")
        wait = state.get("waiting")
        if term is not None and term.get("exitCode") == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            continue
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts = 0
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            if cs.get("restartCount"):
                note_restart(cs)
            state = cs.get("state") or {}
            wait = state.get("waiting")
            term = state.get("terminated")
            if wait is not None and wait.get("reason"):
                reason = wait["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = (
                    f"Signal:{term['signal']}"
                    if term.get("signal")
                    else f"ExitCode:{term.get('exitCode', 0)}"
                )
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            reason = "Running" if pod_ready else "NotReady"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    rs = str(restarts)
    if last_restart is not None:
        rs = f"{restarts} ({short_duration(now - last_restart)} ago)"
    return f"{ready}/{total}", reason, rs


def pod_wide(pod: Obj) -> list[str]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    gates = spec.get("readinessGates") or []
    gate_cell = NONE
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        ok = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gate_cell = f"{ok}/{len(gates)}"
    return [
        status.get("podIP") or NONE,
        spec.get("nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        gate_cell,
    ]


def node_status(node: Obj) -> str:
    status = node.get("status") or {}
    ready = "Unknown"
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = "Ready" if c.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    return ready


def node_roles(node: Obj) -> str:
    roles = set()
    for k, v in ((node.get("metadata") or {}).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            role = k[len("node-role.kubernetes.io/") :]
            if role:
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return ",".join(sorted(roles)) if roles else NONE


def node_wide(node: Obj) -> list[str]:
    status = node.get("status") or {}
    addrs = status.get("addresses") or []
    internal = next((a.get("address") for a in addrs if a.get("type") == "InternalIP"), None)
    external = next((a.get("address") for a in addrs if a.get("type") == "ExternalIP"), None)
    info = status.get("nodeInfo") or {}
    return [
        internal or NONE,
        external or NONE,
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def event_last_seen(ev: Obj, now: float) -> str:
    series = ev.get("series") or {}
    ts = series.get("lastObservedTime") or ev.get("lastTimestamp") or ev.get("eventTime")
    if not ts:
        ts = (ev.get("metadata") or {}).get("creationTimestamp")
    return _age(ts, now)


def event_first_seen(ev: Obj, now: float) -> str:
    ts = ev.get("firstTimestamp") or ev.get("eventTime")
    if not ts:
        ts = (ev.get("metadata") or {}).get("creationTimestamp")
    return _age(ts, now)


def event_object(ev: Obj) -> str:
    io = ev.get("involvedObject") or {}
    return f"{str(io.get('kind', '')).lower()}/{io.get('name', '')}"


def event_source(ev: Obj) -> str:
    src = ev.get("source") or {}
    comp = src.get("component") or ev.get("reportingComponent") or ""
    host = src.get("host") or ""
    if host:
        return f"{comp}, {host}"
    return comp


def event_count(ev: Obj) -> int:
    series = ev.get("series") or {}
    if series.get("count"):
        return int(series["count"])
    return int(ev.get("count") or 1)
