"""The node lifecycle controller: node health from heartbeats, condition taints, NoExecute evictions.

Health (every monitor_period, 5 s): a node is alive while its kubelet keeps renewing the node's Lease in
kube-node-lease or moving its Ready condition's lastHeartbeatTime. When neither has changed for
grace_period (40 s) as seen by this controller, its Ready, MemoryPressure, DiskPressure and PIDPressure
conditions become Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node status.") and the
pods on it are marked not Ready.

Taints follow the Ready condition: False -> node.kubernetes.io/not-ready, Unknown ->
node.kubernetes.io/unreachable, each as NoSchedule and NoExecute (timeAdded set); True -> removed.
spec.unschedulable -> node.kubernetes.io/unschedulable:NoSchedule. Other taints are left alone.

NoExecute taints are rationed per zone (labels topology.kubernetes.io/region and zone), as in Kubernetes:
at most `eviction_rate` (0.1) newly tainted nodes a second; a zone with more than 2 nodes not Ready and
at least 55 % of them (partial disruption) gets no new ones (`secondary_eviction_rate`, 0.01/s, in
clusters over 50 nodes). When no node at all is Ready (master disruption: the trouble is more likely on
the control plane's side, say an API server outage that stopped every heartbeat) the NoExecute taints
are removed from every node and none added, so nothing is evicted; when a node is Ready again every node
gets a fresh grace period.

Evictions (every eviction_period, 1 s): a pod on a node with NoExecute taints it does not tolerate is
deleted at once; one that tolerates them all is deleted once the smallest tolerationSeconds of the
tolerations used has passed since the taint was added (no tolerationSeconds: it stays). The API server
gives pods 300 s tolerations for not-ready and unreachable by default. Each eviction adds the pod's
DisruptionTarget condition (DeletionByTaintManager) and a TaintManagerEviction event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from skiff.api.coordination import Lease
from skiff.api.core import Node, NodeCondition, NodeStatus, Pod, Taint
from skiff.api.meta import now_rfc3339, parse_time
from skiff.client.events import NORMAL, EventRecorder
from skiff.client.informer import InformerFactory
from skiff.client.rest import ApiError, Client, ClientError

from .taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    OWNED,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    matching_tolerations,
    min_toleration_seconds,
)

log = logging.getLogger("skiff.controllers.nodelifecycle")

ZONE_NORMAL, PARTIAL_DISRUPTION, FULL_DISRUPTION = "Normal", "PartialDisruption", "FullDisruption"
ZONE_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone")

NODE_LEASE_NAMESPACE = "kube-node-lease"
WATCHED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def pod_node(pod: Pod) -> list[str]:
    """Index pods by the node they are bound to."""
    name = pod.spec.node_name
    return [name] if name else []


def condition(node: Node, type_: str) -> NodeCondition | None:
    for c in (node.status.conditions if node.status else None) or ():
        if c.type == type_:
            return c
    return None


def zone_of(node: Node) -> str:
    labels = node.metadata.labels or {}
    return ":\x00:".join(labels.get(k, "") for k in ZONE_LABELS)


def zone_state(ready: list[str | None], unhealthy_threshold: float = 0.55) -> str:
    """A zone's state from its nodes' Ready statuses (anything but True counts as not ready)."""
    not_ready = sum(1 for r in ready if r != "True")
    if not_ready and not_ready == len(ready):
        return FULL_DISRUPTION
    if not_ready > 2 and not_ready / len(ready) >= unhealthy_threshold:
        return PARTIAL_DISRUPTION
    return ZONE_NORMAL


class _Bucket:
    """A token bucket (burst 1) rationing new NoExecute taints in one zone."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = 1.0
        self.at = time.monotonic()

    def take(self, rate: float) -> bool:
        now = time.monotonic()
        self.tokens = min(1.0, self.tokens + (now - self.at) * self.rate)
        self.at, self.rate = now, rate
        if rate <= 0 or self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def copy_of(obj: Any) -> Any:
    """A deep copy of a Struct (informer objects are shared and must never be changed in place)."""
    return msgspec.json.decode(msgspec.json.encode(obj), type=type(obj))


