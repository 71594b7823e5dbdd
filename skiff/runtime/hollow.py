"""The hollow runtime: simulated containers that report Running without any process, for scale tests.

One process hosts many hollow nodes (`skiff kubelet --runtime hollow --count N`), so each instance is
small: a dict of container records and nothing else. Containers start at once and run until stopped;
exec answers exit code 0 with no output; images are always present; the machine is what the node was
told it has (--capacity), with zero usage.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator

from skiff.runtime.base import (
    ContainerInfo,
    ContainerSpec,
    ExecSession,
    ImageInfo,
    MachineInfo,
    NotFound,
    Runtime,
    Sandbox,
    SandboxSpec,
)

_ids = itertools.count(1)


class HollowRuntime(Runtime):
    name = "hollow"

    def __init__(
        self, node: str, cpu_millis: int = 4000, memory_bytes: int = 8 << 30, pods: int = 110
    ) -> None:
        super().__init__(node)
        self.containers: dict[str, ContainerInfo] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.capacity = (cpu_millis, memory_bytes, pods)

    async def create_sandbox(self, spec: SandboxSpec) -> Sandbox:
        n = next(_ids)
        sid = f"hollow-{n:x}"
        # A fake pod IP in 10.0.0.0/8, unique within the process.
        ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        sandbox = Sandbox(id=sid, pod=spec.pod, ip=ip, attempt=spec.attempt)
        self.sandboxes[sid] = sandbox
        return sandbox

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self.sandboxes.pop(sandbox_id, None)

    async def list_sandboxes(self) -> list[Sandbox]:
        return list(self.sandboxes.values())

    async def create_container(self, sandbox: Sandbox, spec: ContainerSpec) -> str:
        cid = f"hollow-{next(_ids):x}"
        self.containers[cid] = ContainerInfo(
            id=cid,
            pod=spec.pod,
            name=spec.name,
            attempt=spec.attempt,
            image=spec.image,
            image_id=f"hollow://{spec.image}",
            init=spec.init,
            state="created",
            created_at=time.time(),
        )
        return cid

    def _get(self, cid: str) -> ContainerInfo:
        try:
            return self.containers[cid]
        except KeyError:
            raise NotFound(f"no such container: {cid}") from None

    async def start_container(self, container_id: str) -> None:
        info = self._get(container_id)
        info.started_at = time.time()
        if info.init:
            # Init containers complete at once so the pod proceeds.
            info.state, info.exit_code, info.reason, info.finished_at = "exited", 0, "Completed", time.time()
        else:
            info.state = "running"

    async def stop_container(self, container_id: str, grace: float, signal: str = "SIGTERM") -> None:
        info = self._get(container_id)
        if info.state == "running":
            info.state, info.exit_code, info.reason, info.finished_at = "exited", 0, "Completed", time.time()

    async def remove_container(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    async def list_containers(self) -> list[ContainerInfo]:
        return list(self.containers.values())

    async def inspect(self, container_id: str) -> ContainerInfo:
        return self._get(container_id)

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession:
        self._get(container_id)
        return _HollowExec()

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        return 0, b""

    async def image_present(self, image: str) -> bool:
        return True

    async def pull_image(self, image: str) -> None:
        return None

    async def list_images(self) -> list[ImageInfo]:
        return []

    async def machine(self) -> MachineInfo:
        cpu, mem, pods = self.capacity
        return MachineInfo(
            cpu_millis=cpu,
            memory_bytes=mem,
            pods=pods,
            ephemeral_storage_bytes=100 << 30,
            kernel_version="hollow",
            os_image="hollow",
            runtime_version="hollow://1.0",
            memory_available_bytes=mem,
        )


class _HollowExec(ExecSession):
    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        return
        yield 0, b""

    async def wait(self) -> int:
        return 0

    async def close(self) -> None:
        return None
