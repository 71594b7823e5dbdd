"""Fixtures of the API server tests: an admin client of the shared API server, the real kubectl as the
admin, and a fresh namespace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apiserver.helpers import Kubectl, make_namespace, unique
from tests.fixtures.apiserver import APIServerHandle


@pytest.fixture
def c(shared_apiserver: APIServerHandle) -> Iterator[httpx.Client]:
    with shared_apiserver.client(timeout=30) as client:
        yield client


@pytest.fixture
def ns(c: httpx.Client) -> str:
    name = unique("t")
    make_namespace(c, name)
    return name


@pytest.fixture
def kubectl(shared_apiserver: APIServerHandle, tmp_path: Path) -> Kubectl:
    return Kubectl(shared_apiserver.kubeconfig, tmp_path / "kube-cache")
