"""The cluster under test: `skiff up --ha --runtime hollow` in a subprocess; finding and killing its parts.

Components are found through the pid files `skiff up` writes (DIR/run/NAME.pid), never by process name,
so that only this cluster's processes are ever signalled. `skiff up` restarts what dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from skiff.ports import free_port


class HAUp:
    def __init__(self, data_dir: Path, nodes: int, apiservers: int = 2) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.nodes = nodes
        self.args = [
            sys.executable, "-m", "skiff", "up", "--ha", "--runtime", "hollow", "--nodes", str(nodes),
            "--apiservers", str(apiservers), "--data-dir", str(data_dir), "--port", str(self.port),
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.output_path = data_dir.parent / f"{data_dir.name}-up.out"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def start(self, timeout: float = 120.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.unlink(missing_ok=True)
        with open(self.output_path, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (self.kubeconfig.exists() and "dashboard:" in self.output()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"skiff up --ha exited:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"skiff up --ha not started within {timeout} s:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def pid(self, component: str) -> int:
        return int((self.data_dir / "run" / f"{component}.pid").read_text())

    def alive(self, component: str) -> bool:
        try:
            os.kill(self.pid(component), 0)
        except (OSError, ValueError):
            return False
        # A pid is reused only after its process is reaped; `up` reaps and restarts, rewriting the file.
        return True

    def kill(self, component: str) -> int:
        """SIGKILL one component; returns the pid killed."""
        pid = self.pid(component)
        os.kill(pid, signal.SIGKILL)
        return pid

    def components(self) -> list[str]:
        return sorted(p.stem for p in (self.data_dir / "run").glob("*.pid"))

    def etcd_client_ports(self) -> list[int]:
        return list(json.loads((self.data_dir / "ha.json").read_text())["etcd_client_ports"])

    def etcd_leader(self) -> str | None:
        """The component name (etcd-I) of the raft leader, asked through etcd's JSON gateway."""
        ids: dict[str, int] = {}
        leader = None
        for i, port in enumerate(self.etcd_client_ports()):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v3/maintenance/status", b"{}", method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=1) as r:
                    status = json.loads(r.read())
            except (OSError, ValueError):
                continue
            ids[status["header"]["member_id"]] = i
            leader = status.get("leader") or leader
        return f"etcd-{ids[leader]}" if leader in ids else None

    def etcd_healthy(self, component: str) -> bool:
        port = self.etcd_client_ports()[int(component.split("-")[1])]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return bool(json.loads(r.read()).get("health") == "true")
        except (OSError, ValueError):
            return False

    def holder_component(self, identity: str, prefix: str) -> str | None:
        """Which scheduler-N / controller-manager-N holds a lease: its log says it became leader as ID."""
        for log in sorted((self.data_dir / "logs").glob(f"{prefix}-*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if "became leader" in line and identity in line:
                    return log.stem
        return None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Anything left (a child of a killed `up`) has this data dir, unique to us, on its command line.
        subprocess.run(["pkill", "-9", "-f", str(self.data_dir)], check=False)
