"""The runtime interface, on real Docker and on host processes: what the kubelet relies on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import docker
import pytest

from skiff.runtime.base import (
    LABEL_NODE,
    ContainerInfo,
    ContainerSpec,
    CreateContainerError,
    ImagePullError,
    PodRef,
    Runtime,
    SandboxSpec,
    StartContainerError,
)
from skiff.runtime.docker import DockerRuntime
from skiff.runtime.hollow import HollowRuntime

IMAGE = "busybox:1.35"


def pod() -> PodRef:
    return PodRef(uid=str(uuid.uuid4()), namespace="default", name=f"p-{uuid.uuid4().hex[:6]}")


async def wait_state(rt: Runtime, cid: str, state: str) -> ContainerInfo:
    for _ in range(200):
        info = await rt.inspect(cid)
        if info.state == state:
            return info
        await asyncio.sleep(0.05)
    raise AssertionError(f"container never reached {state}: {info}")


async def run(rt: Runtime, script: str, **kw: object) -> tuple[str, ContainerInfo]:
    p = pod()
    sandbox = await rt.create_sandbox(SandboxSpec(pod=p))
    spec = ContainerSpec(pod=p, name="c", image=IMAGE, command=["sh", "-c", script], **kw)  # type: ignore[arg-type]
    cid = await rt.create_container(sandbox, spec)
    await rt.start_container(cid)
    return cid, await rt.inspect(cid)


async def test_container_lifecycle_logs_and_exit_code(runtime: Runtime) -> None:
    cid, _ = await run(runtime, "echo hello $GREETING; echo oops >&2; exit 3", env={"GREETING": "world"})
    info = await wait_state(runtime, cid, "exited")
    assert info.exit_code == 3 and info.reason == "Error"
    assert info.started_at and info.finished_at  # (Docker may stamp a fast exit before its start)
    assert info.name == "c" and info.attempt == 0
    logs = b"".join([chunk async for chunk in runtime.logs(cid)])
    assert b"hello world\n" in logs and b"oops\n" in logs
    tail = [chunk async for chunk in runtime.logs(cid, tail=1)]
    assert len(tail) == 1
    stamped = [chunk async for chunk in runtime.logs(cid, timestamps=True)]
    assert stamped[0][:2] == b"20" and b"Z " in stamped[0]
    assert [c.id for c in await runtime.list_containers()] == [cid]


async def test_follow_logs_ends_when_container_exits(runtime: Runtime) -> None:
    cid, _ = await run(runtime, "for i in 1 2 3; do echo line $i; sleep 0.2; done")
    lines = [chunk async for chunk in runtime.logs(cid, follow=True)]
    assert lines == [b"line 1\n", b"line 2\n", b"line 3\n"]


async def test_exec_streams_and_exit_code(runtime: Runtime) -> None:
    cid, _ = await run(runtime, "sleep 30")
    await wait_state(runtime, cid, "running")
    code, out = await runtime.exec_sync(cid, ["sh", "-c", "echo in-container; exit 7"], timeout=10)
    assert code == 7 and out == b"in-container\n"
    session = await runtime.exec(cid, ["sh", "-c", "read x; echo got $x; echo err >&2"], stdin=True)
    await session.write_stdin(b"ping\n")
    await session.close_stdin()
    chunks = [item async for item in session.output()]
    assert (1, b"got ping\n") in chunks and (2, b"err\n") in chunks
    assert await session.wait() == 0
    await session.close()


async def test_graceful_stop_then_kill(runtime: Runtime) -> None:
    # The first container exits on SIGTERM; the second ignores it and is killed after the grace period.
    polite, _ = await run(runtime, "trap 'exit 0' TERM; echo trapped; while true; do sleep 0.1; done")
    stubborn, _ = await run(runtime, "trap '' TERM; echo trapped; while true; do sleep 0.1; done")
    # Running only means the process exists: stop it once its shell has set the trap.
    for cid in (polite, stubborn):
        async with contextlib.aclosing(runtime.logs(cid, follow=True)) as lines:
            async for line in lines:
                if line == b"trapped\n":
                    break
    await asyncio.gather(runtime.stop_container(polite, 5), runtime.stop_container(stubborn, 1))
    assert (await wait_state(runtime, polite, "exited")).exit_code == 0
    assert (await wait_state(runtime, stubborn, "exited")).exit_code == 137
    await runtime.remove_container(polite)
    assert polite not in [c.id for c in await runtime.list_containers()]


async def test_bad_command_is_a_start_error(runtime: Runtime) -> None:
    p = pod()
    sandbox = await runtime.create_sandbox(SandboxSpec(pod=p))
    cid = await runtime.create_container(
        sandbox, ContainerSpec(pod=p, name="c", image=IMAGE, command=["/no/such/program"])
    )
    with pytest.raises(StartContainerError):
        await runtime.start_container(cid)
    info = await runtime.inspect(cid)
    assert info.state == "exited" and info.reason == "ContainerCannotRun"


async def test_docker_pod_shares_network_and_has_ip(docker_runtime: DockerRuntime) -> None:
    rt = docker_runtime
    p = pod()
    sandbox = await rt.create_sandbox(SandboxSpec(pod=p))
    assert sandbox.ip and sandbox.ip != "127.0.0.1"
    server = await rt.create_container(
        sandbox,
        ContainerSpec(pod=p, name="web", image=IMAGE, command=["httpd", "-f", "-p", "8080", "-h", "/www"]),
    )
    await rt.start_container(server)
    client = await rt.create_container(
        sandbox, ContainerSpec(pod=p, name="client", image=IMAGE, command=["sleep", "30"])
    )
    await rt.start_container(client)
    code, out = await rt.exec_sync(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], timeout=10)
    assert code == 0 and b"hello from skiff" in out
    assert {s.id for s in await rt.list_sandboxes()} == {sandbox.id}


async def test_docker_memory_hog_is_oomkilled(docker_runtime: DockerRuntime) -> None:
    cid, _ = await run(docker_runtime, "tail /dev/zero", memory_limit=16 << 20)
    info = await wait_state(docker_runtime, cid, "exited")
    assert info.reason == "OOMKilled" and info.exit_code == 137


async def test_docker_impossible_limit_and_missing_image(docker_runtime: DockerRuntime) -> None:
    rt = docker_runtime
    p = pod()
    sandbox = await rt.create_sandbox(SandboxSpec(pod=p))
    with pytest.raises(CreateContainerError, match=r"[Mm]inimum memory"):
        await rt.create_container(
            sandbox, ContainerSpec(pod=p, name="c", image=IMAGE, command=["true"], memory_limit=1024)
        )
    assert not await rt.image_present("skiff-test/no-such-image:1")
    with pytest.raises(ImagePullError, match="no-such-image"):
        await rt.pull_image("skiff-test/no-such-image:1")
    images = await rt.list_images()
    assert any("busybox:1.35" in i.names for i in images)


async def test_docker_leaves_other_containers_alone(docker_runtime: DockerRuntime) -> None:
    client = docker.from_env()
    # One started by hand, one labelled for another node: neither is listed.
    other_node = f"other-{uuid.uuid4().hex[:6]}"
    by_hand = client.containers.run(IMAGE, ["sleep", "30"], detach=True)
    other = client.containers.run(IMAGE, ["sleep", "30"], detach=True, labels={LABEL_NODE: other_node})
    try:
        cid, _ = await run(docker_runtime, "sleep 30")
        ids = [c.id for c in await docker_runtime.list_containers()]
        assert ids == [cid]
    finally:
        by_hand.remove(force=True)
        other.remove(force=True)
        client.close()


async def test_hollow_runs_without_processes() -> None:
    rt = HollowRuntime("hollow-0")
    cid, info = await run(rt, "anything")
    assert info.state == "running"
    assert await rt.exec_sync(cid, ["true"], timeout=1) == (0, b"")
    await rt.stop_container(cid, 30)
    assert (await rt.inspect(cid)).state == "exited"
