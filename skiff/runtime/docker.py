"""The Docker runtime: Docker Engine through the Docker SDK, its blocking calls run in a thread pool.

A pod is a sandbox container (the pause image running `sleep`) that holds the pod's network and IPC
namespaces; the pod's containers join them (`network_mode=container:ID`), so they share the pod IP and
localhost. Memory limits become the container's memory (and memory+swap) limit, CPU limits a CFS quota
(NanoCpus), CPU requests cpu shares. Every container carries the labels of base.py including this node's
name, and every list filters on them: containers started by anyone else are never seen nor touched.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import os
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.utils import parse_repository_tag

from skiff.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_INIT,
    LABEL_KIND,
    LABEL_NODE,
    SANDBOX_NAME,
    ContainerInfo,
    ContainerSpec,
    CreateContainerError,
    ExecSession,
    ImageInfo,
    ImagePullError,
    MachineInfo,
    NotFound,
    Runtime,
    RuntimeError_,
    Sandbox,
    SandboxError,
    SandboxSpec,
    StartContainerError,
    exit_reason,
    labels_for,
    pod_from_labels,
)
from skiff.runtime.gate import PriorityGate
from skiff.runtime.machine import Machine

T = TypeVar("T")

DEFAULT_PAUSE_IMAGE = os.environ.get("SKIFF_PAUSE_IMAGE", "busybox:1.35")
PAUSE_COMMAND = ["sleep", "2147483647"]
# Concurrent container creates+starts (BENCHMARKS.md, Kubelet: 8 kept the throughput of 32 while pods
# finish in arrival order; 2 and 4 left dockerd idle between a pod's calls).
DEFAULT_STARTS = int(os.environ.get("SKIFF_DOCKER_STARTS", "8"))
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _parse_time(value: str | None) -> float | None:
    if not value or value.startswith("0001-"):
        return None
    # Docker gives nanoseconds; datetime takes microseconds.
    head, _, frac = value.rstrip("Z").partition(".")
    text = head + ("." + frac[:6] if frac else "") + "+00:00"
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _name(pod_name: str, namespace: str, uid: str, container: str, attempt: int) -> str:
    return f"k8s_{container}_{pod_name}_{namespace}_{uid}_{attempt}"


def _error_text(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)


class DockerRuntime(Runtime):
    name = "docker"

    def __init__(
        self,
        node: str,
        base_url: str | None = None,
        pause_image: str = DEFAULT_PAUSE_IMAGE,
        starts: int = DEFAULT_STARTS,
    ) -> None:
        super().__init__(node)
        self.base_url = base_url
        self.pause_image = pause_image
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="docker")
        self.api: docker.APIClient | None = None
        self.version = ""
        self._machine = Machine()
        # Exited containers never change: their inspect result is kept.
        self._final: dict[str, ContainerInfo] = {}
        self._started: dict[str, tuple[float | None, str]] = {}
        self._stopped: set[str] = set()  # containers this runtime stopped (their SIGKILL is not an OOM)
        self._present: dict[str, float] = {}
        # Creates and starts queue here, oldest pod first: the key of a sandbox and of the containers
        # in it is when its pod's sandbox was asked for (adopted pods' restarts: 0, first of all).
        self._gate = PriorityGate(starts)
        self._order: dict[str, float] = {}

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    @property
    def client(self) -> docker.APIClient:
        assert self.api is not None, "DockerRuntime.start() first"
        return self.api

    async def start(self) -> None:
        def connect() -> tuple[docker.APIClient, str]:
            kwargs: dict[str, Any] = {"version": "auto", "timeout": 120, "max_pool_size": 32}
            if self.base_url:
                kwargs["base_url"] = self.base_url
            else:
                kwargs["base_url"] = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            api = docker.APIClient(**kwargs)
            return api, str(api.version().get("Version", ""))

        try:
            self.api, self.version = await self._call(connect)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise RuntimeError_(f"cannot reach the Docker daemon: {exc}") from exc

    async def close(self) -> None:
        if self.api is not None:
            self.api.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _filters(self, kind: str) -> dict[str, Any]:
        labels = [f"{LABEL_NODE}={self.node}", f"{LABEL_KIND}={kind}"]
        if self.cluster:
            labels.append(f"{LABEL_CLUSTER}={self.cluster}")
        return {"label": labels}

    def _ours(self, labels: dict[str, str]) -> bool:
        return labels.get(LABEL_NODE) == self.node and labels.get(LABEL_CLUSTER) == (self.cluster or None)

    async def _remove_stale(self, name: str) -> None:
        """Removes a leftover container of ours that holds `name` (never anyone else's)."""
        try:
            info = await self._call(self.client.inspect_container, name)
        except docker.errors.NotFound:
            return
        if self._ours((info.get("Config") or {}).get("Labels") or {}):
            with contextlib.suppress(docker.errors.NotFound):
                await self._call(self.client.remove_container, info["Id"], force=True)

    # ------------------------------------------------------------------ sandboxes

    async def create_sandbox(self, spec: SandboxSpec) -> Sandbox:
        if not await self.image_present(self.pause_image):
            try:
                await self.pull_image(self.pause_image)
            except ImagePullError as exc:
                raise SandboxError(f"pause image {self.pause_image}: {exc.message}") from exc
        labels = labels_for(self.node, spec.pod, SANDBOX_NAME, spec.attempt, cluster=self.cluster)
        name = _name(spec.pod.name, spec.pod.namespace, spec.pod.uid, SANDBOX_NAME, spec.attempt)
        host_config = self.client.create_host_config(
            network_mode="host" if spec.host_network else "bridge",
            ipc_mode="shareable",
        )

        def create() -> str:
            return str(
                self.client.create_container(
                    self.pause_image,
                    command=PAUSE_COMMAND,
                    labels=labels,
                    name=name,
                    hostname=None if spec.host_network else (spec.hostname or spec.pod.name)[:63],
                    host_config=host_config,
                )["Id"]
            )

        key = time.monotonic()
        try:
            async with self._gate.slot(key):
                try:
                    sid = await self._call(create)
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
                    await self._remove_stale(name)
                    sid = await self._call(create)
            self._order[sid] = key
            async with self._gate.slot(key):
                await self._call(self.client.start, sid)
            info = await self._call(self.client.inspect_container, sid)
        except docker.errors.APIError as exc:
            raise SandboxError(_error_text(exc)) from exc
        ip = (info.get("NetworkSettings") or {}).get("IPAddress") or "127.0.0.1"
        return Sandbox(id=sid, pod=spec.pod, ip=ip, attempt=spec.attempt)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self._order.pop(sandbox_id, None)
        with contextlib.suppress(docker.errors.NotFound):
            await self._call(self.client.remove_container, sandbox_id, force=True)

    async def list_sandboxes(self) -> list[Sandbox]:
        rows = await self._call(self.client.containers, all=True, filters=self._filters("sandbox"))
        out = []
        for row in rows:
            labels = row.get("Labels") or {}
            nets = ((row.get("NetworkSettings") or {}).get("Networks")) or {}
            ip = next((n.get("IPAddress") for n in nets.values() if n.get("IPAddress")), "") or "127.0.0.1"
            out.append(
                Sandbox(
                    id=row["Id"],
                    pod=pod_from_labels(labels),
                    ip=ip,
                    attempt=int(labels.get(LABEL_ATTEMPT, "0")),
                    running=row.get("State") == "running",
                )
            )
        return out

    # ------------------------------------------------------------------ containers

    async def create_container(self, sandbox: Sandbox, spec: ContainerSpec) -> str:
        labels = labels_for(
            self.node, spec.pod, spec.name, spec.attempt, init=spec.init, cluster=self.cluster
        )
        name = _name(spec.pod.name, spec.pod.namespace, spec.pod.uid, spec.name, spec.attempt)
        hc: dict[str, Any] = {
            "network_mode": f"container:{sandbox.id}",
            "ipc_mode": f"container:{sandbox.id}",
        }
        if spec.memory_limit:
            hc["mem_limit"] = spec.memory_limit
            hc["memswap_limit"] = spec.memory_limit
        if spec.cpu_limit_millis:
            hc["nano_cpus"] = spec.cpu_limit_millis * 1_000_000
        if spec.cpu_request_millis:
            hc["cpu_shares"] = max(2, spec.cpu_request_millis * 1024 // 1000)
        try:
            host_config = self.client.create_host_config(**hc)
        except docker.errors.DockerException as exc:
            raise CreateContainerError(str(exc)) from exc

        def create() -> str:
            return str(
                self.client.create_container(
                    spec.image,
                    command=spec.args,
                    entrypoint=spec.command,
                    environment=spec.env,
                    working_dir=spec.working_dir,
                    labels=labels,
                    name=name,
                    host_config=host_config,
                    tty=spec.tty,
                    stdin_open=spec.stdin,
                )["Id"]
            )

        key = self._order.get(sandbox.id, 0.0)
        try:
            async with self._gate.slot(key):
                try:
                    cid = await self._call(create)
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
                    await self._remove_stale(name)
                    cid = await self._call(create)
            self._order[cid] = key
            return cid
        except docker.errors.ImageNotFound as exc:
            raise CreateContainerError(f"image {spec.image} not present: {_error_text(exc)}") from exc
        except docker.errors.APIError as exc:
            raise CreateContainerError(_error_text(exc)) from exc

    async def start_container(self, container_id: str) -> None:
        try:
            async with self._gate.slot(self._order.get(container_id, 0.0)):
                await self._call(self.client.start, container_id)
        except docker.errors.NotFound as exc:
            raise NotFound(_error_text(exc)) from exc
        except docker.errors.APIError as exc:
            raise StartContainerError(_error_text(exc)) from exc

    async def stop_container(self, container_id: str, grace: float, signal: str = "SIGTERM") -> None:
        self._stopped.add(container_id)
        try:
            if signal not in ("SIGTERM", "TERM", ""):
                with contextlib.suppress(docker.errors.APIError):
                    await self._call(self.client.kill, container_id, signal)
            seconds = max(0, int(grace + 0.999))
            await self._call(self.client.stop, container_id, timeout=seconds)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code != 304:  # already stopped
                raise RuntimeError_(_error_text(exc)) from exc

    async def remove_container(self, container_id: str) -> None:
        self._final.pop(container_id, None)
        self._stopped.discard(container_id)
        self._started.pop(container_id, None)
        self._order.pop(container_id, None)
        with contextlib.suppress(docker.errors.NotFound):
            await self._call(self.client.remove_container, container_id, force=True)

    def _killed_by_memory_limit(self, info: dict[str, Any], state: dict[str, Any]) -> bool:
        """Docker sets OOMKilled from containerd's cgroup OOM notification, which is registered after the
        process starts: a process that exceeds its limit within milliseconds dies with SIGKILL (137) and
        no OOMKilled (seen here under load). A memory-limited container killed by SIGKILL that this
        runtime did not stop was killed by the kernel for its limit."""
        return (
            state.get("ExitCode") == 137
            and bool((info.get("HostConfig") or {}).get("Memory"))
            and info.get("Id") not in self._stopped
        )

    def _from_inspect(self, info: dict[str, Any]) -> ContainerInfo:
        labels = (info.get("Config") or {}).get("Labels") or {}
        state = info.get("State") or {}
        status = state.get("Status", "unknown")
        exit_code = state.get("ExitCode")
        oom = bool(state.get("OOMKilled")) or self._killed_by_memory_limit(info, state)
        if status in ("exited", "dead"):
            norm = "exited"
        elif status in ("running", "paused", "restarting"):
            norm = "running"
        elif status == "created":
            # A start that failed leaves the container created with the error and exit code recorded.
            norm = "exited" if state.get("Error") else "created"
        else:
            norm = "unknown"
        reason, message = "", state.get("Error") or ""
        if norm == "exited":
            reason = "ContainerCannotRun" if status == "created" else exit_reason(exit_code or 0, oom)
        return ContainerInfo(
            id=info["Id"],
            pod=pod_from_labels(labels),
            name=labels.get(LABEL_CONTAINER_NAME, ""),
            attempt=int(labels.get(LABEL_ATTEMPT, "0")),
            image=(info.get("Config") or {}).get("Image", ""),
            image_id=info.get("Image", ""),
            init=labels.get(LABEL_INIT) == "true",
            state=norm,  # type: ignore[arg-type]
            exit_code=exit_code if norm == "exited" else None,
            reason=reason,
            message=message,
            created_at=_parse_time(info.get("Created")) or 0.0,
            started_at=_parse_time(state.get("StartedAt")),
            finished_at=_parse_time(state.get("FinishedAt")) if norm == "exited" else None,
        )

    async def inspect(self, container_id: str) -> ContainerInfo:
        cached = self._final.get(container_id)
        if cached is not None:
            return cached
        try:
            raw = await self._call(self.client.inspect_container, container_id)
        except docker.errors.NotFound as exc:
            raise NotFound(_error_text(exc)) from exc
        info = self._from_inspect(raw)
        if info.state == "exited":
            self._final[container_id] = info
        return info

    async def list_containers(self) -> list[ContainerInfo]:
        rows = await self._call(self.client.containers, all=True, filters=self._filters("container"))
        out: list[ContainerInfo] = []
        pending = []
        for row in rows:
            cid = row["Id"]
            cached = self._final.get(cid)
            if cached is not None:
                out.append(cached)
                continue
            state = row.get("State", "")
            if state == "running" and cid in self._started:
                # Running and seen before: the listing has all that changes; keep the start time.
                labels = row.get("Labels") or {}
                started_at, image_id = self._started[cid]
                out.append(
                    ContainerInfo(
                        id=cid,
                        pod=pod_from_labels(labels),
                        name=labels.get(LABEL_CONTAINER_NAME, ""),
                        attempt=int(labels.get(LABEL_ATTEMPT, "0")),
                        image=row.get("Image", ""),
                        image_id=image_id,
                        init=labels.get(LABEL_INIT) == "true",
                        state="running",
                        created_at=float(row.get("Created", 0)),
                        started_at=started_at,
                    )
                )
                continue
            pending.append(cid)
        for cid, result in zip(
            pending,
            await asyncio.gather(*(self.inspect(c) for c in pending), return_exceptions=True),
            strict=True,
        ):
            if isinstance(result, ContainerInfo):
                if result.state == "running":
                    self._started[cid] = (result.started_at, result.image_id)
                out.append(result)
        live = {c.id for c in out}
        for cid in list(self._started):
            if cid not in live:
                del self._started[cid]
        return out

    async def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        try:
            stream = await self._call(
                self.client.logs,
                container_id,
                stream=True,
                follow=follow,
                tail="all" if tail is None else max(0, tail),
                timestamps=timestamps,
            )
        except docker.errors.NotFound as exc:
            raise NotFound(_error_text(exc)) from exc
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)

        def pump() -> None:
            try:
                for chunk in stream:
                    asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except Exception:
                pass
            finally:
                with contextlib.suppress(RuntimeError):
                    asyncio.run_coroutine_threadsafe(queue.put(None), loop)

        thread = threading.Thread(target=pump, daemon=True, name="docker-logs")
        thread.start()
        pending = b""
        try:
            while True:
                chunk = await queue.get()
                if chunk is None:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line + b"\n"
            if pending:
                yield pending + b"\n"
        finally:
            with contextlib.suppress(Exception):
                stream.close()

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession:
        try:
            exec_id = (
                await self._call(
                    self.client.exec_create,
                    container_id,
                    command,
                    stdout=True,
                    stderr=True,
                    stdin=stdin,
                    tty=tty,
                )
            )["Id"]
            sock = await self._call(self.client.exec_start, exec_id, socket=True, tty=tty)
        except docker.errors.NotFound as exc:
            raise NotFound(_error_text(exc)) from exc
        except docker.errors.APIError as exc:
            raise StartContainerError(_error_text(exc)) from exc
        return _DockerExec(self, exec_id, sock, tty)

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        def run() -> tuple[int, bytes]:
            exec_id = self.client.exec_create(container_id, command, stdout=True, stderr=True)["Id"]
            output = self.client.exec_start(exec_id)
            code = self.client.exec_inspect(exec_id).get("ExitCode")
            return (code if code is not None else 126), bytes(output or b"")

        try:
            return await asyncio.wait_for(self._call(run), timeout)
        except docker.errors.APIError as exc:
            return 126, _error_text(exc).encode()

    # ------------------------------------------------------------------ images

    async def image_present(self, image: str) -> bool:
        seen = self._present.get(image)
        if seen is not None and time.monotonic() - seen < 10.0:
            return True  # checked a moment ago: spare the daemon a call per pod
        try:
            await self._call(self.client.inspect_image, image)
            self._present[image] = time.monotonic()
            return True
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError:
            return False

    async def pull_image(self, image: str) -> None:
        repo, tag = parse_repository_tag(image)
        try:
            await self._call(self.client.pull, repo, tag=tag or "latest")
        except docker.errors.APIError as exc:
            raise ImagePullError(f'failed to pull image "{image}": {_error_text(exc)}') from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ImagePullError(f'failed to pull image "{image}": {exc}') from exc

    async def list_images(self) -> list[ImageInfo]:
        rows = await self._call(self.client.images)
        out = []
        for row in rows:
            names = [
                n for n in (row.get("RepoDigests") or []) + (row.get("RepoTags") or []) if "<none>" not in n
            ]
            if names:
                out.append(ImageInfo(names=names, size_bytes=int(row.get("Size", 0)), id=row.get("Id", "")))
        return out

    async def machine(self) -> MachineInfo:
        info = self._machine.info()
        info.runtime_version = f"docker://{self.version}"
        return info


class _DockerExec(ExecSession):
    """An exec's hijacked connection: stdin written raw, output in Docker's 8-byte-header frames."""

    def __init__(self, runtime: DockerRuntime, exec_id: str, sock: Any, tty: bool) -> None:
        self.runtime = runtime
        self.exec_id = exec_id
        self.sock: socket.socket = getattr(sock, "_sock", sock)
        self.tty = tty
        self.done = False

    async def write_stdin(self, data: bytes) -> None:
        await self.runtime._call(self.sock.sendall, data)

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return buf
            buf += chunk
        return buf

    def _next(self) -> tuple[int, bytes] | None:
        if self.tty:
            data = self.sock.recv(65536)
            return (1, data) if data else None
        header = self._recv_exact(8)
        if len(header) < 8:
            return None
        stream, size = struct.unpack(">BxxxL", header)
        payload = self._recv_exact(size)
        return (2 if stream == 2 else 1), payload

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while True:
            try:
                item = await self.runtime._call(self._next)
            except OSError:
                item = None
            if item is None:
                self.done = True
                return
            yield item

    async def wait(self) -> int:
        for _ in range(50):
            info = await self.runtime._call(self.runtime.client.exec_inspect, self.exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else 126
            await asyncio.sleep(0.02)
        return 126

    async def resize(self, width: int, height: int) -> None:
        if self.tty:
            with contextlib.suppress(docker.errors.APIError):
                await self.runtime._call(
                    self.runtime.client.exec_resize, self.exec_id, height=height, width=width
                )

    async def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
