"""The container runtime interface the kubelet drives.

It knows nothing of the API server: it takes sandbox and container specs and gives back states. A
runtime owns only what it created: every sandbox and container carries labels naming the node (owner),
the pod (uid, namespace, name), the container name and its restart attempt. `list_containers` returns
only those; containers started by anyone else are never listed, stopped or removed.

Three implementations: docker.py (Docker Engine), process.py (host process groups, no isolation) and
hollow.py (simulated, for scale tests).
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Literal

# Label keys: the pod ones are the names Kubernetes' docker integration used, so tools recognise them.
LABEL_NODE = "io.skiff.node"
# The uid of the cluster's kube-system namespace: two clusters on one Docker may both have a "node-1".
LABEL_CLUSTER = "io.skiff.cluster"
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"
LABEL_ATTEMPT = "io.skiff.attempt"
LABEL_KIND = "io.skiff.kind"  # "sandbox" or "container"
LABEL_INIT = "io.skiff.init"  # "true" for init containers

SANDBOX_NAME = "POD"

State = Literal["created", "running", "exited", "unknown"]


class RuntimeError_(Exception):
    """Base of the errors a runtime reports; `reason` is the Kubernetes waiting reason."""

    reason = "RunContainerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImagePullError(RuntimeError_):
    reason = "ErrImagePull"


class CreateContainerError(RuntimeError_):
    reason = "CreateContainerError"


class StartContainerError(RuntimeError_):
    reason = "RunContainerError"


class SandboxError(RuntimeError_):
    reason = "CreatePodSandboxError"


class NotFound(RuntimeError_):
    reason = "NotFound"


@dataclasses.dataclass(frozen=True)
class PodRef:
    uid: str
    namespace: str
    name: str


@dataclasses.dataclass
class SandboxSpec:
    pod: PodRef
    attempt: int = 0
    hostname: str = ""
    host_network: bool = False


@dataclasses.dataclass
class Sandbox:
    id: str
    pod: PodRef
    ip: str
    attempt: int = 0
    running: bool = True


@dataclasses.dataclass
class ContainerSpec:
    pod: PodRef
    name: str
    image: str
    attempt: int = 0
    init: bool = False
    command: list[str] | None = None  # replaces the image's entrypoint
    args: list[str] | None = None  # replaces the image's cmd
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    working_dir: str | None = None
    ports: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (port, protocol)
    memory_limit: int | None = None  # bytes
    cpu_limit_millis: int | None = None
    cpu_request_millis: int | None = None
    tty: bool = False
    stdin: bool = False


@dataclasses.dataclass
class ContainerInfo:
    id: str
    pod: PodRef
    name: str
    attempt: int
    image: str
    image_id: str = ""
    init: bool = False
    state: State = "unknown"
    exit_code: int | None = None
    reason: str = ""  # for exited: Completed / Error / OOMKilled / ContainerStatusUnknown
    message: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def container_id(self) -> str:
        """The containerID Kubernetes reports: <runtime>://<id>."""
        return self.id


@dataclasses.dataclass
class ImageInfo:
    names: list[str]
    size_bytes: int
    id: str = ""


@dataclasses.dataclass
class MachineInfo:
    """What the node reports about the machine; usage fields are measured, not declared."""

    cpu_millis: int
    memory_bytes: int
    pods: int = 110
    ephemeral_storage_bytes: int = 0
    os: str = "linux"
    arch: str = "amd64"
    kernel_version: str = ""
    os_image: str = ""
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""
    runtime_version: str = ""
    cpu_usage_millis: int = 0
    memory_usage_bytes: int = 0
    memory_available_bytes: int = 0
    disk_available_fraction: float = 1.0
    pids_available_fraction: float = 1.0


