"""The conformance suite's backends: every test taking ``backend`` runs against each of them."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from skiff.store import Store, open_store
from tests.fixtures.etcd import EtcdCluster


class Backend:
    """Opens stores on one backend and can restart it (the same data, a new process-level store)."""

    name: str
    url: str
    prefix = "/registry/"

    def open(self) -> Store:
        return open_store(self.url, str(self.data_dir))

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def restart_service(self) -> None:
        """Restart what holds the data (nothing for SQLite: reopening the file is the restart)."""


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.url = f"sqlite:///{data_dir}/store.db?compact_interval=0"


class EtcdBackend(Backend):
    """The session's 3-member cluster; each test keeps to a key prefix of its own."""

    name = "etcd"

    def __init__(self, data_dir: Path, cluster: EtcdCluster) -> None:
        super().__init__(data_dir)
        self.cluster = cluster
        self.url = cluster.url
        self.prefix = f"/t{next(_counter)}/registry/"

    def restart_service(self) -> None:
        self.cluster.restart_all()


_counter = itertools.count()
BACKENDS = ["sqlite", "etcd"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
    else:
        yield EtcdBackend(tmp_path, request.getfixturevalue("etcd_cluster"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    s = backend.open()
    await s.start()
    try:
        yield s
    finally:
        await s.close()
