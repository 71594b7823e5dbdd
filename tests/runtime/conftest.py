"""Runtimes under test: the real Docker daemon and the process runtime, each on a node name of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest

from skiff.runtime.base import LABEL_NODE, Runtime
from skiff.runtime.docker import DockerRuntime
from skiff.runtime.process import ProcessRuntime


def remove_docker_node(node: str) -> None:
    """Removes every container labelled with this node (the tests' own, never others)."""
    client = docker.from_env()
    try:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={node}"}):
            c.remove(force=True)
    finally:
        client.close()


@pytest.fixture
async def docker_runtime() -> AsyncIterator[DockerRuntime]:
    node = f"test-{uuid.uuid4().hex[:8]}"
    rt = DockerRuntime(node)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.close()
        remove_docker_node(node)


@pytest.fixture
async def process_runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime("test", root=tmp_path)
    await rt.start()
    try:
        yield rt
    finally:
        for c in await rt.list_containers():
            await rt.remove_container(c.id)
        await rt.close()


@pytest.fixture(params=["docker", "process"])
async def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    if request.param == "docker":
        node = f"test-{uuid.uuid4().hex[:8]}"
        rt: Runtime = DockerRuntime(node)
    else:
        rt = ProcessRuntime("test", root=tmp_path)
    await rt.start()
    try:
        yield rt
    finally:
        for c in await rt.list_containers():
            await rt.remove_container(c.id)
        for s in await rt.list_sandboxes():
            await rt.remove_sandbox(s.id)
        await rt.close()
        if isinstance(rt, DockerRuntime):
            remove_docker_node(rt.node)
