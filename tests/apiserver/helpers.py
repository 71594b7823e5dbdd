"""Small helpers for API server tests: kubectl runs with a per-test discovery cache."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx


class Kubectl:
    def __init__(self, kubeconfig: str, cache_dir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.cache_dir = str(cache_dir)

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache_dir, *args]
        full_env = {**os.environ, **env} if env else None
        res = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=full_env)
        if check and res.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        cmd = ["kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache_dir, *args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def http_client(handle: Any, timeout: float = 30) -> httpx.Client:
    """An httpx client for a server of the apiserver fixtures (one that trusts it, once they serve TLS)."""
    make = getattr(handle, "client", None)
    return make(timeout=timeout) if make is not None else httpx.Client(base_url=handle.url, timeout=timeout)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pod(
    name: str, image: str = "busybox:latest", labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image}], **spec},
    }
    if labels:
        body["metadata"]["labels"] = labels
    return body


def make_namespace(client: httpx.Client, name: str) -> None:
    r = client.post(
        "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    assert r.status_code == 201, r.text
