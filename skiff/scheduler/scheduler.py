"""The scheduler process: informers feed the cache and the queue; one loop places pods; bindings fly.

    informers (pods, nodes, namespaces)  ->  Cache (bound + assumed pods, node columns)
                                         ->  SchedulingQueue (unbound pods of our schedulerNames)
    loop: pop a pod -> Framework.schedule -> assume -> Reserve -> Permit -> spawn the binding cycle
    binding cycle (concurrent, never awaited by the loop): WaitOnPermit -> PreBind -> Bind -> PostBind

It talks only to the API server (skiff.client). Events and conditions are written as kube-scheduler
writes them: Scheduled "Successfully assigned default/web to node-1"; FailedScheduling with the
FitError text; PodScheduled=False reason Unschedulable through pods/status. With leader election (a
coordination.k8s.io Lease), informers run on every replica but only the leader schedules.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from skiff import metrics
from skiff.api import wellknown
from skiff.api.core import Namespace, Node, Pod
from skiff.api.meta import epoch_micro_time
from skiff.client import ApiError, Client, ClientError
from skiff.client.events import EventRecorder
from skiff.client.informer import Informer
from skiff.client.leaderelection import LeaderElector

from .cache import Cache
from .config import SchedulerConfig, build_frameworks
from .framework import Code, CycleState, FitError, Framework, Handle, ScheduleResult, Status
from .plugins.gang import gang_of
from .queue import QueuedPod, SchedulingQueue
from .types import PodInfo, node_info, pod_info

log = logging.getLogger("skiff.scheduler")

COMPONENT = "default-scheduler"
# kube-scheduler's clientConnection defaults (qps 50, burst 100); here they hold back events only.
EVENT_QPS = 50.0
EVENT_BURST = 100

T = TypeVar("T")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stats:
    scheduled: int = 0
    bound: int = 0
    failed: int = 0
    bind_errors: int = 0
    preemptions: int = 0
    first_bound: float = 0.0
    last_bound: float = 0.0


class Scheduler:
    def __init__(
        self,
        client: Client,
        cfg: SchedulerConfig,
        *,
        identity: str | None = None,
        bind_concurrency: int = 8,
        record_events: bool = True,
        seed: int | None = None,
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.identity = identity
        self.cache = Cache(capacity=1024)
        self.handle = Handle(self.cache)
        self.handle.bind_pod = self._bind
        self.handle.events = self._plugin_event
        self.fws: dict[str, Framework] = build_frameworks(cfg, self.handle, seed=seed)
        first = next(iter(self.fws.values()))
        self.queue = SchedulingQueue(first.sort_key, self._pre_enqueue)
        self.queue.on_gated = lambda pod, st: None
        # Bindings and events get their own small connection pools, so that neither waits behind the
        # other (nor behind the informers' lists) for a connection.
        self.bind_client = Client(client.config, max_connections=bind_concurrency, user_agent=COMPONENT)
        self.event_client = Client(client.config, max_connections=4, user_agent=COMPONENT)
        # Events are sent in the background at most EVENT_QPS a second; beyond a queue of 1,000 they
        # are dropped (as client-go's broadcaster does), so a flood of pods is bound, not narrated.
        self.recorder = (
            EventRecorder(
                self.event_client, COMPONENT, workers=2, queue_size=500, qps=EVENT_QPS, qps_burst=EVENT_BURST
            )
            if record_events
            else None
        )
        self.bind_sem = asyncio.Semaphore(bind_concurrency)
        self.binding: set[str] = set()  # pods between assume and the informer confirming the binding
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stats = Stats()
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self._last_condition: dict[str, str] = {}
        self.pods: Informer[Pod] = Informer(client, Pod, name="pods")
        self.nodes: Informer[Node] = Informer(client, Node, name="nodes")
        self.namespaces: Informer[Namespace] = Informer(client, Namespace, name="namespaces")
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handler(self._node_added, self._node_updated, self._node_deleted)
        self.namespaces.add_handler(self._ns_added, self._ns_updated, self._ns_deleted)
        self.elector: LeaderElector | None = None

    # ------------------------------------------------------------ informer handlers

    def _gang_hooks(self, pod: PodInfo, added: bool) -> None:
        for fw in self.fws.values():
            for pl in fw.plugins:
                hook = getattr(pl, "on_pod_add" if added else "on_pod_delete", None)
                if hook is not None:
                    hook(pod)

    def _ours(self, pod: PodInfo) -> bool:
        return pod.scheduler_name in self.fws

    def _pod_added(self, obj: Pod) -> None:
        self._pod_event(None, obj)

    def _pod_updated(self, old: Pod, new: Pod) -> None:
        if not self._confirm_binding(old, new):
            self._pod_event(old, new)

    def _confirm_binding(self, old: Pod, new: Pod) -> bool:
        """The echo of our own binding (most of a busy scheduler's watch traffic): the assumed pod is
        confirmed as it is, without reading the whole pod again, when nothing but the binding changed."""
        node = new.spec.node_name if new.spec is not None else None
        if not node or old.spec is None or old.spec.node_name:
            return False
        m, om = new.metadata, old.metadata
        if (
            m.deletion_timestamp
            or m.labels != om.labels
            or m.annotations != om.annotations
            or m.uid != om.uid
        ):
            return False
        if new.status is not None and new.status.phase in ("Succeeded", "Failed"):
            return False
        key = f"{m.namespace or 'default'}/{m.name}"
        entry = self.cache.pod_entry(key)
        if entry is None or entry.pod.uid != (m.uid or ""):
            return False
        pod = self.cache.confirm(key, node, new)
        if pod is None:
            return False
        self.binding.discard(key)
        self.queue.delete(key)
        self.handle.nominated.pop(key, None)
        self._gang_hooks(pod, True)
        return True

    def _pod_event(self, old: Pod | None, obj: Pod) -> None:
        try:
            pod = pod_info(obj)
        except Exception:  # nothing a pod says may stop the scheduler
            log.exception("cannot read pod %s", getattr(obj.metadata, "name", "?"))
            return
        terminal = pod.phase in ("Succeeded", "Failed")
        if pod.node_name:
            self.binding.discard(pod.key)
            self.queue.delete(pod.key)
            self.handle.nominated.pop(pod.key, None)
            if terminal:
                self.cache.remove_pod(pod.key)
                self.queue.move_all("PodTerminated")
            else:
                self.cache.add_pod(pod)
            self._gang_hooks(pod, True)
            return
        if terminal or not self._ours(pod):
            return
        self._gang_hooks(pod, True)
        if pod.nominated_node_name and pod.key not in self.handle.nominated:
            self.handle.nominated[pod.key] = (pod, pod.nominated_node_name)
        if pod.deleting:
            self.queue.delete(pod.key)
            return
        if pod.key in self.binding or self.cache.is_assumed(pod.key):
            return  # our own binding is in flight
        q = self.queue.pods.get(pod.key)
        if q is not None and old is not None and _same_spec(old, obj):
            q.pod = pod  # a status-only change (our own condition): no retry storm
            return
        if q is None:
            self.queue.add(pod)
            g = gang_of(pod)
            if g is not None:  # a new member may complete its group: retry the others
                self.queue.move_where(lambda p: gang_of(p) == g)
        else:
            self.queue.update(pod)

    def _pod_deleted(self, obj: Pod) -> None:
        try:
            pod = pod_info(obj)
        except Exception:
            return
        self.queue.delete(pod.key)
        self.binding.discard(pod.key)
        self.handle.nominated.pop(pod.key, None)
        self._last_condition.pop(pod.key, None)
        self._gang_hooks(pod, False)
        entry = self.cache.pod_entry(pod.key)
        if entry is not None:
            self.cache.remove_pod(pod.key)
            self.queue.move_all("PodDelete")

    def _node_added(self, obj: Node) -> None:
        self.cache.add_node(node_info(obj))
        self.queue.move_all("NodeAdd")

    def _node_updated(self, old: Node, new: Node) -> None:
        ni = node_info(new)
        i = self.cache.index.get(ni.name)
        prev = self.cache.nodes[i] if i is not None else None
        self.cache.update_node(ni)
        if prev is None or _node_changed(prev, ni):
            self.queue.move_all("NodeUpdate")

    def _node_deleted(self, obj: Node) -> None:
        self.cache.remove_node(obj.metadata.name or "")

    def _ns_added(self, obj: Namespace) -> None:
        self.cache.set_namespace(obj.metadata.name or "", obj.metadata.labels or {})

    def _ns_updated(self, old: Namespace, new: Namespace) -> None:
        self._ns_added(new)
        if (old.metadata.labels or {}) != (new.metadata.labels or {}):
            self.queue.move_all("NamespaceUpdate")

    def _ns_deleted(self, obj: Namespace) -> None:
        self.cache.set_namespace(obj.metadata.name or "", None)

    # ------------------------------------------------------------ queue hooks

    def _pre_enqueue(self, pod: PodInfo) -> Status | None:
        fw = self.fws.get(pod.scheduler_name)
        return fw.pre_enqueue(pod) if fw is not None else None

    # ------------------------------------------------------------ events and status

    def _event(
        self, pod: PodInfo, type_: str, reason: str, message: str, annotations: dict[str, str] | None = None
    ) -> None:
        if self.recorder is not None and pod.obj is not None:
            self.recorder.event(pod.obj, type_, reason, message, annotations=annotations)

    def _plugin_event(self, pod: PodInfo, type_: str, reason: str, message: str) -> None:
        self._event(pod, type_, reason, message)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def _set_unschedulable(self, pod: PodInfo, message: str) -> None:
        """PodScheduled=False, reason Unschedulable, through pods/status (skipped when unchanged)."""
        if self._last_condition.get(pod.key) == message:
            return
        self._last_condition[pod.key] = message
        if len(self._last_condition) > 200_000:
            self._last_condition.clear()
        patch = {
            "status": {
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": message,
                        "lastTransitionTime": _now(),
                        "lastProbeTime": None,
                    }
                ]
            }
        }
        with contextlib.suppress(ClientError):
            await self.event_client.patch(
                Pod, pod.name, patch, pod.namespace, patch_type="strategic", subresource="status"
            )

    def _failed(
        self, q: QueuedPod, message: str, unschedulable: bool = True, plugins: set[str] | None = None
    ) -> None:
        pod = q.pod
        if self.pods.has_synced and self.pods.get(pod.name, pod.namespace) is None:
            self.queue.done(q)  # deleted meanwhile: nothing to retry
            return
        self.stats.failed += 1
        self._event(pod, "Warning", "FailedScheduling", message)
        self._spawn(self._set_unschedulable(pod, message))
        if unschedulable:
            self.queue.add_unschedulable(q, plugins)
        else:
            self.queue.add_backoff(q)

    # ------------------------------------------------------------ the loop

    def schedule_one(self, q: QueuedPod) -> None:
        pod = q.pod
        fw = self.fws.get(pod.scheduler_name)
        entry = self.cache.pod_entry(pod.key)
        if fw is None or pod.deleting or (entry is not None and not entry.assumed):
            self.queue.done(q)  # gone, or already bound (the informer said so)
            return
        if pod.error:
            self._failed(q, f"0/{self.cache.num_nodes} nodes are available: invalid pod: {pod.error}.")
            return
        state = CycleState()
        started = time.perf_counter()
        try:
            result = fw.schedule(state, pod)
        except FitError as e:
            _observe_attempt("unschedulable", pod.scheduler_name, started)
            post = fw.run_post_filter(state, pod, e.diagnosis)
            if post.nominated_node:
                self.stats.preemptions += 1
                # Remember at once (before the API echoes it) that this pod waits for that node and
                # that its victims are going: the next attempt must not preempt again elsewhere.
                pod.nominated_node_name = post.nominated_node
                self.handle.nominated[pod.key] = (pod, post.nominated_node)
                for v in post.victims:
                    v.deleting = True
                self._spawn(self._preempt(pod, post.nominated_node, post.victims))
            self._failed(q, e.message, plugins=e.diagnosis.plugins)
            return
        except Exception as e:
            _observe_attempt("error", pod.scheduler_name, started)
            log.exception("scheduling %s failed", pod.key)
            self._failed(q, f"scheduler error: {e}", unschedulable=False)
            return
        _observe_attempt("scheduled", pod.scheduler_name, started)
        node = result.node
        self.cache.assume(pod, node)
        st = fw.run_reserve(state, pod, node)
        if st is None:
            st = fw.run_permit(state, pod, node)
            if st is not None:
                fw.run_unreserve(state, pod, node)
        if st is not None:
            self.cache.forget(pod)
            self._failed(q, st.message or "rejected", unschedulable=True, plugins={st.plugin})
            return
        self.stats.scheduled += 1
        self.queue.done(q)
        self.binding.add(pod.key)
        self._spawn(self._binding_cycle(q, fw, state, pod, node, trace_annotations(q, result)))

    async def _binding_cycle(
        self,
        q: QueuedPod,
        fw: Framework,
        state: CycleState,
        pod: PodInfo,
        node: str,
        trace: dict[str, str] | None = None,
    ) -> None:
        st: Status | None
        try:
            st = await fw.wait_on_permit(pod)
            if st is not None and st.ok:
                async with self.bind_sem:
                    st = await fw.run_pre_bind(state, pod, node)
                    if st is None:
                        st = await fw.run_bind(state, pod, node)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("binding cycle of %s failed", pod.key)
            st = Status(Code.ERROR, [str(e) or type(e).__name__])
        if st is not None and st.ok:
            fw.run_post_bind(state, pod, node)
            self.stats.bound += 1
            now = time.monotonic()
            if not self.stats.first_bound:
                self.stats.first_bound = now
            self.stats.last_bound = now
            self.handle.nominated.pop(pod.key, None)
            self._event(pod, "Normal", "Scheduled", f"Successfully assigned {pod.key} to {node}", trace)
            return
        # rejected at Permit or PreBind, or the binding failed: give the reservation back and retry
        fw.run_unreserve(state, pod, node)
        self.cache.forget(pod)
        self.binding.discard(pod.key)
        self.queue.move_all("AssumedPodForgotten")
        msg = st.message if st is not None else "binding failed"
        if st is not None and st.code == Code.ERROR:
            self.stats.bind_errors += 1
            msg = f"Binding rejected: {msg}"
        if st is not None and st.code == Code.ERROR and "already" in msg:
            return  # someone else bound it: the informer will tell us
        self._failed(q, msg, unschedulable=st is not None and st.rejected)

    async def _bind(self, pod: PodInfo, node: str) -> Status:
        try:
            await self.bind_client.bind(pod.namespace, pod.name, node, uid=pod.uid or None)
        except ApiError as e:
            return Status(Code.ERROR, [e.message if hasattr(e, "message") else str(e)])
        except Exception as e:  # a binding that fails in any way is retried, never lost
            return Status(Code.ERROR, [str(e) or type(e).__name__])
        return Status(Code.SUCCESS)

    async def _preempt(self, pod: PodInfo, node: str, victims: list[PodInfo]) -> None:
        """Nominate the node for the pod, then delete the victims gracefully (as kube-scheduler)."""
        self.handle.nominated[pod.key] = (pod, node)
        # lower-priority pods nominated to the same node lose their nomination
        for key, (other, onode) in list(self.handle.nominated.items()):
            if onode == node and key != pod.key and other.priority < pod.priority:
                self.handle.nominated.pop(key, None)
                with contextlib.suppress(ClientError):
                    await self.client.patch(
                        Pod,
                        other.name,
                        {"status": {"nominatedNodeName": None}},
                        other.namespace,
                        subresource="status",
                    )
        with contextlib.suppress(ClientError):
            await self.client.patch(
                Pod, pod.name, {"status": {"nominatedNodeName": node}}, pod.namespace, subresource="status"
            )
        for v in victims:
            self._event(v, "Normal", "Preempted", f"Preempted by pod {pod.uid} on node {node}")
            with contextlib.suppress(ClientError):
                await self.client.delete(Pod, v.name, v.namespace, uid=v.uid or None)

    async def loop(self) -> None:
        """Schedule while leading. The loop itself never awaits a round trip."""
        n = 0
        last_yield = time.monotonic()
        while not self.stopped.is_set():
            if not self.leading.is_set():
                await self.leading.wait()
                continue
            self.queue.flush()
            q = self.queue.pop()
            if q is None:
                exp = self.queue.next_backoff_expiry()
                timeout = 1.0 if exp is None else max(min(exp - time.monotonic(), 1.0), 0.001)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queue.ready.wait(), timeout)
                continue
            try:
                self.schedule_one(q)
            except Exception:
                log.exception("scheduling cycle crashed for %s", q.pod.key)
                with contextlib.suppress(Exception):
                    self.queue.add_backoff(q)
            n += 1
            now = time.monotonic()
            if n % 8 == 0 or now - last_yield > 0.005:
                last_yield = now
                await asyncio.sleep(0)  # let watch events and binding answers in

    # ------------------------------------------------------------ running

    async def start_informers(self) -> None:
        if self.recorder is not None:
            self.recorder.start()
        for inf in (self.namespaces, self.nodes, self.pods):
            inf.start()
        for inf in (self.namespaces, self.nodes, self.pods):
            await inf.wait_for_sync()

    async def run(self) -> None:
        """Run until stopped or until leadership is lost (then return, as kube-scheduler exits)."""
        await self.start_informers()
        loop_task = asyncio.get_running_loop().create_task(self.loop())
        try:
            le = self.cfg.leader_election
            if not le.leader_elect:
                self.leading.set()
                await self.stopped.wait()
                return

            async def lead() -> None:
                log.info(
                    "became leader", extra={"kv": {"identity": self.elector.identity if self.elector else ""}}
                )
                self.leading.set()
                await asyncio.Event().wait()

            self.elector = LeaderElector(
                self.client,
                le.resource_namespace,
                le.resource_name,
                self.identity,
                lease_duration=le.lease_duration,
                renew_deadline=le.renew_deadline,
                retry_period=le.retry_period,
                on_started_leading=lead,
            )
            elector_task = asyncio.get_running_loop().create_task(self.elector.run())
            stop_task = asyncio.get_running_loop().create_task(self.stopped.wait())
            done, _ = await asyncio.wait({elector_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            for t in (elector_task, stop_task):
                if not t.done():
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
            if elector_task in done:
                log.error("leader election lost")
        finally:
            self.leading.clear()
            self.stopped.set()
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
            await self.shutdown()

    async def shutdown(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for inf in (self.pods, self.nodes, self.namespaces):
            with contextlib.suppress(Exception):
                await inf.stop()
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.stop(flush_timeout=2.0)
        for c in (self.bind_client, self.event_client):
            with contextlib.suppress(Exception):
                await c.aclose()

    def stop(self) -> None:
        self.stopped.set()


def _observe_attempt(result: str, profile: str, started: float) -> None:
    metrics.scheduler_schedule_attempts_total.labels(result, profile).inc()
    metrics.scheduler_scheduling_attempt_duration_seconds.labels(result, profile).observe(
        time.perf_counter() - started
    )


def trace_annotations(q: QueuedPod, result: ScheduleResult) -> dict[str, str]:
    """What `skiff trace` shows of this decision, carried on the Scheduled event (skiff.api.wellknown)."""

    notes = {
        wellknown.SCHEDULER_NOTICED_AT: epoch_micro_time(q.noticed_at),
        wellknown.SCHEDULER_DECIDED_AT: epoch_micro_time(time.time()),
        wellknown.SCHEDULER_FEASIBLE_NODES: f"{result.feasible}/{result.evaluated}",
    }
    if q.noticed_revision:
        notes[wellknown.SCHEDULER_POD_REVISION] = q.noticed_revision
    if result.top_scores:
        notes[wellknown.SCHEDULER_TOP_SCORES] = ",".join(f"{n}={s}" for n, s in result.top_scores)
    return notes


def _same_spec(old: Pod, new: Pod) -> bool:
    return (
        old.spec == new.spec
        and old.metadata.labels == new.metadata.labels
        and old.metadata.annotations == new.metadata.annotations
        and old.metadata.deletion_timestamp == new.metadata.deletion_timestamp
    )


def _node_changed(a: Any, b: Any) -> bool:
    return (
        a.allocatable != b.allocatable
        or a.labels != b.labels
        or a.taints != b.taints
        or a.unschedulable != b.unschedulable
        or a.images.keys() != b.images.keys()
        or a.annotations.get("skiff.io/usage") != b.annotations.get("skiff.io/usage")
    )


def run_scheduler(
    kubeconfig: str,
    config_file: str | None,
    metrics_port: int = 0,
    tls_cert_file: str | None = None,
    tls_key_file: str | None = None,
) -> int:
    """`skiff scheduler`: run until SIGINT/SIGTERM (exit 0) or until leadership is lost (exit 1).
    /metrics is served over HTTPS on ``metrics_port`` (metrics_server.py)."""
    import signal

    from skiff.client.kubeconfig import load_kubeconfig

    from .config import load_config

    cfg = load_config(config_file)
    kc = load_kubeconfig(kubeconfig)
    server = None
    if metrics_port:
        from .metrics_server import metrics_server

        server = metrics_server(Client(kc), tls_cert_file, tls_key_file)  # a bad file fails here, at once

    async def go() -> int:
        client = Client(kc, max_connections=64)
        sched = Scheduler(client, cfg)
        if server is not None:
            try:
                await server.start("127.0.0.1", metrics_port, fallback=False)
            except OSError as exc:
                log.warning("not serving /metrics on port %d: %s", metrics_port, exc.strerror)
        loop = asyncio.get_running_loop()
        signalled = False

        def on_signal() -> None:
            nonlocal signalled
            signalled = True
            sched.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        log.info("scheduler starting", extra={"kv": {"profiles": ",".join(sched.fws)}})
        try:
            await sched.run()
        finally:
            if server is not None:
                await server.stop()
                await server.auth.client.aclose()
            await client.aclose()
        return 0 if signalled else 1

    return run_event_loop(go())


def run_event_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (less CPU per socket read and timer), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
