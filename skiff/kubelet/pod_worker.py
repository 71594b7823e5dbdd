"""One worker per pod: drives the runtime toward the pod's spec and reports the pod's status.

A worker's `sync` looks at what the runtime has for its pod (sandbox, container attempts) and does the
next steps: sandbox, init containers in order, then the containers; restarts per restartPolicy with
Kubernetes' back-off (10 s doubling to 5 min; the first restart is immediate; reset once a container
ran 10 minutes); activeDeadlineSeconds; graceful termination on delete (preStop, the stop signal, the
grace period, SIGKILL, then the final delete of the API object with grace 0). It never raises: runtime
errors become the waiting reasons Kubernetes uses (ErrImagePull, ImagePullBackOff, CreateContainerError,
RunContainerError, CrashLoopBackOff) and events.

Restart attempts are numbered by the runtime labels, so a restarted kubelet finds the restart counts
and the running containers again (adoption) instead of starting over.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import dataclasses
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec

from skiff import metrics
from skiff.api import core, wellknown
from skiff.api.meta import now_micro
from skiff.api.quantity import parse as parse_quantity
from skiff.api.resources import qos_class
from skiff.kubelet import status as st
from skiff.kubelet.probes import Prober, run_probe
from skiff.runtime.base import (
    ContainerInfo,
    ContainerSpec,
    PodRef,
    Runtime,
    RuntimeError_,
    Sandbox,
    SandboxSpec,
)

log = logging.getLogger("skiff.kubelet.worker")

NORMAL, WARNING = "Normal", "Warning"


@dataclasses.dataclass
class KubeletConfig:
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0  # a container that ran this long starts its back-off over
    default_grace: int = 30


@dataclasses.dataclass
class WorkerContext:
    """What a worker needs from its kubelet (the kubelet builds it)."""

    node: str
    host_ip: str
    runtime: Runtime
    http: httpx.AsyncClient
    config: KubeletConfig
    state: Callable[[str], tuple[list[Sandbox], list[ContainerInfo]]]  # the runtime's view of a pod
    refresh: Callable[[], Awaitable[None]]  # relist the runtime now
    note: Callable[[str, Sandbox | None, ContainerInfo | None], None]  # record what a worker just made
    event: Callable[[core.Pod, str, str, str, dict[str, str] | None], None]
    send_status: Callable[[core.Pod, dict[str, Any]], Awaitable[bool]]
    final_delete: Callable[[core.Pod], Awaitable[None]]
    # When this kubelet process began: a container created before then was left by a predecessor.
    started_at: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass
class _Backoff:
    duration: float
    last: float


def image_pull_policy(c: core.Container) -> str:
    if c.image_pull_policy:
        return c.image_pull_policy
    image = c.image or ""
    tail = image.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in tail or tail.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known names are replaced, unknown left as written, $$ -> $."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR.sub(sub, text)


def _field_ref(pod: core.Pod, path: str, host_ip: str, pod_ip: str) -> str:
    md = pod.metadata
    if path == "metadata.name":
        return md.name or ""
    if path == "metadata.namespace":
        return md.namespace or ""
    if path == "metadata.uid":
        return md.uid or ""
    if path == "spec.nodeName":
        return pod.spec.node_name or ""
    if path == "spec.serviceAccountName":
        return pod.spec.service_account_name or ""
    if path in ("status.hostIP", "status.hostIPs"):
        return host_ip
    if path in ("status.podIP", "status.podIPs"):
        return pod_ip
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        src = (md.labels if m.group(1) == "labels" else md.annotations) or {}
        return src.get(m.group(2), "")
    return ""


def container_spec(
    pod: core.Pod, c: core.Container, attempt: int, init: bool, host_ip: str, pod_ip: str
) -> ContainerSpec:
    env: dict[str, str] = {}
    for var in c.env or []:
        if var.value is not None:
            env[var.name] = expand(var.value, env)
        elif var.value_from and isinstance(var.value_from, dict) and "fieldRef" in var.value_from:
            env[var.name] = _field_ref(pod, var.value_from["fieldRef"].get("fieldPath", ""), host_ip, pod_ip)
        else:
            env[var.name] = ""
    limits = (c.resources.limits if c.resources else None) or {}
    requests = (c.resources.requests if c.resources else None) or {}
    mem = parse_quantity(limits["memory"]).value() if "memory" in limits else None
    cpu = parse_quantity(limits["cpu"]).milli_value() if "cpu" in limits else None
    cpu_req = parse_quantity(requests["cpu"]).milli_value() if "cpu" in requests else None
    ref = PodRef(
        uid=pod.metadata.uid or "", namespace=pod.metadata.namespace or "", name=pod.metadata.name or ""
    )
    return ContainerSpec(
        pod=ref,
        name=c.name,
        image=c.image or "",
        attempt=attempt,
        init=init,
        command=[expand(a, env) for a in c.command] if c.command else None,
        args=[expand(a, env) for a in c.args] if c.args else None,
        env=env,
        working_dir=c.working_dir,
        ports=[(p.container_port, p.protocol or "TCP") for p in c.ports or []],
        memory_limit=mem,
        cpu_limit_millis=cpu,
        cpu_request_millis=cpu_req,
        tty=bool(c.tty),
        stdin=bool(c.stdin),
    )


class PodWorker:
    def __init__(self, ctx: WorkerContext, pod: core.Pod) -> None:
        self.ctx = ctx
        self.pod = pod
        self.uid = pod.metadata.uid or ""
        self.ref = PodRef(uid=self.uid, namespace=pod.metadata.namespace or "", name=pod.metadata.name or "")
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.gone = False  # the API object is gone (DELETED seen)
        self.done = False
        self.backoff: dict[str, _Backoff] = {}
        self.waiting: dict[str, tuple[str, str]] = {}  # container name -> (reason, message)
        self.probers: dict[str, Prober] = {}  # container id -> prober
        self.sandbox: Sandbox | None = None
        self.sent: dict[str, Any] | None = None
        self.conditions: list[core.PodCondition] = list(pod.status.conditions or []) if pod.status else []
        status = pod.status or core.PodStatus()
        self.start_time: str | None = status.start_time
        self.terminal: str | None = status.phase if status.phase in ("Succeeded", "Failed") else None
        self.reason: str | None = status.reason if self.terminal else None
        self.message: str | None = status.message if self.terminal else None
        self.due: float | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        # `skiff trace` details for the first event about a pod this kubelet starts (not one it adopts).
        self.start_observed = bool(self.start_time)  # adopted pods started before this kubelet ran
        self.trace: dict[str, str] | None = (
            None if self.start_time else {wellknown.KUBELET_NOTICED_AT: now_micro()}
        )

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod-{self.ref.namespace}/{self.ref.name}")

    def update(self, pod: core.Pod) -> None:
        old, self.pod = self.pod, pod
        # Our own status writes come back through the watch: only a change of spec or deletion wakes us.
        if (
            old.metadata.deletion_timestamp != pod.metadata.deletion_timestamp
            or old.metadata.generation != pod.metadata.generation
        ):
            self.wake.set()
        elif self.sent is not None and _overwritten(self.sent, pod):
            # Someone else changed our conditions (the node lifecycle controller marks pods not Ready
            # while the node looks gone): send ours again, as Kubernetes' status manager reconciles.
            self.sent = {k: v for k, v in self.sent.items() if k != "conditions"}
            self.wake.set()

    def deleted(self) -> None:
        self.gone = True
        self.wake.set()

    def poke(self) -> None:
        self.wake.set()

    async def stop(self) -> None:
        """Stops the worker (kubelet shutdown); containers keep running."""
        for p in self.probers.values():
            p.stop()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        while not self.done:
            self.wake.clear()
            self.due = None
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync failed", extra={"kv": {"pod": f"{self.ref.namespace}/{self.ref.name}"}})
                self.due = time.time() + 2.0
            if self.done:
                break
            timeout = 10.0 if self.due is None else max(0.0, self.due - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    def _due(self, at: float) -> None:
        self.due = at if self.due is None else min(self.due, at)

    def _observe_start(self, views: list[Any]) -> None:
        """kubelet_pod_start_duration_seconds: creation until every container first runs (once per pod)."""
        if (
            self.start_observed
            or not views
            or not all(v.current and v.current.state == "running" for v in views)
        ):
            return
        self.start_observed = True
        created = self.pod.metadata.creation_timestamp
        if created:
            seconds = time.time() - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
            metrics.kubelet_pod_start_duration_seconds.observe(max(0.0, seconds))

    def _event(self, type_: str, reason: str, message: str) -> None:
        trace, self.trace = self.trace, None
        self.ctx.event(self.pod, type_, reason, message, trace)

    @property
    def pod_name(self) -> str:
        return f"{self.ref.name}_{self.ref.namespace}({self.uid})"

    # ------------------------------------------------------------------ the sync

    async def sync(self) -> None:
        pod = self.pod
        sandboxes, containers = self.ctx.state(self.uid)
        if self.gone or pod.metadata.deletion_timestamp:
            await self._terminate(sandboxes, containers)
            if not self.gone:
                await self.ctx.final_delete(pod)
            self.done = True
            return
        now = time.time()
        if self.start_time is None:
            self.start_time = st.rfc3339(now)
        if self.terminal is None:
            deadline = pod.spec.active_deadline_seconds
            if deadline is not None:
                started = _epoch(self.start_time) or now
                if now >= started + deadline:
                    self._fail(
                        "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
                    )
                    self._event(WARNING, "DeadlineExceeded", self.message or "")
                else:
                    self._due(started + deadline)
        if self.terminal is not None:
            await self._stop_all(containers, self._grace())
            sandboxes, containers = self.ctx.state(self.uid)
            await self._report(sandboxes, containers, init_done=self._init_done(containers))
            return

        sandbox = next((s for s in sandboxes if s.running), None)
        if sandbox is None:
            if any(c.state == "running" for c in containers):
                # The sandbox died under its containers: they lost their network; start over.
                await self._stop_all(containers, 0)
            attempt = max((s.attempt + 1 for s in sandboxes), default=0)
            for s in sandboxes:
                await self.ctx.runtime.remove_sandbox(s.id)
            try:
                sandbox = await self.ctx.runtime.create_sandbox(
                    SandboxSpec(
                        pod=self.ref,
                        attempt=attempt,
                        hostname=pod.spec.hostname or self.ref.name,
                        host_network=bool(pod.spec.host_network),
                    )
                )
            except RuntimeError_ as exc:
                self._event(WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc.message}")
                self._due(time.time() + 5)
                await self._report([], containers, init_done=False)
                return
            self.ctx.note(self.uid, sandbox, None)
            if self.trace is not None:
                self.trace[wellknown.KUBELET_SANDBOX_READY_AT] = now_micro()
            sandboxes, containers = self.ctx.state(self.uid)
        self.sandbox = sandbox

        await self._gc_attempts(containers)
        by_name = _latest(containers)
        changed = False
        init_done = True
        for c in pod.spec.init_containers or []:
            cur = by_name.get(c.name, (None, None))[0]
            if cur is not None and cur.state == "exited" and cur.exit_code == 0:
                continue
            init_done = False
            if cur is not None and cur.state == "created":
                changed |= await self._stuck(cur)
            elif cur is None:
                changed |= await self._start(c, 0, init=True)
            elif cur.state == "exited" and self._restarts(cur, init=True):
                changed |= await self._restart(c, cur, init=True)
            elif cur.state == "exited":
                self._fail("", "")  # phase() reports the failed init container
            break
        if init_done:
            for c in pod.spec.containers:
                cur = by_name.get(c.name, (None, None))[0]
                if cur is not None and cur.state == "created":
                    changed |= await self._stuck(cur)
                elif cur is None:
                    changed |= await self._start(c, 0, init=False)
                elif cur.state == "running":
                    self._ensure_prober(c, cur)
                elif cur.state == "exited" and self._restarts(cur, init=False):
                    changed |= await self._restart(c, cur, init=False)
        if changed:
            await self.ctx.refresh()
        sandboxes, containers = self.ctx.state(self.uid)
        await self._report(sandboxes, containers, init_done=self._init_done(containers))

    async def _stuck(self, cur: ContainerInfo) -> bool:
        """A container created but never started (the kubelet stopped in between) is removed, and the
        next sync starts a fresh attempt under the same name. One this process created may be starting
        right now: it is given 10 s; one a killed predecessor left is removed at once."""
        if cur.created_at >= self.ctx.started_at and time.time() - cur.created_at < 10:
            self._due(cur.created_at + 10)
            return False
        with contextlib.suppress(RuntimeError_):
            await self.ctx.runtime.remove_container(cur.id)
        self._due(time.time())
        return True

    def _init_done(self, containers: list[ContainerInfo]) -> bool:
        by_name = _latest(containers)
        for c in self.pod.spec.init_containers or []:
            cur = by_name.get(c.name, (None, None))[0]
            if not (cur is not None and cur.state == "exited" and cur.exit_code == 0):
                return False
        return True

    def _fail(self, reason: str, message: str) -> None:
        self.terminal = "Failed"
        self.reason = reason or None
        self.message = message or None

    def _grace(self) -> float:
        md = self.pod.metadata
        if md.deletion_grace_period_seconds is not None:
            return float(md.deletion_grace_period_seconds)
        g = self.pod.spec.termination_grace_period_seconds
        return float(self.ctx.config.default_grace if g is None else g)

    def _restarts(self, cur: ContainerInfo, init: bool) -> bool:
        policy = self.pod.spec.restart_policy or "Always"
        if init and policy == "Always":
            return cur.exit_code != 0
        if policy == "Always":
            return True
        if policy == "OnFailure":
            return cur.exit_code != 0
        return False

    # ------------------------------------------------------------------ starting containers

    def _in_backoff(self, key: str) -> float | None:
        """Seconds left in the back-off window of key, or None when it may go now."""
        b = self.backoff.get(key)
        if b is None:
            return None
        left = b.last + b.duration - time.time()
        return left if left > 0 else None

    def _next_backoff(self, key: str) -> float:
        cfg = self.ctx.config
        b = self.backoff.get(key)
        now = time.time()
        if b is None:
            b = self.backoff[key] = _Backoff(cfg.backoff_initial, now)
        else:
            b.duration, b.last = min(b.duration * 2, cfg.backoff_max), now
        return b.duration

    async def _restart(self, c: core.Container, cur: ContainerInfo, init: bool) -> bool:
        key = f"crash:{c.name}"
        ran = (cur.finished_at or 0) - (cur.started_at or 0)
        if cur.started_at and ran >= self.ctx.config.backoff_reset:
            self.backoff.pop(key, None)
        left = self._in_backoff(key)
        if left is not None:
            b = self.backoff[key]
            msg = f"back-off {_dur(b.duration)} restarting failed container={c.name} pod={self.pod_name}"
            if self.waiting.get(c.name, ("",))[0] != "CrashLoopBackOff":
                self._event(
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {c.name} in pod {self.pod_name}",
                )
            self.waiting[c.name] = ("CrashLoopBackOff", msg)
            self._due(time.time() + left)
            return False
        self._next_backoff(key)
        return await self._start(c, cur.attempt + 1, init)

    async def _pull(self, c: core.Container) -> bool:
        rt = self.ctx.runtime
        image = c.image or ""
        policy = image_pull_policy(c)
        present = await rt.image_present(image)
        if policy == "Never" and not present:
            msg = f'Container image "{image}" is not present with pull policy of Never'
            self.waiting[c.name] = ("ErrImageNeverPull", msg)
            self._event(WARNING, "ErrImageNeverPull", msg)
            self._due(time.time() + 10)
            return False
        if policy == "Always" or not present:
            key = f"pull:{c.name}"
            left = self._in_backoff(key)
            if left is not None:
                msg = f'Back-off pulling image "{image}"'
                if self.waiting.get(c.name, ("",))[0] != "ImagePullBackOff":
                    self._event(NORMAL, "BackOff", msg)
                self.waiting[c.name] = ("ImagePullBackOff", msg)
                self._due(time.time() + left)
                return False
            self._event(NORMAL, "Pulling", f'Pulling image "{image}"')
            t0 = time.monotonic()
            try:
                await rt.pull_image(image)
            except RuntimeError_ as exc:
                wait = self._next_backoff(key)
                self.waiting[c.name] = ("ErrImagePull", exc.message)
                self._event(WARNING, "Failed", f'Failed to pull image "{image}": {exc.message}')
                self._event(WARNING, "Failed", "Error: ErrImagePull")
                # ErrImagePull shows for half the back-off, ImagePullBackOff for the rest.
                self._due(time.time() + wait / 2)
                return False
            self.backoff.pop(key, None)
            self._event(
                NORMAL, "Pulled", f'Successfully pulled image "{image}" in {time.monotonic() - t0:.3f}s'
            )
        else:
            self._event(NORMAL, "Pulled", f'Container image "{image}" already present on machine')
        return True

    async def _start(self, c: core.Container, attempt: int, init: bool) -> bool:
        """Pull, create and start one container attempt; True when the kubelet should relist the runtime."""
        rt = self.ctx.runtime
        assert self.sandbox is not None
        if not await self._pull(c):
            return False
        pod_ip = self.sandbox.ip
        try:
            spec = container_spec(self.pod, c, attempt, init, self.ctx.host_ip, pod_ip)
            cid = await rt.create_container(self.sandbox, spec)
        except (RuntimeError_, ValueError) as exc:
            msg = exc.message if isinstance(exc, RuntimeError_) else str(exc)
            self.waiting[c.name] = ("CreateContainerError", msg)
            self._event(WARNING, "Failed", f"Error: {msg}")
            self._next_backoff(f"create:{c.name}")
            self._due(time.time() + max(1.0, self._in_backoff(f"create:{c.name}") or 1.0))
            return False
        self.backoff.pop(f"create:{c.name}", None)
        self._event(NORMAL, "Created", f"Created container: {c.name}")
        try:
            await rt.start_container(cid)
        except RuntimeError_ as exc:
            self.waiting[c.name] = ("RunContainerError", exc.message)
            self._event(WARNING, "Failed", f"Error: {exc.message}")
            self._next_backoff(f"crash:{c.name}")
            self._due(time.time() + (self._in_backoff(f"crash:{c.name}") or 1.0))
            return True
        self.waiting.pop(c.name, None)
        self._event(NORMAL, "Started", f"Started container {c.name}")
        try:
            info = await rt.inspect(cid)
        except RuntimeError_:
            return True
        # The new attempt goes into the kubelet's view at once: reported now, not at the next relist.
        self.ctx.note(self.uid, None, info)
        if not init and info.state == "running":
            self._ensure_prober(c, info)
        return False

    # ------------------------------------------------------------------ probes

    def _ensure_prober(self, c: core.Container, info: ContainerInfo) -> None:
        if info.id in self.probers or self.sandbox is None:
            return
        for cid in [k for k, p in self.probers.items() if p.container.name == c.name]:
            self.probers.pop(cid).stop()
        prober = Prober(
            self.ctx.runtime,
            info.id,
            c,
            self.sandbox.ip,
            self.ctx.http,
            info.started_at or time.time(),
            on_change=self.poke,
            on_kill=functools.partial(self._probe_kill, info.id, c.name),
            on_event=lambda reason, msg: self._event(WARNING, reason, msg),
        )
        self.probers[info.id] = prober
        prober.start()

    def _probe_kill(self, cid: str, name: str, kind: str, message: str) -> None:
        self._event(NORMAL, "Killing", f"Container {name} failed {kind.lower()} probe, will be restarted")

        async def kill() -> None:
            with contextlib.suppress(RuntimeError_):
                await self.ctx.runtime.stop_container(cid, self._grace())
            await self.ctx.refresh()
            self.poke()

        task = asyncio.create_task(kill())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # ------------------------------------------------------------------ stopping

    async def _stop_one(self, info: ContainerInfo, grace: float) -> None:
        spec = next((c for c in self.pod.spec.containers if c.name == info.name), None)
        self._event(NORMAL, "Killing", f"Stopping container {info.name}")
        deadline = time.monotonic() + grace
        if spec is not None and spec.lifecycle and spec.lifecycle.pre_stop and grace > 0 and self.sandbox:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    run_probe(
                        spec.lifecycle.pre_stop,
                        self.ctx.runtime,
                        info.id,
                        spec,
                        self.sandbox.ip,
                        self.ctx.http,
                        grace,
                    ),
                    grace,
                )
        left = max(0.0, deadline - time.monotonic())
        signal = (spec.lifecycle.stop_signal if spec and spec.lifecycle else None) or "SIGTERM"
        with contextlib.suppress(RuntimeError_):
            await self.ctx.runtime.stop_container(info.id, left, signal)

    async def _stop_all(self, containers: list[ContainerInfo], grace: float) -> None:
        running = [c for c in containers if c.state == "running"]
        for p in self.probers.values():
            p.stop()
        self.probers.clear()
        if running:
            await asyncio.gather(*(self._stop_one(c, grace) for c in running))
            await self.ctx.refresh()

    async def _terminate(self, sandboxes: list[Sandbox], containers: list[ContainerInfo]) -> None:
        grace = self._grace() if not self.gone else min(self._grace(), 2.0)
        await self._stop_all(containers, grace)
        rt = self.ctx.runtime
        for c in containers:
            with contextlib.suppress(RuntimeError_):
                await rt.remove_container(c.id)
        for s in sandboxes:
            with contextlib.suppress(RuntimeError_):
                await rt.remove_sandbox(s.id)
        await self.ctx.refresh()

    async def _gc_attempts(self, containers: list[ContainerInfo]) -> None:
        """Keeps the latest two attempts of each container (the current one and the previous, for
        `logs --previous` and lastState); removes older ones."""
        groups: dict[str, list[ContainerInfo]] = {}
        for c in containers:
            groups.setdefault(c.name, []).append(c)
        for infos in groups.values():
            infos.sort(key=lambda i: (i.attempt, i.created_at))
            for old in infos[:-2]:
                if old.state != "running":
                    with contextlib.suppress(RuntimeError_):
                        await self.ctx.runtime.remove_container(old.id)

    # ------------------------------------------------------------------ status

    def _views(
        self,
        specs: list[core.Container],
        latest: dict[str, tuple[ContainerInfo | None, ContainerInfo | None]],
    ) -> list[st.ContainerView]:
        views = []
        for c in specs:
            cur, prev = latest.get(c.name, (None, None))
            reason, message = self.waiting.get(c.name, (None, None))
            will_restart = self.terminal is None and (
                cur is None or cur.state != "exited" or self._restarts(cur, init=False)
            )
            if cur is not None and (cur.state == "running" or (cur.state == "exited" and not will_restart)):
                reason = message = None
            prober = self.probers.get(cur.id) if cur is not None else None
            running = cur is not None and cur.state == "running"
            views.append(
                st.ContainerView(
                    name=c.name,
                    image=c.image or "",
                    current=cur,
                    previous=prev,
                    restart_count=cur.attempt if cur is not None else 0,
                    waiting_reason=reason,
                    waiting_message=message,
                    ready=running and (prober.ready if prober else c.readiness_probe is None),
                    started=running and (prober.started if prober else c.startup_probe is None),
                    will_restart=will_restart,
                )
            )
        return views

    async def _report(
        self, sandboxes: list[Sandbox], containers: list[ContainerInfo], init_done: bool
    ) -> None:
        pod = self.pod
        latest = _latest(containers)
        init_specs = pod.spec.init_containers or []
        init_views = self._views(init_specs, latest)
        for v in init_views:
            cur = v.current
            v.will_restart = self.terminal is None and (
                cur is None or cur.state != "exited" or self._restarts(cur, init=True)
            )
        views = self._views(pod.spec.containers, latest)
        phase = self.terminal or st.phase(init_views, views, pod.spec.restart_policy or "Always", init_done)
        if not self.start_observed:
            self._observe_start(views)
        if phase in ("Succeeded", "Failed"):
            self.terminal = phase
        terminal = self.terminal is not None
        sandbox = next((s for s in sandboxes if s.running), None)
        prev = self.conditions or (list(pod.status.conditions or []) if pod.status else [])
        conds = st.conditions(pod, init_views, views, init_done, sandbox is not None, terminal, prev)
        self.conditions = conds
        init_default = "PodInitializing"
        main_default = "ContainerCreating" if init_done else "PodInitializing"
        runtime = self.ctx.runtime.name
        pod_ip = sandbox.ip if sandbox else (self.sandbox.ip if self.sandbox else None)
        if pod.spec.host_network and pod_ip:
            pod_ip = self.ctx.host_ip  # the pod lives in the node's network
        status = core.PodStatus(
            phase=phase,
            conditions=conds,
            reason=self.reason if terminal else None,
            message=self.message if terminal else None,
            host_ip=self.ctx.host_ip,
            host_ips=[core.HostIP(ip=self.ctx.host_ip)],
            pod_ip=pod_ip,
            pod_ips=[core.PodIP(ip=pod_ip)] if pod_ip else None,
            start_time=self.start_time,
            init_container_statuses=[st.container_status(v, runtime, init_default) for v in init_views]
            or None,
            container_statuses=[st.container_status(v, runtime, main_default) for v in views],
            qos_class=(pod.status.qos_class if pod.status and pod.status.qos_class else qos_class(pod)),
        )
        new = msgspec.to_builtins(status)
        assert isinstance(new, dict)
        if pod.status and pod.status.nominated_node_name:
            new["nominatedNodeName"] = pod.status.nominated_node_name
        patch = st.status_patch(self.sent, new)
        if patch is not None and await self.ctx.send_status(pod, patch):
            self.sent = new


def _overwritten(sent: dict[str, Any], pod: core.Pod) -> bool:
    """Whether the server shows another status for a condition type this kubelet last sent."""
    on_server = {c.type: c.status for c in (pod.status.conditions if pod.status else None) or ()}
    return any(on_server.get(c["type"]) != c["status"] for c in sent.get("conditions") or ())


def _latest(containers: list[ContainerInfo]) -> dict[str, tuple[ContainerInfo | None, ContainerInfo | None]]:
    """Per container name: (latest attempt, the attempt before it)."""
    groups: dict[str, list[ContainerInfo]] = {}
    for c in containers:
        groups.setdefault(c.name, []).append(c)
    out: dict[str, tuple[ContainerInfo | None, ContainerInfo | None]] = {}
    for name, infos in groups.items():
        infos.sort(key=lambda i: (i.attempt, i.created_at))
        out[name] = (infos[-1], infos[-2] if len(infos) > 1 else None)
    return out


def _epoch(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return float(calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def _dur(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    return f"{m}m{s}s" if s else f"{m}m0s"
