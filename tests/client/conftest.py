"""Fixtures of the client tests: one Client on the shared API server, and a fresh namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from skiff.client import Client

from .util import namespace


@pytest.fixture
async def client(shared_apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(shared_apiserver.kubeconfig) as c:
        yield c


@pytest.fixture
async def ns(client: Client, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    # Named after the test module (test_events -> events-...), so leftovers say where they came from.
    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:12]
    async with namespace(client, prefix) as name:
        yield name
