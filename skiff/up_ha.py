"""`skiff up --ha`: a highly available control plane on one machine, on loopback ports.

The layout (the README's HA section spreads the same over machines):

- three etcd members, a real raft cluster, data in DIR/etcd/NAME (unless --store etcd://... names one);
- N API servers (--apiservers, default 2) on that etcd, sharing DIR (its dashboard secret, later its
  CA), each on its own port; they write DIR/kubeconfig naming the balancer (--external-address);
- HAProxy (Debian's) on --port as a TCP balancer, health-checking each API server's /readyz;
- two controller-managers and two schedulers, leader-elected, and the kubelets, all through HAProxy.

The ports are chosen on the first start and kept in DIR/ha.json: etcd members remember their peers'
URLs, so a restart on the same DIR must reuse them.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from skiff.ports import free_ports
from skiff.up import Cluster, Component, UpError, check_port_free

ETCD_MEMBERS = 3
ETCD_READY_TIMEOUT_S = 30.0
# Leases shorter than kube's 15 s / 10 s / 2 s so that a standby takes over within 15 s of a kill -9
# (the standby waits out the lease it last saw renewed, plus up to one jittered retry period).
LEASE_DURATION_S = 10
RENEW_DEADLINE_S = 7
RETRY_PERIOD_S = 2


@dataclass
class HALayout:
    """The ports and etcd cluster token of one HA data dir; written once, reused on every start."""

    etcd_client_ports: list[int]
    etcd_peer_ports: list[int]
    apiserver_ports: list[int]
    etcd_token: str

    @classmethod
    def load_or_create(cls, path: Path, apiservers: int, balancer_port: int) -> HALayout:
        if path.exists():
            try:
                layout = cls(**json.loads(path.read_text()))
            except (ValueError, TypeError) as exc:
                raise UpError(f"{path} is not a skiff HA layout ({exc}); remove it to start afresh") from None
            # More API servers than last time: the new ones get new ports; fewer: the first N.
            missing = apiservers - len(layout.apiserver_ports)
            if missing > 0:
                taken = {
                    balancer_port,
                    *layout.etcd_client_ports,
                    *layout.etcd_peer_ports,
                    *layout.apiserver_ports,
                }
                layout.apiserver_ports += free_ports(missing, taken)
        else:
            ports = free_ports(2 * ETCD_MEMBERS + apiservers, {balancer_port})
            layout = cls(
                etcd_client_ports=ports[:ETCD_MEMBERS],
                etcd_peer_ports=ports[ETCD_MEMBERS : 2 * ETCD_MEMBERS],
                apiserver_ports=ports[2 * ETCD_MEMBERS :],
                etcd_token=f"skiff-{secrets.token_hex(4)}",
            )
        path.write_text(json.dumps(asdict(layout), indent=2) + "\n")
        return layout


def etcd_argv(data_dir: Path, layout: HALayout, i: int) -> list[str]:
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    peers = ",".join(f"etcd-{j}=http://127.0.0.1:{p}" for j, p in enumerate(layout.etcd_peer_ports))
    client = f"http://127.0.0.1:{layout.etcd_client_ports[i]}"
    member_dir = data_dir / "etcd" / f"etcd-{i}"
    return [
        etcd,
        f"--name=etcd-{i}",
        f"--data-dir={member_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls=http://127.0.0.1:{layout.etcd_peer_ports[i]}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{layout.etcd_peer_ports[i]}",
        f"--initial-cluster={peers}",
        "--initial-cluster-state=" + ("existing" if (member_dir / "member").exists() else "new"),
        f"--initial-cluster-token={layout.etcd_token}",
        "--logger=zap",
        "--log-level=warn",
    ]


def haproxy_config(bind: str, port: int, backends: list[tuple[str, int]], tls: bool) -> str:
    """TCP balancing (TLS passes through untouched) with HTTP health checks on /readyz."""
    check_tls = " check-ssl verify none" if tls else ""
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} check{check_tls}" for name, p in backends)
    return f"""# Written by `skiff up --ha`; rewritten on every start.
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    # Watches are long-lived connections.
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    # A connection refused by a dead server is retried on another.
    retries 3
    option redispatch

frontend apiserver
    bind {bind}:{port}
    default_backend apiservers

backend apiservers
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    # Checked every second; down after 2 failures (connections to it cut), up after 2 successes.
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


