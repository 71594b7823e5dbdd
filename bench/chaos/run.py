"""One fault-injection run: start `skiff up --ha`, run the workload, kill -9 components in turn, check.

Each round kills, one after the other: the etcd raft leader, an API server (alternating), the leading
scheduler, the hollow kubelet process and the leading controller-manager; `skiff up` restarts each. After
every kill the run waits for the component to be back (and, for leaders, for a standby to take over) and
times it; a probe pod created at the kill tells how long until new work runs again.

At the end: every acknowledged pod exists with its uid, was bound to one node only and never unbound, and
is Running; nothing else exists; the register histories are linearizable (a lost acknowledged write
would make them not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bench.chaos.cluster import HAUp
from bench.chaos.linearizability import check
from bench.chaos.workload import NS, Heartbeat, PodCreator, PodRecorder, Registers
from skiff.api.core import Pod
from skiff.client.rest import Client, ClientError

FAULTS = ("etcd-leader", "apiserver", "scheduler-leader", "kubelet", "controller-manager-leader")


@dataclass
class Config:
    data_dir: Path
    rounds: int = 1  # each round kills every component of FAULTS once
    minutes: float = 0.0  # keep starting rounds until this long has passed (the long run of bench/)
    nodes: int = 3
    pod_rate: float = 1.0  # pods created per second
    registers: int = 3
    register_clients: int = 3
    settle_s: float = 2.0  # pause after a fault has healed, before the next
    timeout_s: float = 120.0  # for every wait on the cluster
    faults: tuple[str, ...] = FAULTS
    artifacts: Path | None = None  # where a register history that is not linearizable is written


@dataclass
class FaultResult:
    fault: str
    component: str
    round: int
    back_s: float  # until the killed component runs again (restarted by `skiff up`, ready)
    takeover_s: float | None  # leaders: until the lease names another holder
    write_gap_s: float  # the longest time without a successful write after the kill
    probe_pod_running_s: float  # a pod created at the kill: until it is Running


@dataclass
class Report:
    faults: list[FaultResult] = field(default_factory=list)
    pods_acknowledged: int = 0
    pods_lost: list[str] = field(default_factory=list)
    pods_unexpected: list[str] = field(default_factory=list)
    pods_not_running: list[str] = field(default_factory=list)
    double_bindings: list[str] = field(default_factory=list)
    lost_bindings: list[str] = field(default_factory=list)
    create_retries: int = 0
    watch_resumes: int = 0
    watch_relists: int = 0
    register_ops: int = 0
    register_unknown_ops: int = 0
    linearizable: dict[str, bool] = field(default_factory=dict)
    converge_s: float = 0.0  # from the last kill until every pod runs and every component is back
    duration_s: float = 0.0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def ok(self) -> bool:
        return not (
            self.pods_lost
            or self.pods_unexpected
            or self.pods_not_running
            or self.double_bindings
            or self.lost_bindings
            or not all(self.linearizable.values())
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


async def wait_until(what: str, timeout: float, check: Any, interval: float = 0.2) -> float:
    """Polls ``check`` (sync or async) until truthy; returns the monotonic time it became so."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return time.monotonic()
        except (ClientError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"chaos: timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


def phase(pod: Pod) -> str | None:
    return pod.status.phase if pod.status else None


async def lease_holder(client: Client, name: str) -> str:
    raw = await client.request("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}")
    return str((msgspec.json.decode(raw).get("spec") or {}).get("holderIdentity") or "")


class Run:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.up = HAUp(cfg.data_dir, cfg.nodes)
        self.report = Report()

    async def _pod_running(self, client: Client, name: str) -> bool:
        return phase(await client.get(Pod, name, NS)) == "Running"

    async def _component_back(self, component: str, old_pid: int) -> bool:
        if not self.up.alive(component) or self.up.pid(component) == old_pid:
            return False
        if component.startswith("etcd-"):
            return await asyncio.to_thread(self.up.etcd_healthy, component)
        if component.startswith("apiserver-"):
            return await asyncio.to_thread(self._apiserver_ready, component)
        return True

    def _apiserver_ready(self, component: str) -> bool:
        import json
        import ssl
        import urllib.request

        ports = json.loads((self.up.data_dir / "ha.json").read_text())["apiserver_ports"]
        port = ports[int(component.split("-")[1]) - 1]
        tls = ssl.create_default_context(cafile=str(self.up.data_dir / "pki" / "ca.crt"))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", timeout=1, context=tls) as r:
            return bool(r.status == 200)

    async def _target(self, fault: str, rnd: int, client: Client) -> tuple[str, str | None]:
        """The component to kill for a fault, and for leaders the lease it holds."""
        if fault == "etcd-leader":
            leader = await asyncio.to_thread(self.up.etcd_leader)
            return leader or "etcd-0", None
        if fault == "apiserver":
            return f"apiserver-{rnd % 2 + 1}", None
        if fault == "kubelet":
            return "kubelet-hollow", None
        prefix = fault.removesuffix("-leader")
        lease = "kube-scheduler" if prefix == "scheduler" else "kube-controller-manager"
        holder = await lease_holder(client, lease)
        component = self.up.holder_component(holder, prefix) if holder else None
        return component or f"{prefix}-1", lease

    async def inject(
        self, fault: str, rnd: int, client: Client, creator: PodCreator, beat: Heartbeat
    ) -> None:
        timeout = self.cfg.timeout_s
        component, lease = await self._target(fault, rnd, client)
        holder = await lease_holder(client, lease) if lease else ""
        old_pid = self.up.kill(component)
        killed_at = time.monotonic()
        probe = f"probe-{rnd}-{fault}"

        async def takeover() -> float | None:
            if not lease:
                return None
            return await wait_until(
                f"a new {lease} leader", timeout, lambda: self._new_holder(client, lease, holder), 0.1
            )

        async def probe_running() -> float:
            await creator.create(probe)
            return await wait_until(f"pod {probe} Running", timeout, lambda: self._pod_running(client, probe))

        # Measured side by side: each clock runs from the kill.
        takeover_at, back, running = await asyncio.gather(
            takeover(),
            wait_until(f"{component} back", timeout, lambda: self._component_back(component, old_pid)),
            probe_running(),
        )
        takeover_s = takeover_at - killed_at if takeover_at is not None else None
        result = FaultResult(
            fault=fault,
            component=component,
            round=rnd,
            back_s=round(back - killed_at, 2),
            takeover_s=round(takeover_s, 2) if takeover_s is not None else None,
            write_gap_s=round(beat.longest_gap(killed_at, time.monotonic()), 2),
            probe_pod_running_s=round(running - killed_at, 2),
        )
        self.report.faults.append(result)
        print(f"chaos: {msgspec.json.encode(asdict(result)).decode()}", flush=True)

    async def _new_holder(self, client: Client, lease: str, old: str) -> bool:
        now = await lease_holder(client, lease)
        return bool(now) and now != old

    async def _all_running(self, client: Client, names: set[str]) -> bool:
        pods = (await client.list(Pod, NS)).items
        running = {p.metadata.name for p in pods if phase(p) == "Running"}
        return names <= running

    async def main(self) -> Report:
        cfg = self.cfg
        started = time.monotonic()
        await asyncio.to_thread(self.up.start)
        # No client-side retries: a history must show exactly what each request did.
        client = Client.from_kubeconfig(str(self.up.kubeconfig), timeout=10.0, max_retries=0)
        tasks: list[asyncio.Task[None]] = []
        try:
            await wait_until("nodes", cfg.timeout_s, lambda: self._nodes_ready(client))
            recorder = PodRecorder(client)
            creator = PodCreator(client)
            registers = Registers(client, [f"reg-{i}" for i in range(cfg.registers)])
            beat = Heartbeat(client)
            await registers.setup()
            stop = asyncio.Event()
            tasks.append(asyncio.create_task(recorder.run()))
            tasks.append(asyncio.create_task(beat.run()))
            workers = [asyncio.create_task(creator.run(cfg.pod_rate, stop))]
            workers += [
                asyncio.create_task(registers.client_loop(i, stop, seed=i))
                for i in range(cfg.register_clients)
            ]
            await asyncio.sleep(cfg.settle_s)
            last_kill = time.monotonic()
            rnd = 0
            while rnd < cfg.rounds or time.monotonic() - started < cfg.minutes * 60:
                for fault in cfg.faults:
                    last_kill = time.monotonic()
                    await self.inject(fault, rnd, client, creator, beat)
                    await asyncio.sleep(cfg.settle_s)
                rnd += 1
            stop.set()
            await asyncio.gather(*workers)
            await asyncio.gather(*(registers.final_reads(i) for i in range(cfg.register_clients)))
            converged = await wait_until(
                "every pod Running", cfg.timeout_s, lambda: self._all_running(client, set(creator.acked))
            )
            await wait_until("every component back", cfg.timeout_s, self._all_alive)
            # The recorder catches up with the final state before the binding history is judged.
            await wait_until(
                "the recorder caught up", cfg.timeout_s, lambda: self._recorded_running(recorder, creator)
            )
            self.report.converge_s = round(max(converged, time.monotonic()) - last_kill, 2)
            await self._judge(client, creator, recorder, registers)
        finally:
            tasks += workers if "workers" in locals() else []
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, ClientError):
                    await t
            await client.aclose()
            await asyncio.to_thread(self.up.stop)
        self.report.duration_s = round(time.monotonic() - started, 1)
        self.report.load_average = os.getloadavg()
        return self.report

    def _all_alive(self) -> bool:
        return all(self.up.alive(c) for c in self.up.components())

    def _recorded_running(self, recorder: PodRecorder, creator: PodCreator) -> bool:
        running = {s.uid for s in recorder.seen if s.phase == "Running"}
        return set(creator.acked.values()) <= running

    async def _nodes_ready(self, client: Client) -> bool:
        raw = await client.request("GET", "/api/v1/nodes")
        nodes = msgspec.json.decode(raw)["items"]
        ready = [
            n
            for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        ]
        return len(ready) >= self.cfg.nodes

    async def _judge(
        self, client: Client, creator: PodCreator, recorder: PodRecorder, regs: Registers
    ) -> None:
        r = self.report
        pods = {p.metadata.name or "": p for p in (await client.list(Pod, NS)).items}
        r.pods_acknowledged = len(creator.acked)
        r.pods_lost = sorted(
            n for n, uid in creator.acked.items() if n not in pods or pods[n].metadata.uid != uid
        )
        r.pods_unexpected = sorted(n for n in pods if n not in creator.attempted)
        r.pods_not_running = sorted(n for n in creator.acked if n in pods and phase(pods[n]) != "Running")
        bindings = recorder.bindings()
        names = {uid: n for n, uid in creator.acked.items()}
        r.double_bindings = sorted(names.get(u, u) for u, nodes in bindings.items() if len(nodes) > 1)
        r.lost_bindings = sorted(names.get(u, u) for u in recorder.unbound_after_bound())
        # The final state agrees with the history: the node a pod runs on is the one it was bound to.
        for n, p in pods.items():
            seen = bindings.get(p.metadata.uid or "", [])
            if seen and seen[-1] != p.spec.node_name and n not in r.double_bindings:
                r.lost_bindings.append(n)
        r.create_retries = creator.retries
        r.watch_resumes, r.watch_relists = recorder.resumes, recorder.relists
        for key, ops in regs.history.items():
            r.register_ops += len(ops)
            r.register_unknown_ops += sum(1 for o in ops if not o.ok)
            verdict = await asyncio.to_thread(check, ops, regs.initial)
            r.linearizable[key] = verdict.linearizable
            if not verdict.linearizable and self.cfg.artifacts is not None:
                self.cfg.artifacts.mkdir(parents=True, exist_ok=True)
                path = self.cfg.artifacts / f"history-{key}-{int(time.time())}.json"
                path.write_text(
                    json.dumps({"detail": verdict.detail, "ops": [asdict(o) for o in ops]}, default=str)
                )
                print(f"chaos: {key} is not linearizable ({verdict.detail}); history in {path}", flush=True)


def run(cfg: Config) -> Report:
    return asyncio.run(Run(cfg).main())
