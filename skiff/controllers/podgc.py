"""The pod garbage collector (kube-controller-manager's podgc, by behaviour), every period (20 s):

- terminated pods (phase Succeeded or Failed) beyond `terminated_threshold` (12,500) are deleted,
  oldest first by creationTimestamp;
- pods bound to a node that no longer exists are deleted once the node has stayed absent for
  `quarantine` (40 s) and a fresh GET confirms it is gone: a pod still running is first marked Failed,
  each gets the DisruptionTarget condition (DeletionByPodGC);
- pods being deleted that were never bound to a node are deleted at once (no kubelet will confirm);
- pods being deleted on a node that is not Ready and carries the node.kubernetes.io/out-of-service
  taint (an administrator's word that the node is gone for good) are marked Failed and deleted.
All these deletions are forced (grace period 0): no kubelet is left to finish them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from skiff.api.core import Node, Pod
from skiff.api.meta import now_rfc3339
from skiff.client.informer import InformerFactory
from skiff.client.rest import ApiError, Client, ClientError

from .nodelifecycle import condition, pod_node

TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

log = logging.getLogger("skiff.controllers.podgc")

TERMINAL = ("Succeeded", "Failed")


class PodGCController:
    def __init__(
        self,
        client: Client,
        factory: InformerFactory,
        *,
        period: float = 20.0,
        terminated_threshold: int = 12500,
        quarantine: float = 40.0,
    ) -> None:
        self.client = client
        self.period = period
        self.terminated_threshold = terminated_threshold
        self.quarantine = quarantine
        self.nodes = factory.informer(Node)
        self.pods = factory.informer(Pod, indexers={"node": pod_node})
        self._absent_since: dict[str, float] = {}  # node name -> monotonic time first seen missing
        self.deleted = 0

    async def run(self) -> None:
        while True:
            try:
                await self.gc()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod gc pass failed")
            await asyncio.sleep(self.period)

    async def gc(self) -> None:
        if self.terminated_threshold > 0:
            await self.gc_terminated()
        await self.gc_terminating_out_of_service()
        await self.gc_orphaned()
        await self.gc_unscheduled_terminating()

    async def gc_terminated(self) -> None:
        done = [p for p in self.pods.list() if p.status is not None and p.status.phase in TERMINAL]
        excess = len(done) - self.terminated_threshold
        if excess <= 0:
            return
        done.sort(key=lambda p: (p.metadata.creation_timestamp or "", p.metadata.name or ""))
        log.info(
            "deleting terminated pods",
            extra={"kv": {"count": excess, "threshold": self.terminated_threshold}},
        )
        for pod in done[:excess]:
            await self._force_delete(pod, "terminated pod beyond the threshold")

    async def gc_orphaned(self) -> None:
        now = time.monotonic()
        bound = self.pods.index_values("node")
        missing = [n for n in bound if self.nodes.get(n) is None]
        for name in list(self._absent_since):
            if name not in missing:
                del self._absent_since[name]
        for name in missing:
            since = self._absent_since.setdefault(name, now)
            if now - since < self.quarantine:
                continue
            try:
                await self.client.get(Node, name)
                continue  # the informer is behind: the node exists
            except ApiError as e:
                if not e.not_found:
                    raise
            for pod in self.pods.by_index("node", name):
                await self._mark_failed(pod, "PodGC: node no longer exists")
                await self._force_delete(pod, f"node {name} no longer exists")

    async def gc_terminating_out_of_service(self) -> None:
        for node in self.nodes.list():
            ready = condition(node, "Ready")
            if ready is not None and ready.status == "True":
                continue
            if not any(t.key == TAINT_OUT_OF_SERVICE for t in node.spec.taints or ()):
                continue
            for pod in self.pods.by_index("node", node.metadata.name or ""):
                if pod.metadata.deletion_timestamp:
                    await self._mark_failed(pod, "PodGC: node is out of service")
                    await self._force_delete(pod, f"terminating on out-of-service node {node.metadata.name}")

    async def gc_unscheduled_terminating(self) -> None:
        for pod in self.pods.list():
            if pod.metadata.deletion_timestamp and not pod.spec.node_name:
                await self._force_delete(pod, "terminating pod that was never scheduled")

    async def _mark_failed(self, pod: Pod, message: str) -> None:
        status: dict[str, Any] = {
            "conditions": [
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "DeletionByPodGC",
                    "message": message,
                    "lastTransitionTime": now_rfc3339(),
                }
            ]
        }
        if pod.status is None or pod.status.phase not in TERMINAL:
            status["phase"] = "Failed"
        try:
            await self.client.patch(
                Pod,
                pod.metadata.name or "",
                {"status": status},
                pod.metadata.namespace,
                patch_type="strategic",
                subresource="status",
            )
        except ClientError as e:
            log.info("cannot mark pod failed: %s", e, extra={"kv": {"pod": _key(pod)}})

    async def _force_delete(self, pod: Pod, why: str) -> None:
        try:
            await self.client.delete(
                Pod,
                pod.metadata.name or "",
                pod.metadata.namespace,
                grace_period_seconds=0,
                uid=pod.metadata.uid,
            )
        except ApiError as e:
            if e.not_found or e.conflict:
                return
            log.warning("cannot delete pod: %s", e, extra={"kv": {"pod": _key(pod)}})
            return
        except ClientError as e:
            log.warning("cannot delete pod: %s", e, extra={"kv": {"pod": _key(pod)}})
            return
        self.deleted += 1
        log.info("deleted pod", extra={"kv": {"pod": _key(pod), "why": why}})


def _key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"
