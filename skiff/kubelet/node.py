"""The kubelet's Node: registration, status (capacity, conditions, images, usage) and the Lease heartbeat.

- Registers the Node (or takes over an existing one of the same name): capacity and allocatable from the
  machine or --capacity; labels kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch;
  addresses InternalIP and Hostname; nodeInfo with its ten fields; daemonEndpoints.kubeletEndpoint.Port
  (where server.py serves logs and exec); status.images (largest first, at most 50) for image locality.
- Renews the Lease kube-node-lease/NODE every `lease_period` (10 s): the heartbeat the node lifecycle
  controller watches.
- Every `status_period` (10 s) recomputes the conditions Ready, MemoryPressure, DiskPressure, PIDPressure
  from the machine and PATCHes node status when something changed (at least every 5 minutes).
- Measured usage goes into the annotation `skiff.io/usage` ({"cpu": "1250m", "memory": "<bytes>",
  "time": RFC 3339}), where the scheduler's LoadAware plugin reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from typing import Any

import msgspec

from skiff.api import core
from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.meta import ObjectMeta, OwnerReference, now_micro, now_rfc3339
from skiff.api.quantity import parse as parse_quantity
from skiff.client import ApiError, Client, ClientError
from skiff.runtime.base import MachineInfo, Runtime

log = logging.getLogger("skiff.kubelet.node")

KUBELET_VERSION = "v1.32.0"
USAGE_ANNOTATION = "skiff.io/usage"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
MAX_IMAGES = 50
# Unchanged node status is still reported this often (Kubernetes' nodeStatusReportFrequency); the Lease
# is the heartbeat.
STATUS_REPORT_PERIOD = 300.0
# Eviction-style thresholds for the pressure conditions.
MEMORY_PRESSURE_BYTES = 100 * 1024 * 1024
DISK_PRESSURE_FRACTION = 0.10
PID_PRESSURE_FRACTION = 0.05


def parse_capacity(text: str) -> dict[str, str]:
    """`cpu=4,memory=8Gi,pods=110` -> {"cpu": "4", ...}; raises ValueError with a readable message."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"--capacity: expected name=quantity, got {part!r}")
        try:
            parse_quantity(value)
        except ValueError as exc:
            raise ValueError(f"--capacity: {name}={value}: {exc}") from None
        out[name.strip()] = value.strip()
    return out


