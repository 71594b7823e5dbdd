"""`skiff up` as a user runs it, in a subprocess, for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import kubernetes

from skiff.ports import free_port

T = TypeVar("T")


class UpProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        nodes: int = 1,
        runtime: str = "docker",
        store: str | None = "sqlite",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.args = [
            sys.executable, "-m", "skiff", "up", "--data-dir", str(data_dir), "--port", str(self.port),
            "--nodes", str(nodes), "--runtime", runtime, *(["--store", store] if store else []), *extra,
        ]  # fmt: skip
        self.nodes = nodes
        self.proc: subprocess.Popen[str] | None = None
        self.output_path = data_dir.parent / f"{data_dir.name}-up.out"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def start(self, timeout: float = 60) -> None:
        # A kubeconfig left by an earlier run would be read before `skiff up` replaces it.
        self.kubeconfig.unlink(missing_ok=True)
        out = open(self.output_path, "a")  # noqa: SIM115 - the child writes to it for its lifetime
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while not self.kubeconfig.exists():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"no kubeconfig within {timeout} s:\n{self.output()}"
            time.sleep(0.1)
        core = self.core()
        wait_for(lambda: self._nodes_ready(core), timeout, "nodes Ready")

    def _nodes_ready(self, core: kubernetes.client.CoreV1Api) -> bool:
        nodes = core.list_node().items
        ready = [
            n
            for n in nodes
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]
        return len(ready) >= self.nodes

    def pid(self, component: str) -> int:
        """The live process of a component, from the pid file `skiff up` writes at each (re)start."""
        return int((self.data_dir / "run" / f"{component}.pid").read_text())

    def output(self) -> str:
        return self.output_path.read_text() if self.output_path.exists() else ""

    def api_client(self) -> kubernetes.client.ApiClient:
        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))

    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self.api_client())

    def stop(self, timeout: float = 20) -> float:
        """SIGTERM, as Ctrl-C would; returns how long the stop took."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"skiff up did not stop within {timeout} s:\n{self.output()}") from None
        return time.monotonic() - started

    def kill_leftovers(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["pkill", "-9", "-f", f"{self.data_dir}"], check=False)


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the API may be restarting; retry until the deadline
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last_error}" if last_error else ""))


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    cache = kubeconfig.parent / "kubectl-cache"
    return subprocess.run(
        ["kubectl", f"--cache-dir={cache}", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=120,
    )