class ExecSession(abc.ABC):
    """A running command inside a container, with its streams."""

    @abc.abstractmethod
    async def write_stdin(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def close_stdin(self) -> None: ...

    @abc.abstractmethod
    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(channel, data) pairs, channel 1 stdout, 2 stderr, until the command ends."""

    @abc.abstractmethod
    async def wait(self) -> int:
        """The exit code, once output is drained."""

    async def resize(self, width: int, height: int) -> None:  # noqa: B027 - optional
        """Resize the terminal; a no-op where the runtime has none."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class Runtime(abc.ABC):
    """One node's view of its container runtime. Every method is safe to call concurrently."""

    name = "base"

    def __init__(self, node: str) -> None:
        self.node = node
        # Set by the kubelet once it knows its cluster; ownership is then (cluster, node), never node alone.
        self.cluster: str | None = None

    async def start(self) -> None:  # noqa: B027 - optional
        """Connect; raises a RuntimeError_ with a readable message when the runtime is unusable."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Release connections; containers keep running."""

    # Sandboxes.
    @abc.abstractmethod
    async def create_sandbox(self, spec: SandboxSpec) -> Sandbox: ...

    @abc.abstractmethod
    async def remove_sandbox(self, sandbox_id: str) -> None: ...

    @abc.abstractmethod
    async def list_sandboxes(self) -> list[Sandbox]: ...

    # Containers.
    @abc.abstractmethod
    async def create_container(self, sandbox: Sandbox, spec: ContainerSpec) -> str: ...

    @abc.abstractmethod
    async def start_container(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def stop_container(self, container_id: str, grace: float, signal: str = "SIGTERM") -> None:
        """Send `signal`, wait up to `grace` seconds, then SIGKILL."""

    @abc.abstractmethod
    async def remove_container(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def list_containers(self) -> list[ContainerInfo]:
        """Every container this runtime created for this node, running or not; never others."""

    @abc.abstractmethod
    async def inspect(self, container_id: str) -> ContainerInfo: ...

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        """The container's output, line by line (each chunk ends with a newline)."""
        return _empty()

    @abc.abstractmethod
    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession: ...

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Run a command to completion (probes, hooks): exit code and combined output."""
        session = await self.exec(container_id, command)
        out = bytearray()

        async def run() -> int:
            async for _, data in session.output():
                if len(out) < 65536:
                    out.extend(data)
            return await session.wait()

        try:
            code = await asyncio.wait_for(run(), timeout)
        finally:
            await session.close()
        return code, bytes(out)

    # Images.
    @abc.abstractmethod
    async def image_present(self, image: str) -> bool: ...

    @abc.abstractmethod
    async def pull_image(self, image: str) -> None:
        """Raises ImagePullError with the registry's message."""

    @abc.abstractmethod
    async def list_images(self) -> list[ImageInfo]: ...

    # Machine.
    @abc.abstractmethod
    async def machine(self) -> MachineInfo: ...


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""


def labels_for(
    node: str, pod: PodRef, container: str, attempt: int, *, init: bool = False, cluster: str | None = None
) -> dict[str, str]:
    labels = {
        LABEL_NODE: node,
        LABEL_POD_UID: pod.uid,
        LABEL_POD_NAMESPACE: pod.namespace,
        LABEL_POD_NAME: pod.name,
        LABEL_CONTAINER_NAME: container,
        LABEL_ATTEMPT: str(attempt),
        LABEL_KIND: "sandbox" if container == SANDBOX_NAME else "container",
    }
    if init:
        labels[LABEL_INIT] = "true"
    if cluster:
        labels[LABEL_CLUSTER] = cluster
    return labels


def pod_from_labels(labels: dict[str, str]) -> PodRef:
    return PodRef(
        uid=labels.get(LABEL_POD_UID, ""),
        namespace=labels.get(LABEL_POD_NAMESPACE, ""),
        name=labels.get(LABEL_POD_NAME, ""),
    )


def exit_reason(code: int, oom: bool = False) -> str:
    """The terminated reason Kubernetes shows for an exit code."""
    if oom:
        return "OOMKilled"
    return "Completed" if code == 0 else "Error"
