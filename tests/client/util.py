"""Helpers for tests that drive a live API server through skiff.client."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from skiff.api.core import Container, Namespace, Pod, PodSpec
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client

T = TypeVar("T")


async def eventually(
    check: Callable[[], Any | Awaitable[Any]], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll check() until it returns something truthy; fail after timeout (a hang guard, not a
    speed assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        r = check()
        if inspect.isawaitable(r):
            r = await r
        if r:
            return r
        last = r
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {what or check} (last: {last!r})")
        await asyncio.sleep(interval)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def namespace(client: Client, prefix: str = "t") -> AsyncIterator[str]:
    name = unique(prefix)
    await client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            await client.delete(Namespace, name)
        except ApiError:
            pass


def pod(name: str, namespace: str, *, labels: dict[str, str] | None = None, node: str | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=PodSpec(containers=[Container(name="c", image="busybox")], node_name=node),
    )
