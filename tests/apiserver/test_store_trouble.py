"""The store in trouble, for real: the SQLite file locked by another process, the disk full (a small
tmpfs under the SQLite file), etcd without quorum (two of three members SIGSTOPped).

What a client must see: 503 ServiceUnavailable with Retry-After while writes cannot be stored, /readyz
failing, reads the watch cache can answer still answered; then, once the store is back and without a
restart, writes work and /readyz passes again. Nothing acknowledged is lost and nothing is half written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures import apiserver as apiserver_fixture

from .helpers import http_client

NS = "default"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Clock:
    """Prints how long each phase took (for RELIABILITY.md; nothing is asserted on it)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.t0 = time.monotonic()

    def mark(self, event: str) -> None:
        print(f"{self.what}: {event} after {time.monotonic() - self.t0:.2f}s")

    def reset(self) -> None:
        self.t0 = time.monotonic()


def lease(name: str) -> dict[str, Any]:
    """A Lease with a value big enough that a half-written object would show."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": name * 50},
    }


class Writer:
    """Creates Leases one after another in a thread, recording which were acknowledged (201) and
    which were refused with 503 (each must then carry Retry-After)."""

    def __init__(self, http: httpx.Client, prefix: str) -> None:
        self.http = http
        self.prefix = prefix
        self.acked: list[str] = []
        self.refused: list[str] = []
        self.other: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            name = f"{self.prefix}-{i}"
            i += 1
            try:
                r = self.http.post(LEASES, json=lease(name))
            except httpx.HTTPError as e:
                self.other.append(f"{name}: {e!r}")
                continue
            if r.status_code == 201:
                self.acked.append(name)
            elif r.status_code == 503 and r.headers.get("Retry-After") == "1":
                self.refused.append(name)
            else:
                self.other.append(f"{name}: {r.status_code} {r.headers} {r.text}")

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)


def ready(http: httpx.Client) -> int:
    return http.get("/readyz", params={"verbose": "1"}).status_code


def check_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == "ServiceUnavailable"
    assert status["details"]["retryAfterSeconds"] == 1
    assert "the storage is unavailable" in status["message"]


def check_nothing_lost(http: httpx.Client, writer: Writer, before: list[str]) -> None:
    """Every acknowledged write is there, whole; a refused one is absent (SQLite rolls the batch back).
    Checked with a consistent list (from the store's current revision)."""
    assert not writer.other, writer.other
    r = http.get(LEASES)
    assert r.status_code == 200, r.text
    items = {i["metadata"]["name"]: i for i in r.json()["items"]}
    for name in before + writer.acked:
        assert name in items, f"acknowledged {name} lost"
    for name, item in items.items():
        assert item["spec"] == {"holderIdentity": name * 50}, f"{name} is not whole"


def post_until_refused(http: httpx.Client, prefix: str, acked: list[str]) -> httpx.Response:
    for i in range(10_000):
        r = http.post(LEASES, json=lease(f"{prefix}-{i}"))
        if r.status_code != 201:
            return r
        acked.append(f"{prefix}-{i}")
    raise AssertionError("the store never refused a write")


@contextlib.contextmanager
def server(tmp_path: Path, store_url: str) -> Iterator[httpx.Client]:
    handle, procs = apiserver_fixture.start(tmp_path / "skiff", store_url)
    try:
        with http_client(handle, timeout=120) as http:
            yield http
    finally:
        for p in procs:
            p.stop()


def seed(http: httpx.Client, prefix: str, n: int = 5) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        assert http.post(LEASES, json=lease(name)).status_code == 201
    return names


# ------------------------------------------------------------------------------------------ SQLite


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_sqlite_locked_by_another_process(apiserver: Any) -> None:
    db = Path(apiserver.data_dir) / "store.db"
    with http_client(apiserver, timeout=120) as http:
        before = seed(http, "before")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            clock = Clock("SQLite locked")
            with Writer(http, "during") as writer:
                wait_until(lambda: ready(http) == 500, timeout=30, what="/readyz failing")
                clock.mark("/readyz failing")
                wait_until(lambda: len(writer.refused) >= 1, timeout=60, what="a write refused with 503")
                clock.mark("first 503")
                check_unavailable(http.post(LEASES, json=lease("refused")))
                assert "[-]etcd failed" in http.get("/readyz", params={"verbose": "1"}).text
                # Reads still work: the file is readable (WAL), the lock only stops writers.
                assert http.get(f"{LEASES}/{before[0]}").status_code == 200
                assert http.get(LEASES, params={"resourceVersion": "0"}).status_code == 200
                assert http.get("/livez").status_code == 200
                assert holder.stdin is not None
                n = len(writer.acked)
                holder.stdin.close()  # the other process lets go
                assert holder.wait(30) == 0
                clock.reset()
                wait_until(lambda: len(writer.acked) > n, timeout=30, what="a write acknowledged again")
                clock.mark("lock released: first write acknowledged")
                wait_until(lambda: ready(http) == 200, timeout=30, what="/readyz passing again")
                clock.mark("lock released: /readyz passing")
                wait_until(lambda: len(writer.acked) > n + 3, timeout=30, what="writes acknowledged again")
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(5)
        check_nothing_lost(http, writer, before)
        assert http.get(f"{LEASES}/refused").status_code == 404
    assert _integrity(db) == "ok"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: a real filesystem that really fills up (needs root, as the tests run)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Write until the filesystem has not a byte left (ENOSPC at every chunk size)."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * chunk)


def test_sqlite_disk_full(tmp_path: Path, small_disk: Path) -> None:
    db = small_disk / "store.db"
    filler = small_disk / "filler"
    with server(tmp_path, f"sqlite://{db}") as http:
        before = seed(http, "before")
        fill(filler)
        clock = Clock("disk full")
        acked: list[str] = []
        check_unavailable(post_until_refused(http, "fill", acked))
        clock.mark(f"first 503 ({len(acked)} writes fitted in the remaining space)")
        with Writer(http, "during") as writer:
            wait_until(lambda: len(writer.refused) >= 3, timeout=60, what="writes refused with 503")
            wait_until(lambda: ready(http) == 500, timeout=30, what="/readyz failing")
            clock.mark("/readyz failing")
            assert http.get(f"{LEASES}/{before[0]}").status_code == 200
            assert http.get("/livez").status_code == 200
            n = len(writer.acked)
            os.remove(filler)  # space again
            clock.reset()
            wait_until(lambda: len(writer.acked) > n, timeout=30, what="a write acknowledged again")
            clock.mark("space freed: first write acknowledged")
            wait_until(lambda: ready(http) == 200, timeout=30, what="/readyz passing again")
            clock.mark("space freed: /readyz passing")
            wait_until(lambda: len(writer.acked) > n + 3, timeout=30, what="writes acknowledged again")
        check_nothing_lost(http, writer, before + acked)
    # The file is sound, and a server started again on it has everything acknowledged.
    assert _integrity(db) == "ok"
    with server(tmp_path / "again", f"sqlite://{db}") as http:
        check_nothing_lost(http, writer, before + acked)


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------ etcd


def test_etcd_without_quorum(tmp_path: Path, etcd_cluster_fresh: Any) -> None:
    cluster = etcd_cluster_fresh
    with server(tmp_path, cluster.url) as http:
        before = seed(http, "before")
        leader = cluster.leader_index()
        stopped = [cluster.members[leader], cluster.members[(leader + 1) % 3]]
        with Writer(http, "during") as writer:
            wait_until(lambda: len(writer.acked) >= 3, timeout=30, what="writes before the outage")
            for m in stopped:
                os.kill(m.proc.pid, signal.SIGSTOP)
            clock = Clock("etcd without quorum")
            try:
                wait_until(lambda: ready(http) == 500, timeout=30, what="/readyz failing")
                clock.mark("/readyz failing")
                wait_until(lambda: len(writer.refused) >= 1, timeout=90, what="a write refused with 503")
                clock.mark("first 503")
                # The watch cache still answers resourceVersion=0 reads, as Kubernetes' does.
                r = http.get(LEASES, params={"resourceVersion": "0"})
                assert r.status_code == 200
                assert {i["metadata"]["name"] for i in r.json()["items"]} >= set(before)
                assert http.get("/livez").status_code == 200
            finally:
                n = len(writer.acked)
                for m in stopped:
                    os.kill(m.proc.pid, signal.SIGCONT)
            clock.reset()
            wait_until(lambda: len(writer.acked) > n, timeout=60, what="a write acknowledged again")
            clock.mark("quorum back: first write acknowledged")
            wait_until(lambda: ready(http) == 200, timeout=60, what="/readyz passing again")
            clock.mark("quorum back: /readyz passing")
            wait_until(lambda: len(writer.acked) > n + 3, timeout=60, what="writes acknowledged again")
        # etcd may still apply a write it had accepted before losing quorum: a refused create can
        # appear later (like Kubernetes' 504), but whole; every acknowledged one is there.
        check_nothing_lost(http, writer, before)
