"""The process runtime: each container is a host process group. For machines without Docker and fast tests.

It isolates nothing. Containers share the host's filesystem, network (every pod's IP is 127.0.0.1, so
two pods listening on one port collide), users and process table. Images are not used: the container's
`command` + `args` run directly on the host, so they must name host programs. A memory limit becomes
RLIMIT_AS (address space, a rough bound: programs that reserve much virtual memory fail early); CPU
limits are not enforced.

Each container runs in its own session (process group), so stopping it signals the whole group, and it
outlives the kubelet: records in the state directory let a restarted kubelet adopt running containers.
Output (stdout and stderr merged) goes straight to a log file; timestamps on log lines are the time the
line is read, not written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal as signals
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from skiff.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_INIT,
    SANDBOX_NAME,
    ContainerInfo,
    ContainerSpec,
    CreateContainerError,
    ExecSession,
    ImageInfo,
    MachineInfo,
    NotFound,
    PodRef,
    Runtime,
    Sandbox,
    SandboxSpec,
    StartContainerError,
    exit_reason,
    labels_for,
    pod_from_labels,
)
from skiff.runtime.machine import Machine

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _proc_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a live pid from a reused one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


class ProcessRuntime(Runtime):
    name = "process"

    def __init__(self, node: str, root: str | os.PathLike[str] | None = None) -> None:
        super().__init__(node)
        base = Path(root) if root else Path(tempfile.gettempdir()) / "skiff-process"
        self.root = base / node
        self.records: dict[str, dict[str, Any]] = {}
        self.sandboxes: dict[str, dict[str, Any]] = {}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.waiters: dict[str, asyncio.Task[None]] = {}
        self._machine = Machine()

    # ------------------------------------------------------------------ state on disk

    def _path(self, kind: str, cid: str) -> Path:
        return self.root / kind / f"{cid}.json"

    def _save(self, kind: str, rec: dict[str, Any]) -> None:
        path = self._path(kind, rec["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rec))
        tmp.replace(path)

    async def start(self) -> None:
        for kind in ("containers", "sandboxes", "logs"):
            (self.root / kind).mkdir(parents=True, exist_ok=True)
        for path in (self.root / "sandboxes").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                rec = json.loads(path.read_text())
                self.sandboxes[rec["id"]] = rec
        for path in (self.root / "containers").glob("*.json"):
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            self.records[rec["id"]] = rec
            if rec["state"] == "running":
                if rec.get("pid") and _proc_start_time(rec["pid"]) == rec.get("proc_start"):
                    # Still running from before the kubelet restarted: adopt it, watch it by polling.
                    self.waiters[rec["id"]] = asyncio.create_task(self._poll_adopted(rec["id"]))
                else:
                    self._mark_exited(rec, 137, "ContainerStatusUnknown", "exited while the kubelet was down")

    async def close(self) -> None:
        for task in self.waiters.values():
            task.cancel()
        self.waiters.clear()

    # ------------------------------------------------------------------ sandboxes

    async def create_sandbox(self, spec: SandboxSpec) -> Sandbox:
        sid = secrets.token_hex(16)
        rec = {
            "id": sid,
            "labels": labels_for(self.node, spec.pod, SANDBOX_NAME, spec.attempt, cluster=self.cluster),
            "attempt": spec.attempt,
        }
        self.sandboxes[sid] = rec
        self._save("sandboxes", rec)
        return Sandbox(id=sid, pod=spec.pod, ip="127.0.0.1", attempt=spec.attempt)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self.sandboxes.pop(sandbox_id, None)
        self._path("sandboxes", sandbox_id).unlink(missing_ok=True)

    async def list_sandboxes(self) -> list[Sandbox]:
        return [
            Sandbox(id=r["id"], pod=pod_from_labels(r["labels"]), ip="127.0.0.1", attempt=r["attempt"])
            for r in self.sandboxes.values()
        ]

    # ------------------------------------------------------------------ containers

    async def create_container(self, sandbox: Sandbox, spec: ContainerSpec) -> str:
        argv = list(spec.command or []) + list(spec.args or [])
        if not argv:
            raise CreateContainerError(
                "the process runtime runs no images: the container needs a command naming a host program"
            )
        cid = secrets.token_hex(16)
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": spec.pod.name, **spec.env}
        workdir = spec.working_dir if spec.working_dir and os.path.isdir(spec.working_dir) else None
        if workdir is None:
            wd = self.root / "containers" / cid
            wd.mkdir(parents=True, exist_ok=True)
            workdir = str(wd)
        rec: dict[str, Any] = {
            "id": cid,
            "sandbox": sandbox.id,
            "labels": labels_for(
                self.node, spec.pod, spec.name, spec.attempt, init=spec.init, cluster=self.cluster
            ),
            "image": spec.image,
            "argv": argv,
            "env": env,
            "cwd": workdir,
            "memory_limit": spec.memory_limit,
            "state": "created",
            "created_at": time.time(),
            "log": str(self.root / "logs" / f"{cid}.log"),
        }
        self.records[cid] = rec
        self._save("containers", rec)
        return cid

    def _record(self, cid: str) -> dict[str, Any]:
        rec = self.records.get(cid)
        if rec is None:
            raise NotFound(f"no such container: {cid}")
        return rec

    async def start_container(self, container_id: str) -> None:
        rec = self._record(container_id)
        argv: list[str] = rec["argv"]
        env: dict[str, str] = rec["env"]
        if shutil.which(argv[0], path=env.get("PATH", DEFAULT_PATH)) is None and not os.path.isfile(argv[0]):
            msg = f'exec: "{argv[0]}": executable file not found in $PATH'
            self._mark_exited(rec, 127, "ContainerCannotRun", msg)
            raise StartContainerError(msg)
        limit = rec.get("memory_limit")
        preexec: Callable[[], None] | None = None
        if limit:

            def preexec() -> None:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        with open(rec["log"], "ab") as log:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=rec["cwd"],
                    env=env,
                    start_new_session=True,
                    preexec_fn=preexec,
                )
            except OSError as exc:
                self._mark_exited(rec, 128, "ContainerCannotRun", str(exc))
                raise StartContainerError(str(exc)) from exc
        rec.update(
            state="running", pid=proc.pid, proc_start=_proc_start_time(proc.pid), started_at=time.time()
        )
        self.procs[container_id] = proc
        self._save("containers", rec)
        self.waiters[container_id] = asyncio.create_task(self._wait(container_id, proc))

    async def _wait(self, cid: str, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        self.procs.pop(cid, None)
        rec = self.records.get(cid)
        if rec is not None:
            if code < 0:
                code = 128 - code
            self._mark_exited(rec, code, "", "")

    async def _poll_adopted(self, cid: str) -> None:
        rec = self.records[cid]
        while _proc_start_time(rec["pid"]) == rec.get("proc_start"):
            await asyncio.sleep(0.5)
        # Not our child: the exit status is lost.
        self._mark_exited(
            rec, 137, "ContainerStatusUnknown", "exit status not observed after a kubelet restart"
        )

    def _mark_exited(self, rec: dict[str, Any], code: int, reason: str, message: str) -> None:
        if rec["state"] == "exited":
            return
        rec.update(
            state="exited",
            exit_code=code,
            reason=reason or exit_reason(code),
            message=message,
            finished_at=time.time(),
        )
        if rec["id"] in self.records:
            with contextlib.suppress(OSError):
                self._save("containers", rec)

    async def stop_container(self, container_id: str, grace: float, signal: str = "SIGTERM") -> None:
        rec = self._record(container_id)
        if rec["state"] != "running":
            return
        pid = rec["pid"]
        sig = getattr(signals, signal, signals.SIGTERM)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + max(0.0, grace)
        while rec["state"] == "running" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if rec["state"] == "running":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signals.SIGKILL)
            for _ in range(100):
                if rec["state"] != "running":
                    break
                await asyncio.sleep(0.02)
        # Kill any stragglers left in the group after the leader exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signals.SIGKILL)

    async def remove_container(self, container_id: str) -> None:
        rec = self.records.get(container_id)
        if rec is None:
            return
        if rec["state"] == "running":
            await self.stop_container(container_id, 0)
        task = self.waiters.pop(container_id, None)
        if task is not None:
            task.cancel()
        self.records.pop(container_id, None)
        self._path("containers", container_id).unlink(missing_ok=True)
        Path(rec["log"]).unlink(missing_ok=True)
        shutil.rmtree(self.root / "containers" / container_id, ignore_errors=True)

    def _info(self, rec: dict[str, Any]) -> ContainerInfo:
        labels = rec["labels"]
        return ContainerInfo(
            id=rec["id"],
            pod=pod_from_labels(labels),
            name=labels[LABEL_CONTAINER_NAME],
            attempt=int(labels[LABEL_ATTEMPT]),
            image=rec["image"],
            image_id="",
            init=labels.get(LABEL_INIT) == "true",
            state=rec["state"],
            exit_code=rec.get("exit_code"),
            reason=rec.get("reason", ""),
            message=rec.get("message", ""),
            created_at=rec["created_at"],
            started_at=rec.get("started_at"),
            finished_at=rec.get("finished_at"),
        )

    async def list_containers(self) -> list[ContainerInfo]:
        return [self._info(r) for r in self.records.values()]

    async def inspect(self, container_id: str) -> ContainerInfo:
        return self._info(self._record(container_id))

    async def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        rec = self._record(container_id)
        path = Path(rec["log"])
        try:
            fh = path.open("rb")
        except OSError:
            return
        with fh:
            data = fh.read()
            lines = data.splitlines(keepends=True)
            pending = b""
            if lines and not lines[-1].endswith(b"\n"):
                pending = lines.pop()
            if tail is not None:
                lines = lines[-tail:] if tail > 0 else []
            for line in lines:
                yield _stamp(line, timestamps)
            if not follow:
                if pending:
                    yield _stamp(pending + b"\n", timestamps)
                return
            while True:
                chunk = fh.read()
                if chunk:
                    pending += chunk
                    *done, pending = pending.split(b"\n")
                    for line in done:
                        yield _stamp(line + b"\n", timestamps)
                    continue
                if rec["state"] != "running" or container_id not in self.records:
                    if pending:
                        yield _stamp(pending + b"\n", timestamps)
                    return
                await asyncio.sleep(0.1)

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession:
        rec = self._record(container_id)
        if rec["state"] != "running":
            raise StartContainerError(f"container {container_id} is not running")
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=rec["cwd"],
                env=rec["env"],
                start_new_session=True,
            )
        except OSError as exc:
            return _FailedExec(
                f"exec failed: {exc}\n".encode(), 126 if isinstance(exc, PermissionError) else 127
            )
        return _ProcessExec(proc)

    # ------------------------------------------------------------------ images and machine

    async def image_present(self, image: str) -> bool:
        return True

    async def pull_image(self, image: str) -> None:
        return None

    async def list_images(self) -> list[ImageInfo]:
        return []

    async def machine(self) -> MachineInfo:
        info = self._machine.info()
        info.runtime_version = "process://1.0"
        return info

    def pod_of(self, container_id: str) -> PodRef:
        return pod_from_labels(self._record(container_id)["labels"])


def _stamp(line: bytes, timestamps: bool) -> bytes:
    if not timestamps:
        return line
    now = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z "
    return ts.encode() + line


class _ProcessExec(ExecSession):
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def write_stdin(self, data: bytes) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()

        async def pump(channel: int, stream: asyncio.StreamReader | None) -> None:
            if stream is not None:
                while chunk := await stream.read(65536):
                    await queue.put((channel, chunk))
            await queue.put(None)

        tasks = [
            asyncio.create_task(pump(1, self.proc.stdout)),
            asyncio.create_task(pump(2, self.proc.stderr)),
        ]
        done = 0
        try:
            while done < 2:
                item = await queue.get()
                if item is None:
                    done += 1
                else:
                    yield item
        finally:
            for t in tasks:
                t.cancel()

    async def wait(self) -> int:
        code = await self.proc.wait()
        return 128 - code if code < 0 else code

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signals.SIGKILL)
            await self.proc.wait()


class _FailedExec(ExecSession):
    def __init__(self, message: bytes, code: int) -> None:
        self.message, self.code = message, code

    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        yield 2, self.message

    async def wait(self) -> int:
        return self.code

    async def close(self) -> None:
        return None
