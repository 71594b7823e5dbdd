"""`skiff up`: the whole cluster in the foreground, one process per component.

The components are the same commands a user can run on separate machines (`skiff apiserver`,
`skiff scheduler`, `skiff kubelet`, `skiff controller-manager`); `up` only starts them, waits for the API
server, supervises them (a component that dies is restarted with back-off) and stops them on Ctrl-C or
SIGTERM. Pods keep running in Docker when `up` stops; on the next `up` the kubelets adopt them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from skiff.apiserver.auth import certs, kubeconfigs
from skiff.kubelet.node import host_address
from skiff.ports import free_port

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
BACKOFF_RESET_S = 60.0


class UpError(Exception):
    """A problem the user can fix; printed as one line."""


@dataclass
class Component:
    name: str
    argv: list[str]
    log_path: Path
    run_dir: Path | None = None  # DIR/run/NAME.pid names the live process (for users and fault injection)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_restart: float = 0.0
    started_at: float = 0.0
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        if self.log_file:
            self.log_file.close()
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        # A new session so that Ctrl-C in the terminal reaches only `up`, which stops the children in order.
        self.process = subprocess.Popen(
            self.argv, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started_at = time.monotonic()
        if self.run_dir is not None:
            self.run_dir.mkdir(exist_ok=True)
            (self.run_dir / f"{self.name}.pid").write_text(f"{self.process.pid}\n")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


def docker_answers() -> tuple[bool, str]:
    """Whether a Docker daemon answers, and why not when it does not."""
    if shutil.which("docker") is None and not Path("/var/run/docker.sock").exists():
        return False, "no docker command and no /var/run/docker.sock"
    try:
        import docker  # the SDK; imported here because only this check needs it

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True, "a Docker daemon answers at /var/run/docker.sock"
    except Exception as exc:  # any failure means "no usable daemon"
        return False, f"no Docker daemon answers ({type(exc).__name__})"


def choose_runtime(requested: str) -> tuple[str, str]:
    if requested != "auto":
        if requested == "docker":
            ok, why = docker_answers()
            if not ok:
                raise UpError(f"--runtime docker was asked for, but {why}")
        return requested, f"--runtime {requested} was asked for"
    ok, why = docker_answers()
    if ok:
        return "docker", why
    return "process", f"{why}; the process runtime isolates nothing"


def check_port_free(bind: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UpError(f"port {port} on {bind} is already in use") from None
            raise UpError(f"cannot listen on {bind}:{port}: {exc.strerror}") from None


def prepare_data_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / "logs").mkdir(exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UpError(f"data dir {path} is not writable: {exc.strerror}") from None
    return path.resolve()


@dataclass
class ClusterSpec:
    data_dir: Path
    port: int
    nodes: int
    runtime: str
    store_url: str  # with ha: "" = start our own etcd members
    bind: str = "127.0.0.1"
    ha: bool = False
    apiservers: int = 1


class Cluster:
    """Starts and supervises the components of one cluster."""

    def __init__(self, spec: ClusterSpec, say: Callable[[str], None] = print) -> None:
        self.spec = spec
        self.say = say
        self.components: list[Component] = []
        self.metrics: list[str] = []  # "URL (component)", printed once all are started
        self.stopping = threading.Event()

    @property
    def kubeconfig(self) -> Path:
        return self.spec.data_dir / "kubeconfig"

    def _component(self, name: str, *args: str) -> Component:
        return self._process(name, [sys.executable, "-m", "skiff", *args])

    def _process(self, name: str, argv: list[str]) -> Component:
        comp = Component(name, argv, self.spec.data_dir / "logs" / f"{name}.log", self.spec.data_dir / "run")
        self.components.append(comp)
        return comp

    def start(self) -> None:
        spec = self.spec
        check_port_free(spec.bind, spec.port)
        runtime, why = choose_runtime(spec.runtime)
        self.say(f"runtime: {runtime} ({why})")

        # The API server writes the admin kubeconfig once it answers; a stale one must not fool us.
        with contextlib.suppress(FileNotFoundError):
            self.kubeconfig.unlink()
        self.start_control_plane()
        self.start_agents(runtime)
        self.say("started: " + ", ".join(c.name for c in self.components))
        self.say(f"logs: {self.spec.data_dir / 'logs'}")
        self.say("metrics: " + ", ".join(self.metrics) + ", kubelets on their node ports (https)")
        self.say(f"export KUBECONFIG={self.kubeconfig}")
        self.say(f"dashboard: {self._write_dashboard_url()}")

    def start_control_plane(self) -> None:
        """The API server on the store, up and answering; it writes the admin kubeconfig."""
        spec = self.spec
        api = self._component(
            "apiserver",
            "apiserver",
            "--data-dir",
            str(spec.data_dir),
            "--store",
            spec.store_url,
            "--port",
            str(spec.port),
            "--bind",
            spec.bind,
        )
        api.start()
        self.wait_ready(api, f"{self.url}/readyz")
        self.metrics.append(f"{self.url}/metrics (apiserver, as an authenticated user)")

    def start_agents(
        self, runtime: str, replicas: int = 1, extra: dict[str, list[str]] | None = None
    ) -> None:
        """Controller-managers, schedulers (``replicas`` of each, leader-elected) and the kubelets.

        ``extra`` adds arguments per command ("scheduler", "controller-manager").
        """
        extra = extra or {}
        cm_kubeconfig = self._identity("controller-manager", "system:kube-controller-manager")
        for i in range(1, replicas + 1):
            suffix = f"-{i}" if replicas > 1 else ""
            cm_args = [
                "controller-manager",
                "--kubeconfig",
                cm_kubeconfig,
                *extra.get("controller-manager", []),
            ]
            self._component(f"controller-manager{suffix}", *cm_args).start()
        scheduler_kubeconfig = self._identity("scheduler", "system:kube-scheduler")
        # /metrics over HTTPS that clients verify with the cluster CA (the schedulers serve on loopback).
        scheduler_pem = certs.component_serving_pem(self.spec.data_dir, "scheduler", "kube-scheduler", [], [])
        for i in range(1, replicas + 1):
            suffix = f"-{i}" if replicas > 1 else ""
            port = free_port()
            args = ["scheduler", "--kubeconfig", scheduler_kubeconfig, "--metrics-port", str(port)]
            args += ["--tls-cert-file", str(scheduler_pem)]
            self._component(f"scheduler{suffix}", *args, *extra.get("scheduler", [])).start()
            self.metrics.append(f"https://127.0.0.1:{port}/metrics (scheduler{suffix})")
        for node in self._node_names(runtime):
            if runtime == "hollow":
                # One process hosts every hollow node, so no single node identity fits it: its rights
                # come from the bootstrap role skiff:hollow-node, bound to its group.
                node_kubeconfig = self._identity("kubelet-hollow", certs.HOLLOW_USER, certs.HOLLOW_NODES)
            else:
                node_kubeconfig = self._identity(f"kubelet-{node}", f"system:node:{node}", "system:nodes")
            args = ["kubelet", "--kubeconfig", node_kubeconfig, "--node-name", node]
            args += ["--runtime", runtime, "--port", str(free_port())]
            if runtime != "hollow":  # hollow nodes serve nothing
                args += self._kubelet_tls(node)
            if runtime == "hollow":
                args += ["--count", str(self.spec.nodes)]
            args += ["--manifests", str(self.spec.data_dir / "manifests" / node)]
            # The process runtime keeps its records per cluster, never in a directory another cluster shares.
            args += ["--root-dir", str(self.spec.data_dir / "process-runtime")]
            (self.spec.data_dir / "manifests" / node).mkdir(parents=True, exist_ok=True)
            self._component(f"kubelet-{node}", *args).start()

    @property
    def url(self) -> str:
        """Where clients reach the API (the balancer with --ha)."""
        host = "127.0.0.1" if self.spec.bind in ("0.0.0.0", "", "::") else self.spec.bind
        return f"https://{host}:{self.spec.port}"

    def _kubelet_tls(self, node: str) -> list[str]:
        """The node's address and a serving certificate for it from the cluster CA (the API server
        verifies whom it reaches for logs and exec)."""
        address = host_address()
        pem = certs.kubelet_serving_pem(self.spec.data_dir, node, [address])
        return ["--address", address, "--tls-cert-file", str(pem)]

    def _identity(self, name: str, user: str, *groups: str) -> str:
        """DATA_DIR/NAME.kubeconfig: a client certificate for ``user`` in ``groups`` from the cluster CA."""
        path = self.spec.data_dir / f"{name}.kubeconfig"
        return kubeconfigs.write(path, kubeconfigs.for_user(self.spec.data_dir, self.url, user, groups, name))

    def _write_dashboard_url(self) -> str:
        """DIR/dashboard-url: the /ui login URL with the one-time token the API server wrote."""
        token = (self.spec.data_dir / "dashboard-token").read_text().strip()
        url = f"{self.url}/ui/login?token={token}"
        path = self.spec.data_dir / "dashboard-url"
        path.write_text(url + "\n")
        path.chmod(0o600)
        return url

    def _node_names(self, runtime: str) -> list[str]:
        if runtime == "hollow":
            return ["hollow"]  # one process hosts hollow-0 .. hollow-N-1
        return [f"node-{i}" for i in range(1, self.spec.nodes + 1)]

    def wait_ready(self, comp: Component, url: str, what: str = "the API server") -> None:
        """Waits until ``url`` answers 200 and the admin kubeconfig exists; UpError if ``comp`` exits."""
        timeout = READY_TIMEOUT_S
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not comp.alive():
                line = comp.last_log_line() or "no output"
                raise UpError(f"{what} exited: {line}")
            if self.kubeconfig.exists():
                with contextlib.suppress(httpx.HTTPError, ssl.SSLError, OSError):
                    # https: the server must prove itself with the cluster CA the API server created.
                    verify = ssl.create_default_context(cafile=str(self.spec.data_dir / "pki" / "ca.crt"))
                    if httpx.get(url, timeout=1.0, verify=verify).status_code == 200:
                        return
            time.sleep(0.05)
        raise UpError(f"{what} did not answer within {timeout:.0f} s; see {comp.log_path}")

    def supervise(self) -> None:
        """Restarts components that die, with back-off, until stop() is called."""
        while not self.stopping.wait(0.5):
            now = time.monotonic()
            for comp in self.components:
                if comp.alive() or self.stopping.is_set():
                    continue
                if comp.next_restart == 0.0:
                    if now - comp.started_at > BACKOFF_RESET_S:
                        comp.restarts = 0  # a crash after a long healthy run starts the back-off afresh
                    delay = min(30.0, 2.0 ** min(comp.restarts, 5))
                    comp.next_restart = now + delay
                    code = comp.process.returncode if comp.process else None
                    self.say(f"{comp.name} exited (code {code}); restarting in {delay:.0f} s")
                elif now >= comp.next_restart:
                    comp.restarts += 1
                    comp.next_restart = 0.0
                    comp.start()

    def stop(self) -> None:
        """Stops the components in reverse order of start: kubelets first, the API server last."""
        self.stopping.set()
        for comp in reversed(self.components):
            comp.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for comp in reversed(self.components):
            if comp.process is None:
                continue
            try:
                comp.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                comp.signal(signal.SIGKILL)
                comp.process.wait()
            if comp.log_file:
                comp.log_file.close()


def run_up(spec: ClusterSpec) -> int:
    """The foreground command: start, supervise until Ctrl-C/SIGTERM, stop. Returns the exit code."""
    if spec.ha:
        from skiff.up_ha import HACluster

        cluster: Cluster = HACluster(spec)
    else:
        cluster = Cluster(spec)

    def on_signal(signum: int, frame: object) -> None:
        cluster.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cluster.start()
        cluster.supervise()
    except UpError as exc:
        print(f"skiff up: {exc}", file=sys.stderr)
        cluster.stop()
        return 1
    print("stopping ...")
    cluster.stop()
    print("stopped")
    return 0


def resolve_spec(
    data_dir: str,
    port: int,
    nodes: int,
    runtime: str,
    store_url: str | None,
    ha: bool = False,
    apiservers: int | None = None,
) -> ClusterSpec:
    if nodes < 1:
        raise UpError("--nodes must be at least 1")
    if not (0 < port < 65536):
        raise UpError(f"--port {port} is not a TCP port")
    if apiservers is not None and not ha:
        raise UpError("--apiservers needs --ha")
    if ha:
        apiservers = 2 if apiservers is None else apiservers
        if apiservers < 1:
            raise UpError("--apiservers must be at least 1")
        if store_url is not None and not store_url.startswith("etcd://"):
            raise UpError("--ha shares the store between API servers: give --store etcd://... or none")
    path = prepare_data_dir(Path(os.path.expanduser(data_dir)))
    return ClusterSpec(
        data_dir=path,
        port=port,
        nodes=nodes,
        runtime=runtime,
        store_url=store_url or ("" if ha else "sqlite"),
        ha=ha,
        apiservers=apiservers or 1,
    )