def host_address() -> str:
    """The address other machines reach this one at: the source address of the default route."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        addr = str(s.getsockname()[0])
        if not addr.startswith("0."):
            return addr
    return "127.0.0.1"


def capacity_of(info: MachineInfo, override: dict[str, str] | None) -> dict[str, str]:
    cap = {
        "cpu": f"{info.cpu_millis // 1000}" if info.cpu_millis % 1000 == 0 else f"{info.cpu_millis}m",
        "memory": f"{info.memory_bytes // 1024}Ki",
        "pods": str(info.pods),
    }
    if info.ephemeral_storage_bytes:
        cap["ephemeral-storage"] = f"{info.ephemeral_storage_bytes // 1024}Ki"
    cap.update(override or {})
    return cap


def _cond(
    type_: str, bad: bool, ok_reason: str, ok_msg: str, bad_reason: str, bad_msg: str
) -> core.NodeCondition:
    return core.NodeCondition(
        type=type_,
        status="True" if bad else "False",
        reason=bad_reason if bad else ok_reason,
        message=bad_msg if bad else ok_msg,
    )


def node_conditions(info: MachineInfo, ready: bool = True) -> list[core.NodeCondition]:
    mem = info.memory_available_bytes and info.memory_available_bytes < MEMORY_PRESSURE_BYTES
    conds = [
        _cond(
            "MemoryPressure",
            bool(mem),
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        _cond(
            "DiskPressure",
            info.disk_available_fraction < DISK_PRESSURE_FRACTION,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        ),
        _cond(
            "PIDPressure",
            info.pids_available_fraction < PID_PRESSURE_FRACTION,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
    ]
    conds.append(
        core.NodeCondition(
            type="Ready",
            status="True" if ready else "False",
            reason="KubeletReady" if ready else "KubeletNotReady",
            message="kubelet is posting ready status" if ready else "container runtime is down",
        )
    )
    return conds


class NodeAgent:
    def __init__(
        self,
        client: Client,
        runtime: Runtime,
        name: str,
        *,
        address: str,
        port: int,
        capacity: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        lease_period: float = 10.0,
        status_period: float = 10.0,
        report_usage: bool = True,
        gate: asyncio.Semaphore | None = None,
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.name = name
        self.address = address
        self.port = port
        self.capacity_override = capacity
        self.extra_labels = labels or {}
        self.lease_period = lease_period
        self.status_period = status_period
        self.report_usage = report_usage
        # Many nodes sharing one client (hollow) queue here, not in the HTTP pool (whose queue is slow).
        self.gate = gate or asyncio.Semaphore(4)
        self.uid = ""
        self.lease: Lease | None = None
        self._sent: dict[str, Any] | None = None
        self._sent_at = 0.0
        self._transitions: dict[str, tuple[str, str]] = {}  # type -> (status, lastTransitionTime)
        self._task: asyncio.Task[None] | None = None
        self.ready = True

    # ------------------------------------------------------------------ building the status

    async def _status(self) -> tuple[dict[str, Any], MachineInfo]:
        info = await self.runtime.machine()
        images = sorted(await self.runtime.list_images(), key=lambda i: -i.size_bytes)[:MAX_IMAGES]
        cap = capacity_of(info, self.capacity_override)
        now = now_rfc3339()
        conds = []
        for c in node_conditions(info, self.ready):
            old = self._transitions.get(c.type)
            since = old[1] if old and old[0] == c.status else now
            self._transitions[c.type] = (c.status, since)
            c.last_heartbeat_time = now
            c.last_transition_time = since
            conds.append(c)
        status = core.NodeStatus(
            capacity=cap,
            allocatable=dict(cap),
            phase=None,
            conditions=conds,
            addresses=[
                core.NodeAddress(type="InternalIP", address=self.address),
                core.NodeAddress(type="Hostname", address=self.name),
            ],
            daemon_endpoints=core.NodeDaemonEndpoints(kubelet_endpoint=core.DaemonEndpoint(port=self.port)),
            node_info=core.NodeSystemInfo(
                machine_id=info.machine_id,
                system_uuid=info.system_uuid,
                boot_id=info.boot_id,
                kernel_version=info.kernel_version,
                os_image=info.os_image,
                container_runtime_version=info.runtime_version,
                kubelet_version=KUBELET_VERSION,
                kube_proxy_version="",
                operating_system=info.os,
                architecture=info.arch,
            ),
            images=[core.ContainerImage(names=i.names, size_bytes=i.size_bytes) for i in images],
        )
        out = msgspec.to_builtins(status)
        assert isinstance(out, dict)
        return out, info

    def _usage(self, info: MachineInfo) -> str:
        return json.dumps(
            {
                "cpu": f"{info.cpu_usage_millis}m",
                "memory": str(info.memory_usage_bytes),
                "time": now_rfc3339(),
            }
        )

    # ------------------------------------------------------------------ registration

    async def register(self) -> None:
        status, info = await self._status()
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": info.os,
            "kubernetes.io/arch": info.arch,
            **self.extra_labels,
        }
        annotations = {USAGE_ANNOTATION: self._usage(info)}
        node = core.Node(
            metadata=ObjectMeta(name=self.name, labels=labels, annotations=annotations),
            status=msgspec.convert(status, core.NodeStatus),
        )
        try:
            created = await self.client.create(node)
            self.uid = created.metadata.uid or ""
            if created.status is None or not created.status.conditions:
                # A server that drops status on create gets it through the status subresource.
                await self._patch_status(status)
        except ApiError as exc:
            if not exc.already_exists:
                raise
            # A node of this name exists (a restart): take it over, keep its other labels and taints.
            await self.client.patch(
                core.Node, self.name, {"metadata": {"labels": labels, "annotations": annotations}}
            )
            patched = await self._patch_status(status)
            self.uid = patched.metadata.uid or ""
        self._sent, self._sent_at = status, time.monotonic()
        await self.renew_lease()

    # ------------------------------------------------------------------ heartbeats

    async def renew_lease(self) -> None:
        now = now_micro()
        if self.lease is None:
            lease = Lease(
                metadata=ObjectMeta(
                    name=self.name,
                    namespace=LEASE_NAMESPACE,
                    owner_references=[
                        OwnerReference(api_version="v1", kind="Node", name=self.name, uid=self.uid)
                    ]
                    if self.uid
                    else None,
                ),
                spec=LeaseSpec(
                    holder_identity=self.name, lease_duration_seconds=LEASE_DURATION, renew_time=now
                ),
            )
            try:
                self.lease = await self.client.create(lease)
                return
            except ApiError as exc:
                if exc.not_found:
                    await self._ensure_namespace()
                    self.lease = await self.client.create(lease)
                    return
                if not exc.already_exists:
                    raise
                self.lease = await self.client.get(Lease, self.name, LEASE_NAMESPACE)
        assert self.lease is not None
        self.lease.spec.holder_identity = self.name
        self.lease.spec.lease_duration_seconds = LEASE_DURATION
        self.lease.spec.renew_time = now
        try:
            self.lease = await self.client.update(self.lease)
        except ApiError as exc:
            if exc.conflict or exc.not_found:
                self.lease = None  # someone changed or removed it: start from what is there
            raise

    async def _ensure_namespace(self) -> None:
        with contextlib.suppress(ApiError):
            await self.client.create(core.Namespace(metadata=ObjectMeta(name=LEASE_NAMESPACE)))

    async def update_status(self, force: bool = False) -> None:
        status, info = await self._status()
        patched: core.Node | None = None
        if self.report_usage:
            patched = await self.client.patch(
                core.Node, self.name, {"metadata": {"annotations": {USAGE_ANNOTATION: self._usage(info)}}}
            )
        fresh = self._sent is not None and time.monotonic() - self._sent_at < STATUS_REPORT_PERIOD
        unchanged = fresh and _without_heartbeats(status) == _without_heartbeats(self._sent or {})
        if not force and unchanged and await self._server_agrees(status, patched):
            return
        await self._patch_status(status)
        self._sent, self._sent_at = status, time.monotonic()

    async def _patch_status(self, status: dict[str, Any]) -> core.Node:
        """Sends the status as a strategic merge patch: conditions and addresses merge by type, so a
        condition another component added (NetworkUnavailable, a node problem detector's) stays, as
        with Kubernetes' kubelet. A JSON merge patch would replace those lists whole."""
        return await self.client.patch(
            core.Node, self.name, {"status": status}, subresource="status", patch_type="strategic"
        )

    async def _server_agrees(self, status: dict[str, Any], patched: core.Node | None) -> bool:
        """Whether the server still shows the conditions last sent. The node lifecycle controller sets
        them Unknown when it thinks this kubelet gone (it was paused, cut off, or the API server was
        down): like Kubernetes' kubelet, which compares with the server's node, report again at once
        instead of leaving the node tainted unreachable until the 5-minute report."""
        if patched is not None:
            conds = [
                msgspec.to_builtins(c) for c in (patched.status.conditions if patched.status else None) or ()
            ]
        else:
            # resourceVersion=0: from the API server's watch cache, no store read per node.
            raw = await self.client.get_raw(f"/api/v1/nodes/{self.name}", {"resourceVersion": "0"})
            conds = (raw.get("status") or {}).get("conditions") or []
        on_server = {c.get("type"): c.get("status") for c in conds}
        return all(on_server.get(c["type"]) == c["status"] for c in status.get("conditions", []))

    # ------------------------------------------------------------------ loops

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"node-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        next_lease = time.monotonic() + self.lease_period
        next_status = time.monotonic() + self.status_period
        while True:
            await asyncio.sleep(max(0.0, min(next_lease, next_status) - time.monotonic()))
            now = time.monotonic()
            if now >= next_lease:
                next_lease = now + self.lease_period
                try:
                    async with self.gate:
                        await self.renew_lease()
                except (ClientError, OSError) as exc:
                    log.warning("lease renewal failed: %s", exc, extra={"kv": {"node": self.name}})
                    next_lease = now + min(self.lease_period, 2.0)
            if now >= next_status:
                next_status = now + self.status_period
                try:
                    async with self.gate:
                        await self.update_status()
                except (ClientError, OSError) as exc:
                    log.warning("node status update failed: %s", exc, extra={"kv": {"node": self.name}})


def _without_heartbeats(status: dict[str, Any]) -> Any:
    conds = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in status.get("conditions", [])]
    return {**status, "conditions": conds}