def etcd_healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return bool(json.loads(r.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


class HACluster(Cluster):
    """Cluster with etcd members, several API servers, HAProxy and two of each leader-elected agent."""

    def start_control_plane(self) -> None:
        spec = self.spec
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(haproxy).exists():
            raise UpError("--ha needs haproxy (Debian: apt-get install haproxy)")
        layout = HALayout.load_or_create(spec.data_dir / "ha.json", spec.apiservers, spec.port)
        api_ports = layout.apiserver_ports[: spec.apiservers]
        for p in api_ports:
            check_port_free("127.0.0.1", p)

        store_url = spec.store_url
        if not store_url:
            self._start_etcd(layout)
            store_url = "etcd://" + ",".join(f"127.0.0.1:{p}" for p in layout.etcd_client_ports)

        # The first API server alone creates what the data dir shares (dashboard secret, CA); then the rest.
        external = f"{spec.bind}:{spec.port}"
        apis: list[tuple[Component, int]] = []
        for i, port in enumerate(api_ports, start=1):
            args = ["apiserver", "--data-dir", str(spec.data_dir), "--store", store_url]
            args += ["--port", str(port), "--bind", "127.0.0.1", "--external-address", external]
            comp = self._component(f"apiserver-{i}", *args)
            comp.start()
            apis.append((comp, port))
            if i == 1:
                self.wait_ready(comp, f"https://127.0.0.1:{port}/readyz", f"the API server {comp.name}")
        for comp, port in apis[1:]:
            self.wait_ready(comp, f"https://127.0.0.1:{port}/readyz", f"the API server {comp.name}")

        tls = self.kubeconfig.read_text().find("https://") >= 0
        cfg = spec.data_dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(spec.bind, spec.port, [(c.name, p) for c, p in apis], tls))
        balancer = self._process("haproxy", [haproxy, "-f", str(cfg), "-db"])
        balancer.start()
        scheme = "https" if tls else "http"
        self.wait_ready(balancer, f"{scheme}://{spec.bind}:{spec.port}/readyz", "HAProxy")
        self.metrics += [f"https://127.0.0.1:{p}/metrics ({c.name})" for c, p in apis]

    def _start_etcd(self, layout: HALayout) -> None:
        members = [self._process(f"etcd-{i}", etcd_argv(self.spec.data_dir, layout, i)) for i in range(3)]
        for i, m in enumerate(members):
            check_port_free("127.0.0.1", layout.etcd_client_ports[i])
            check_port_free("127.0.0.1", layout.etcd_peer_ports[i])
            m.start()
        deadline = time.monotonic() + ETCD_READY_TIMEOUT_S
        pending = list(range(len(members)))
        while pending:
            for i in pending:
                if not members[i].alive():
                    raise UpError(f"etcd-{i} exited: {members[i].last_log_line() or 'no output'}")
            pending = [i for i in pending if not etcd_healthy(layout.etcd_client_ports[i])]
            if pending and time.monotonic() > deadline:
                logs = self.spec.data_dir / "logs"
                raise UpError(f"etcd has no healthy quorum after {ETCD_READY_TIMEOUT_S:.0f} s; see {logs}")
            time.sleep(0.1)

    def start_agents(
        self, runtime: str, replicas: int = 2, extra: dict[str, list[str]] | None = None
    ) -> None:
        sched_cfg = self.spec.data_dir / "scheduler-config.yaml"
        sched_cfg.write_text(
            "apiVersion: kubescheduler.config.k8s.io/v1\n"
            "kind: KubeSchedulerConfiguration\n"
            "leaderElection:\n"
            "  leaderElect: true\n"
            f"  leaseDuration: {LEASE_DURATION_S}s\n"
            f"  renewDeadline: {RENEW_DEADLINE_S}s\n"
            f"  retryPeriod: {RETRY_PERIOD_S}s\n"
        )
        lease_flags = [
            f"--leader-elect-lease-duration={LEASE_DURATION_S}s",
            f"--leader-elect-renew-deadline={RENEW_DEADLINE_S}s",
            f"--leader-elect-retry-period={RETRY_PERIOD_S}s",
        ]
        super().start_agents(
            runtime, replicas, {"scheduler": ["--config", str(sched_cfg)], "controller-manager": lease_flags}
        )
