"""`skiff controller-manager`: runs the controllers against the API server, leader-elected.

Only one controller manager acts at a time: candidates compete for the Lease
kube-system/kube-controller-manager (client-go's rules, skiff.client.leaderelection). The leader starts
shared informers (nodes, node leases, pods, namespaces, service accounts), waits for them to sync, then
runs every controller until it loses the lease or is stopped; on SIGTERM/Ctrl-C it releases the lease
so another takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from skiff.client.events import EventRecorder
from skiff.client.informer import InformerFactory
from skiff.client.kubeconfig import KubeConfig
from skiff.client.leaderelection import LeaderElector, default_identity
from skiff.client.rest import Client

from .namespace import NamespaceController
from .nodelifecycle import NodeLifecycleController
from .podgc import PodGCController
from .serviceaccount import ServiceAccountsController

log = logging.getLogger("skiff.controllers")

COMPONENT = "kube-controller-manager"
LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-controller-manager"
ALL_CONTROLLERS = ("nodelifecycle", "podgc", "namespace", "serviceaccount")


@dataclass
class Options:
    controllers: tuple[str, ...] = ALL_CONTROLLERS
    node_monitor_period: float = 5.0
    node_monitor_grace_period: float = 40.0
    node_eviction_period: float = 1.0
    node_eviction_rate: float = 0.1
    secondary_node_eviction_rate: float = 0.01
    large_cluster_size_threshold: int = 50
    unhealthy_zone_threshold: float = 0.55
    podgc_period: float = 20.0
    terminated_pod_gc_threshold: int = 12500
    podgc_quarantine: float = 40.0
    leader_elect: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str | None = None


class ControllerManager:
    def __init__(self, config: KubeConfig, options: Options | None = None) -> None:
        self.config = config
        self.options = options or Options()
        unknown = set(self.options.controllers) - set(ALL_CONTROLLERS)
        if unknown:
            raise ValueError(f"unknown controllers: {', '.join(sorted(unknown))}")
        self.identity = self.options.identity or default_identity()
        self.client: Client | None = None
        self.node_lifecycle: NodeLifecycleController | None = None
        self.podgc: PodGCController | None = None
        self.namespace: NamespaceController | None = None
        self.serviceaccounts: ServiceAccountsController | None = None
        self.elector: LeaderElector | None = None
        self.leading = asyncio.Event()

    async def run(self) -> None:
        """Run until cancelled (or, when leader-elected, until leadership is lost)."""
        async with Client(self.config, user_agent=COMPONENT) as client:
            self.client = client
            o = self.options
            if not o.leader_elect:
                await self._lead(client)
                return
            self.elector = LeaderElector(
                client,
                LEASE_NAMESPACE,
                LEASE_NAME,
                self.identity,
                lease_duration=o.lease_duration,
                renew_deadline=o.renew_deadline,
                retry_period=o.retry_period,
                on_started_leading=lambda: self._lead(client),
            )
            await self.elector.run()

    async def _lead(self, client: Client) -> None:
        o = self.options
        factory = InformerFactory(client)
        recorder = EventRecorder(client, COMPONENT, instance=self.identity)
        runs: list[Coroutine[Any, Any, None]] = []
        if "nodelifecycle" in o.controllers:
            self.node_lifecycle = NodeLifecycleController(
                client,
                factory,
                recorder,
                monitor_period=o.node_monitor_period,
                grace_period=o.node_monitor_grace_period,
                eviction_period=o.node_eviction_period,
                eviction_rate=o.node_eviction_rate,
                secondary_eviction_rate=o.secondary_node_eviction_rate,
                large_cluster_size=o.large_cluster_size_threshold,
                unhealthy_zone_threshold=o.unhealthy_zone_threshold,
            )
            runs.append(self.node_lifecycle.run())
        if "podgc" in o.controllers:
            self.podgc = PodGCController(
                client,
                factory,
                period=o.podgc_period,
                terminated_threshold=o.terminated_pod_gc_threshold,
                quarantine=o.podgc_quarantine,
            )
            runs.append(self.podgc.run())
        if "namespace" in o.controllers:
            self.namespace = NamespaceController(client, factory)
            runs.append(self.namespace.run())
        if "serviceaccount" in o.controllers:
            self.serviceaccounts = ServiceAccountsController(client, factory)
            runs.append(self.serviceaccounts.run())
        recorder.start()
        factory.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            await factory.wait_for_sync()
            log.info("controllers started", extra={"kv": {"controllers": ",".join(o.controllers)}})
            self.leading.set()
            tasks = [asyncio.get_running_loop().create_task(r) for r in runs]
            runs = []
            await asyncio.gather(*tasks)
        finally:
            for r in runs:
                r.close()  # never started: sync was interrupted
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self.leading.clear()
            await factory.stop()
            await recorder.stop(flush_timeout=2.0)


def run_controller_manager(config: KubeConfig, options: Options) -> None:
    """The process entry point: run until SIGTERM/SIGINT (then release the lease) or lost leadership."""

    async def main() -> None:
        manager = ControllerManager(config, options)
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        stopping = False

        def stop() -> None:
            nonlocal stopping
            if not stopping and task is not None:
                stopping = True
                log.info("stopping")
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop)
        try:
            await manager.run()
        except asyncio.CancelledError:
            if not stopping:
                raise
            return
        if options.leader_elect:
            raise SystemExit("skiff controller-manager: leader election lost")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