@dataclass
class _Health:
    probe: float  # monotonic time the controller last saw the kubelet alive
    heartbeat: str | None
    lease_renew: str | None


class NodeLifecycleController:
    def __init__(
        self,
        client: Client,
        factory: InformerFactory,
        recorder: EventRecorder | None = None,
        *,
        monitor_period: float = 5.0,
        grace_period: float = 40.0,
        eviction_period: float = 1.0,
        lease_namespace: str = NODE_LEASE_NAMESPACE,
        eviction_rate: float = 0.1,
        secondary_eviction_rate: float = 0.01,
        large_cluster_size: int = 50,
        unhealthy_zone_threshold: float = 0.55,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.monitor_period = monitor_period
        self.grace_period = grace_period
        self.eviction_period = eviction_period
        self.lease_namespace = lease_namespace
        self.eviction_rate = eviction_rate
        self.secondary_eviction_rate = secondary_eviction_rate
        self.large_cluster_size = large_cluster_size
        self.unhealthy_zone_threshold = unhealthy_zone_threshold
        self.master_disruption = False
        self.zone_states: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self.nodes = factory.informer(Node)
        self.leases = factory.informer(Lease, lease_namespace)
        self.pods = factory.informer(Pod, indexers={"node": pod_node})
        self._health: dict[str, _Health] = {}
        self._noexecute: set[str] = set()  # nodes carrying NoExecute taints
        self._tainted_since: dict[str, float] = {}  # wall time a node was first seen with NoExecute
        self._evicted: set[str] = set()  # pod uids already deleted by us
        self.evictions = 0
        self.nodes.add_handler(
            on_add=self._node_seen, on_update=self._node_updated, on_delete=self._node_gone
        )

    # -------------------------------------------------------------------------- informer hooks

    def _node_seen(self, node: Node) -> None:
        name = node.metadata.name or ""
        if any(t.effect == NO_EXECUTE for t in node.spec.taints or ()):
            self._noexecute.add(name)
        else:
            self._noexecute.discard(name)

    def _node_updated(self, old: Node, new: Node) -> None:
        self._node_seen(new)

    def _node_gone(self, node: Node) -> None:
        name = node.metadata.name or ""
        self._health.pop(name, None)
        self._noexecute.discard(name)

    # -------------------------------------------------------------------------- loops

    async def run(self) -> None:
        await asyncio.gather(
            self._loop(self.monitor, self.monitor_period), self._loop(self.evict_pass, self.eviction_period)
        )

    async def _loop(self, fn: Any, period: float) -> None:
        while True:
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", getattr(fn, "__name__", fn))
            await asyncio.sleep(period)

    async def monitor(self) -> None:
        """One health pass over every node, then the taints, zone by zone."""
        now = time.monotonic()
        nodes: list[Node] = []
        for node in self.nodes.list():
            try:
                nodes.append(await self._monitor_node(node, now))
            except ClientError as e:
                log.warning("node %s: %s", node.metadata.name, e)
                nodes.append(node)
        self._zones(nodes, now)
        for node in nodes:
            try:
                await self._sync_taints(node)
            except ClientError as e:
                log.warning("node %s: %s", node.metadata.name, e)

    async def _monitor_node(self, node: Node, now: float) -> Node:
        """Marks the node Unknown when its kubelet has been silent for the grace period; returns the
        node as it now is."""
        name = node.metadata.name or ""
        ready = condition(node, "Ready")
        heartbeat = ready.last_heartbeat_time if ready else None
        lease = self.leases.get(name, self.lease_namespace)
        renew = lease.spec.renew_time if lease is not None else None
        h = self._health.get(name)
        if h is None:
            h = self._health[name] = _Health(now, heartbeat, renew)
        elif heartbeat != h.heartbeat or renew != h.lease_renew:
            h.probe, h.heartbeat, h.lease_renew = now, heartbeat, renew
        if now - h.probe > self.grace_period:
            return await self._mark_unknown(node) or node
        return node

    def _zones(self, nodes: list[Node], now: float) -> None:
        by_zone: dict[str, list[str | None]] = {}
        for node in nodes:
            ready = condition(node, "Ready")
            by_zone.setdefault(zone_of(node), []).append(ready.status if ready else None)
        self.zone_states = {z: zone_state(r, self.unhealthy_zone_threshold) for z, r in by_zone.items()}
        everything_down = bool(by_zone) and all(s == FULL_DISRUPTION for s in self.zone_states.values())
        if everything_down and not self.master_disruption:
            log.info("Controller detected that all Nodes are not-Ready. Entering master disruption mode")
        elif self.master_disruption and not everything_down:
            log.info("Controller detected that some Nodes are Ready. Exiting master disruption mode")
            for h in self._health.values():
                h.probe = now  # a fresh grace period for every node
        self.master_disruption = everything_down

    def _may_add_noexecute(self, node: Node) -> bool:
        zone = zone_of(node)
        state = self.zone_states.get(zone, ZONE_NORMAL)
        rate = self.eviction_rate
        if state == PARTIAL_DISRUPTION:
            large = len(self._health) > self.large_cluster_size
            rate = self.secondary_eviction_rate if large else 0.0
        bucket = self._buckets.get(zone)
        if bucket is None:
            bucket = self._buckets[zone] = _Bucket(rate)
        return bucket.take(rate)

    async def _mark_unknown(self, node: Node) -> Node | None:
        """Set the watched conditions to Unknown; returns the updated node (None if nothing changed)."""
        conds = list((node.status.conditions if node.status else None) or ())
        by_type = {c.type: i for i, c in enumerate(conds)}
        ts = now_rfc3339()
        changed = False
        was_ready = False
        for type_ in WATCHED_CONDITIONS:
            i = by_type.get(type_)
            if i is None:
                conds.append(
                    NodeCondition(
                        type=type_,
                        status="Unknown",
                        reason="NodeStatusNeverUpdated",
                        message="Kubelet never posted node status.",
                        last_heartbeat_time=node.metadata.creation_timestamp,
                        last_transition_time=ts,
                    )
                )
                changed = True
            elif conds[i].status != "Unknown":
                if type_ == "Ready" and conds[i].status == "True":
                    was_ready = True
                conds[i] = NodeCondition(
                    type=type_,
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    last_heartbeat_time=conds[i].last_heartbeat_time,
                    last_transition_time=ts,
                )
                changed = True
        if not changed:
            return None
        new = copy_of(node)
        if new.status is None:
            new.status = NodeStatus()
        new.status.conditions = conds
        try:
            updated: Node = await self.client.update_status(new)
        except ApiError as e:
            if e.conflict or e.not_found:
                return None  # the kubelet (or a deletion) got there first: look again next pass
            raise
        log.info(
            "node stopped posting status", extra={"kv": {"node": node.metadata.name, "ready": "Unknown"}}
        )
        if self.recorder is not None:
            self.recorder.event(
                updated, NORMAL, "NodeNotReady", f"Node {node.metadata.name} status is now: NodeNotReady"
            )
        if was_ready:
            await self._mark_pods_not_ready(node.metadata.name or "")
        return updated

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        ts = now_rfc3339()
        for pod in self.pods.by_index("node", node_name):
            conds = (pod.status.conditions if pod.status else None) or []
            if not any(c.type == "Ready" and c.status == "True" for c in conds):
                continue
            patch = {
                "status": {
                    "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": ts}],
                }
            }
            try:
                await self.client.patch(
                    Pod,
                    pod.metadata.name or "",
                    patch,
                    pod.metadata.namespace,
                    patch_type="strategic",
                    subresource="status",
                )
            except ClientError as e:
                log.warning("cannot mark pod not ready: %s", e, extra={"kv": {"pod": _pod_key(pod)}})

    async def _sync_taints(self, node: Node) -> None:
        cond = condition(node, "Ready")
        ready = cond.status if cond else None
        want: set[tuple[str, str]] = set()
        if ready == "False":
            want |= {(TAINT_NOT_READY, NO_EXECUTE), (TAINT_NOT_READY, NO_SCHEDULE)}
        elif ready == "Unknown":
            want |= {(TAINT_UNREACHABLE, NO_EXECUTE), (TAINT_UNREACHABLE, NO_SCHEDULE)}
        if node.spec.unschedulable:
            want.add((TAINT_UNSCHEDULABLE, NO_SCHEDULE))
        owned_noexecute = [
            t for t in node.spec.taints or () if (t.key, t.effect) in OWNED and t.effect == NO_EXECUTE
        ]
        # In master disruption no NoExecute taint at all; otherwise a node newly tainted NoExecute needs
        # its zone's ration (a swap between not-ready and unreachable is not new).
        if self.master_disruption or (
            not owned_noexecute
            and any(p[1] == NO_EXECUTE for p in want)
            and not self._may_add_noexecute(node)
        ):
            want = {p for p in want if p[1] != NO_EXECUTE}
        taints = list(node.spec.taints or ())
        have = {(t.key, t.effect) for t in taints if (t.key, t.effect) in OWNED}
        if have == want:
            return
        ts = now_rfc3339()
        kept = [t for t in taints if (t.key, t.effect) not in OWNED or (t.key, t.effect) in want]
        for key, effect in sorted(want - have):
            kept.append(Taint(key=key, effect=effect, time_added=ts if effect == NO_EXECUTE else None))
        patch = {"spec": {"taints": msgspec.to_builtins(kept)}}
        await self.client.patch(Node, node.metadata.name or "", patch)
        log.info(
            "node taints",
            extra={
                "kv": {
                    "node": node.metadata.name,
                    "added": _names(want - have),
                    "removed": _names(have - want),
                }
            },
        )

    # -------------------------------------------------------------------------- evictions

    async def evict_pass(self) -> None:
        wall = datetime.now(UTC).timestamp()
        for name in list(self._noexecute):
            node = self.nodes.get(name)
            if node is None:
                self._noexecute.discard(name)
                self._tainted_since.pop(name, None)
                continue
            taints = [t for t in node.spec.taints or () if t.effect == NO_EXECUTE]
            if not taints:
                self._noexecute.discard(name)
                self._tainted_since.pop(name, None)
                continue
            since = self._tainted_since.setdefault(name, wall)
            added = min(_timestamp(t.time_added, since) for t in taints)
            for pod in self.pods.by_index("node", name):
                if pod.metadata.deletion_timestamp or (pod.metadata.uid or "") in self._evicted:
                    continue
                ok, used = matching_tolerations(pod.spec.tolerations, taints)
                if ok:
                    secs = min_toleration_seconds(used)
                    if secs is None or wall < added + secs:
                        continue
                await self._evict(pod)

    async def _evict(self, pod: Pod) -> None:
        uid = pod.metadata.uid or ""
        name, ns = pod.metadata.name or "", pod.metadata.namespace
        condition_patch = {
            "status": {
                "conditions": [
                    {
                        "type": "DisruptionTarget",
                        "status": "True",
                        "reason": "DeletionByTaintManager",
                        "message": "Taint manager: deleting due to NoExecute taint",
                        "lastTransitionTime": now_rfc3339(),
                    }
                ]
            }
        }
        try:
            await self.client.patch(
                Pod, name, condition_patch, ns, patch_type="strategic", subresource="status"
            )
        except ClientError as e:
            log.info("cannot add DisruptionTarget: %s", e, extra={"kv": {"pod": _pod_key(pod)}})
        try:
            await self.client.delete(Pod, name, ns, uid=uid or None)
        except ApiError as e:
            if not (e.not_found or e.conflict):
                raise
        self._evicted.add(uid)
        if len(self._evicted) > 100_000:
            self._evicted.clear()
        self.evictions += 1
        log.info("evicting pod", extra={"kv": {"pod": _pod_key(pod), "node": pod.spec.node_name}})
        if self.recorder is not None:
            self.recorder.event(
                pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {_pod_key(pod)}"
            )


def _pod_key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _names(pairs: set[tuple[str, str]]) -> str:
    return ",".join(f"{k}:{e}" for k, e in sorted(pairs)) or "-"


def _timestamp(s: str | None, default: float) -> float:
    """A taint's timeAdded as a Unix time; default when it has none (or an unreadable one)."""
    if not s:
        return default
    try:
        return parse_time(s).timestamp()
    except ValueError:
        return default
