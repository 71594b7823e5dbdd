"""The kubelet: watches the pods bound to its node and keeps one worker per pod in step with them.

Sources of pods: the API (a watch with fieldSelector spec.nodeName=NODE, through an informer) and static
manifests (static.py, mirrored into the API). A relist of the runtime (the PLEG) every `relist_period`
wakes the workers whose containers changed; a worker also relists right after acting, so a started
container is reported at once. On start, once the informer has synced, containers of pods that no
longer exist are removed; those of existing pods are adopted by their workers (not restarted).

`HollowKubelets` runs many hollow nodes in one process: one shared pod informer, one worker set per node,
no server and no relist loop (hollow containers change only when the kubelet acts).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from skiff.api import core
from skiff.client import ApiError, Client, ClientError
from skiff.client.delegated import DelegatedAuth
from skiff.client.events import EventRecorder
from skiff.client.informer import Informer
from skiff.kubelet.node import NodeAgent, host_address
from skiff.kubelet.pod_worker import KubeletConfig, PodWorker, WorkerContext
from skiff.kubelet.server import KubeletServer
from skiff.kubelet.static import StaticPods
from skiff.runtime.base import ContainerInfo, Runtime, RuntimeError_, Sandbox
from skiff.serving import serving_context

log = logging.getLogger("skiff.kubelet")


class Kubelet:
    def __init__(
        self,
        client: Client,
        runtime: Runtime,
        node: str,
        *,
        capacity: dict[str, str] | None = None,
        port: int = 10250,
        address: str | None = None,
        manifests: str | None = None,
        config: KubeletConfig | None = None,
        relist_period: float = 1.0,
        serve: bool = True,
        own_informer: bool = True,
        recorder: EventRecorder | None = None,
        http: httpx.AsyncClient | None = None,
        lease_period: float = 10.0,
        status_period: float = 10.0,
        gate: asyncio.Semaphore | None = None,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
    ) -> None:
        self.client = client
        self.tls_cert_file = tls_cert_file
        self.tls_key_file = tls_key_file
        self.runtime = runtime
        self.node = node
        self.capacity = capacity
        self.port = port
        self.address = address or host_address()
        self.manifests = manifests
        self.config = config or KubeletConfig()
        self.relist_period = relist_period
        self.serve = serve
        self.own_informer = own_informer
        self._own_recorder = recorder is None
        self.recorder = recorder or EventRecorder(client, "kubelet", host=node)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(verify=False, follow_redirects=True, trust_env=False)
        self.workers: dict[str, PodWorker] = {}
        self.pods: dict[str, core.Pod] = {}  # uid -> latest pod object
        self.by_key: dict[str, str] = {}  # namespace/name -> uid
        self._sandboxes: dict[str, list[Sandbox]] = {}
        self._containers: dict[str, list[ContainerInfo]] = {}
        self._signatures: dict[str, Any] = {}
        self._noted: list[tuple[int, str, Sandbox | None, ContainerInfo | None]] = []
        self._relist_started = 0
        self._relist_done = 0
        self._relist_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.informer: Informer[core.Pod] | None = None
        self.server: KubeletServer | None = None
        self.static: StaticPods | None = None
        self.agent = NodeAgent(
            client,
            runtime,
            node,
            address=self.address,
            port=port,
            capacity=capacity,
            lease_period=lease_period,
            status_period=status_period,
            report_usage=runtime.name != "hollow",
            gate=gate,
        )
        self.ctx = WorkerContext(
            node=node,
            host_ip=self.address,
            runtime=runtime,
            http=self.http,
            config=self.config,
            state=self.state,
            refresh=self.refresh,
            note=self.note,
            event=self._event,
            send_status=self._send_status,
            final_delete=self._final_delete,
        )
        self.started = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.runtime.start()
        if self._own_recorder:
            self.recorder.start()
        if self.serve:
            tls = serving_context(
                self.node, [self.address], self.client.config.ca_pem, self.tls_cert_file, self.tls_key_file
            )
            auth = DelegatedAuth(self.client)
            self.server = KubeletServer(self.runtime, self.lookup, auth, tls, self.node)
            self.agent.port = await self.server.start("0.0.0.0", self.port)
        delay = 0.5
        while True:
            try:
                await self.agent.register()
                break
            except ClientError as exc:
                # The API server is not there yet (or refused): keep trying, as a kubelet does.
                log.warning("node registration failed (retrying): %s", exc, extra={"kv": {"node": self.node}})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.agent.start()
        await self._claim_cluster()
        await self.refresh()
        if self.own_informer:
            self.informer = Informer(self.client, core.Pod, field_selector=f"spec.nodeName={self.node}")
            self.informer.add_handler(
                on_add=self.on_pod, on_update=self.on_pod_update, on_delete=self.on_pod_delete
            )
            self.informer.start()
            await self.informer.wait_for_sync()
            await self.remove_orphans()
        if self.runtime.name != "hollow" and self.relist_period > 0:
            self._tasks.append(asyncio.create_task(self._relist_loop(), name="pleg"))
        if self.manifests:
            self.static = StaticPods(
                self.client,
                self.node,
                self.manifests,
                existing=lambda: list(self.pods.values()),
                node_uid=lambda: self.agent.uid,
            )
            self.static.start()
        self.started.set()
        log.info(
            "kubelet started",
            extra={"kv": {"node": self.node, "runtime": self.runtime.name, "port": self.agent.port}},
        )

    async def _claim_cluster(self) -> None:
        """Scopes the runtime's containers to this cluster (its kube-system namespace's uid), so that a
        kubelet of another cluster with the same node name on the same Docker never adopts or removes
        them. Registration succeeded just before, so this read normally succeeds at once."""
        if self.runtime.name == "hollow":
            return  # simulated containers: nothing is shared between clusters
        delay = 0.5
        while True:
            try:
                ns = await self.client.get(core.Namespace, "kube-system")
                break
            except ClientError as exc:
                log.warning(
                    "reading the cluster id failed (retrying): %s", exc, extra={"kv": {"node": self.node}}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.runtime.cluster = ns.metadata.uid or None

    async def stop(self) -> None:
        """Stops watching and reporting; containers keep running (a restarted kubelet adopts them)."""
        if self.static is not None:
            await self.static.stop()
        if self.informer is not None:
            await self.informer.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await asyncio.gather(*(w.stop() for w in list(self.workers.values())))
        await self.agent.stop()
        if self.server is not None:
            await self.server.stop()
        if self._own_recorder:
            await self.recorder.stop(flush_timeout=2.0)
        if self._own_http:
            await self.http.aclose()
        await self.runtime.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await _until_stopped(self.start(), stop)
        await self.stop()

    # ------------------------------------------------------------------ pod events

    def on_pod(self, pod: core.Pod) -> None:
        if pod.spec.node_name != self.node:
            return
        uid = pod.metadata.uid or ""
        self.pods[uid] = pod
        self.by_key[f"{pod.metadata.namespace}/{pod.metadata.name}"] = uid
        worker = self.workers.get(uid)
        if worker is None:
            worker = self.workers[uid] = PodWorker(self.ctx, pod)
            worker.start()
            assert worker.task is not None
            worker.task.add_done_callback(functools.partial(self._worker_done, uid))
        else:
            worker.update(pod)

    def on_pod_update(self, old: core.Pod, new: core.Pod) -> None:
        self.on_pod(new)

    def on_pod_delete(self, pod: core.Pod) -> None:
        uid = pod.metadata.uid or ""
        self.pods.pop(uid, None)
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if self.by_key.get(key) == uid:
            del self.by_key[key]
        worker = self.workers.get(uid)
        if worker is not None:
            worker.deleted()

    def _worker_done(self, uid: str, _task: object = None) -> None:
        w = self.workers.get(uid)
        if w is not None and w.done:
            del self.workers[uid]

    # ------------------------------------------------------------------ runtime state (the PLEG)

    def state(self, uid: str) -> tuple[list[Sandbox], list[ContainerInfo]]:
        return list(self._sandboxes.get(uid, [])), list(self._containers.get(uid, []))

    def _signature(self, uid: str) -> Any:
        return (
            tuple(sorted((s.id, s.running) for s in self._sandboxes.get(uid, []))),
            tuple(sorted((c.id, c.state) for c in self._containers.get(uid, []))),
        )

    def note(self, uid: str, sandbox: Sandbox | None, container: ContainerInfo | None) -> None:
        """A worker created a sandbox or started a container: put it in the view before the next relist."""
        # A relist already under way may have listed before this existed: it must not drop it.
        self._noted.append((self._relist_started, uid, sandbox, container))
        if sandbox is not None:
            sandboxes = [s for s in self._sandboxes.get(uid, []) if s.id != sandbox.id]
            self._sandboxes = {**self._sandboxes, uid: [*sandboxes, sandbox]}
        if container is not None:
            containers = [c for c in self._containers.get(uid, []) if c.id != container.id]
            self._containers = {**self._containers, uid: [*containers, container]}
        self._signatures[uid] = self._signature(uid)

    async def refresh(self) -> None:
        """Returns once a relist that began after this call has finished (concurrent callers share it)."""
        target = self._relist_started + 1
        while self._relist_done < target:
            if self._relist_task is None or self._relist_task.done():
                self._relist_task = asyncio.create_task(self._relist())
            await asyncio.shield(self._relist_task)

    async def _relist(self) -> None:
        self._relist_started += 1
        gen = self._relist_started
        try:
            sandboxes, containers = await asyncio.gather(
                self.runtime.list_sandboxes(), self.runtime.list_containers()
            )
        except RuntimeError_ as exc:
            log.warning("runtime relist failed: %s", exc.message)
            self._relist_done = gen
            return
        by_pod_s: dict[str, list[Sandbox]] = {}
        by_pod_c: dict[str, list[ContainerInfo]] = {}
        for s in sandboxes:
            by_pod_s.setdefault(s.pod.uid, []).append(s)
        for c in containers:
            by_pod_c.setdefault(c.pod.uid, []).append(c)
        self._noted = [n for n in self._noted if n[0] >= gen]
        for _, uid, sandbox, container in self._noted:
            # What the worker noted is newer than what this relist saw.
            if sandbox is not None:
                by_pod_s[uid] = [s for s in by_pod_s.get(uid, []) if s.id != sandbox.id] + [sandbox]
            if container is not None:
                by_pod_c[uid] = [c for c in by_pod_c.get(uid, []) if c.id != container.id] + [container]
        self._sandboxes, self._containers = by_pod_s, by_pod_c
        signatures = {uid: self._signature(uid) for uid in set(by_pod_s) | set(by_pod_c)}
        for uid in set(signatures) | set(self._signatures):
            if signatures.get(uid) != self._signatures.get(uid):
                worker = self.workers.get(uid)
                if worker is not None:
                    worker.poke()
        self._signatures = signatures
        self._relist_done = gen

    async def _relist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.relist_period)
            try:
                await self.refresh()
            except Exception:
                log.exception("relist failed")

    async def remove_orphans(self) -> None:
        """Removes containers and sandboxes of pods that no longer exist (after a kubelet restart)."""
        await self.refresh()
        known = set(self.pods)
        for uid in set(self._sandboxes) | set(self._containers):
            if uid in known:
                continue
            sandboxes, containers = self.state(uid)
            log.info("removing containers of a pod that no longer exists", extra={"kv": {"uid": uid}})
            for c in containers:
                with contextlib.suppress(RuntimeError_):
                    if c.state == "running":
                        await self.runtime.stop_container(c.id, 2.0)
                    await self.runtime.remove_container(c.id)
            for s in sandboxes:
                with contextlib.suppress(RuntimeError_):
                    await self.runtime.remove_sandbox(s.id)
        await self.refresh()

    # ------------------------------------------------------------------ what workers call

    def _event(
        self, pod: core.Pod, type_: str, reason: str, message: str, annotations: dict[str, str] | None = None
    ) -> None:
        self.recorder.event(pod, type_, reason, message, annotations=annotations)

    async def _send_status(self, pod: core.Pod, patch: dict[str, Any]) -> bool:
        try:
            await self.client.patch(
                core.Pod,
                pod.metadata.name or "",
                {"status": patch},
                pod.metadata.namespace,
                subresource="status",
            )
            return True
        except ApiError as exc:
            if not exc.not_found:
                log.warning("status update failed: %s", exc, extra={"kv": {"pod": pod.metadata.name}})
            return False
        except ClientError as exc:
            log.warning("status update failed: %s", exc, extra={"kv": {"pod": pod.metadata.name}})
            return False

    async def _final_delete(self, pod: core.Pod) -> None:
        with contextlib.suppress(ApiError):
            await self.client.delete(
                core.Pod,
                pod.metadata.name or "",
                pod.metadata.namespace,
                grace_period_seconds=0,
                uid=pod.metadata.uid,
            )

    # ------------------------------------------------------------------ the server's lookup

    def lookup(self, namespace: str, name: str, container: str, previous: bool) -> ContainerInfo | str:
        uid = self.by_key.get(f"{namespace}/{name}")
        if uid is None:
            return f'pod "{name}" not found in namespace "{namespace}" on node {self.node}'
        attempts = sorted(
            (c for c in self._containers.get(uid, []) if c.name == container),
            key=lambda c: (c.attempt, c.created_at),
        )
        if not attempts:
            return f'container "{container}" in pod "{name}" is waiting to start: not found'
        if previous:
            if len(attempts) < 2:
                return f'previous terminated container "{container}" in pod "{name}" not found'
            return attempts[-2]
        return attempts[-1]


class HollowKubelets:
    """Many hollow nodes (prefix-0 ... prefix-N-1) in one process, sharing one client and one informer."""

    def __init__(
        self,
        client: Client,
        prefix: str,
        count: int,
        capacity: dict[str, str] | None,
        make_runtime: Callable[[str], Runtime],
        config: KubeletConfig | None = None,
        lease_period: float = 10.0,
        register_concurrency: int = 8,
        heartbeat_concurrency: int = 24,
    ) -> None:
        self.client = client
        self.recorder = EventRecorder(client, "kubelet", host=prefix)
        self.http = httpx.AsyncClient(trust_env=False)
        self.names = [f"{prefix}-{i}" for i in range(count)]
        self.kubelets: dict[str, Kubelet] = {}
        gate = asyncio.Semaphore(heartbeat_concurrency)
        for name in self.names:
            self.kubelets[name] = Kubelet(
                client,
                make_runtime(name),
                name,
                capacity=capacity,
                address="127.0.0.1",
                config=config,
                serve=False,
                own_informer=False,
                recorder=self.recorder,
                http=self.http,
                lease_period=lease_period,
                status_period=60.0,
                gate=gate,
            )
        self.informer: Informer[core.Pod] | None = None
        self.register_concurrency = register_concurrency

    async def start(self) -> None:
        self.recorder.start()
        sem = asyncio.Semaphore(self.register_concurrency)

        async def one(k: Kubelet) -> None:
            async with sem:
                await k.start()

        t0 = time.monotonic()
        await asyncio.gather(*(one(k) for k in self.kubelets.values()))
        log.info(
            "hollow nodes registered",
            extra={"kv": {"count": len(self.kubelets), "seconds": round(time.monotonic() - t0, 1)}},
        )
        # One watch for all nodes: every pod, handed to the kubelet of its node (others are ignored).
        self.informer = Informer(self.client, core.Pod)
        self.informer.add_handler(on_add=self._add, on_update=self._update, on_delete=self._delete)
        self.informer.start()
        await self.informer.wait_for_sync()

    def _owner(self, pod: core.Pod) -> Kubelet | None:
        return self.kubelets.get(pod.spec.node_name or "")

    def _add(self, pod: core.Pod) -> None:
        k = self._owner(pod)
        if k is not None:
            k.on_pod(pod)

    def _update(self, old: core.Pod, new: core.Pod) -> None:
        self._add(new)

    def _delete(self, pod: core.Pod) -> None:
        k = self._owner(pod)
        if k is not None:
            k.on_pod_delete(pod)

    async def stop(self) -> None:
        if self.informer is not None:
            await self.informer.stop()
        await asyncio.gather(*(k.stop() for k in self.kubelets.values()))
        await self.recorder.stop(flush_timeout=2.0)
        await self.http.aclose()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await _until_stopped(self.start(), stop)
        await self.stop()


async def _until_stopped(starting: Awaitable[None], stop: asyncio.Event) -> None:
    """Runs `starting`, then waits for stop; a stop during start cancels the start."""
    task = asyncio.ensure_future(starting)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # a failed start raises here
            await stopper
    finally:
        for t in (task, stopper):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t


async def run(start: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Runs until SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await start(stop)
