"""The API server killed (-9) and started again on the same store while writes go on and clients watch.

Watchers: a skiff.client informer, and the official client's watch driven the way its users drive it
(list, watch from the list's resourceVersion, watch again from the last one seen when the stream
ends, list again on 410). A writer creates, updates and deletes Leases throughout, retrying what the
restart interrupted. At the end every watcher's view equals the server's list, object for object and
resourceVersion for resourceVersion: no event lost, at most a relist on 410.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import kubernetes
import pytest
import urllib3
from kubernetes.client.rest import ApiException

from skiff.api.coordination import Lease
from skiff.client import Client
from skiff.client.informer import InformerFactory
from tests.fixtures.processes import stop_process

from ..client.util import eventually
from .helpers import http_client

NS = "default"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def lease(name: str, holder: str) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "labels": {"test": "restart"}},
        "spec": {"holderIdentity": holder},
    }


def restart(handle: Any) -> float:
    """kill -9 the (first) API server and start the same command again (same port, data dir, store);
    returns the seconds until it answered /readyz again."""
    old = handle.procs[0]
    os.kill(old.pid, signal.SIGKILL)
    old.wait(10)
    started = time.monotonic()
    log = open(os.path.join(handle.data_dir, "apiserver-restarted.log"), "ab")  # noqa: SIM115
    new = subprocess.Popen(old.args, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    handle.procs[0] = new
    with http_client(handle) as http:
        while True:
            assert new.poll() is None, "the restarted API server exited"
            try:
                if http.get("/readyz").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)


class Writer:
    """Creates lease i, updates every third one, deletes every fifth, retrying through the restart (a
    retried create that meets AlreadyExists, a retried delete that meets NotFound, were applied)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.stop = threading.Event()
        self.done = 0
        self.retries = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def call(self, fn: Callable[[], httpx.Response], ok: tuple[int, ...]) -> None:
        while True:
            try:
                r = fn()
                if r.status_code in ok:
                    return
                assert r.status_code in (503, 504), r.text
            except httpx.HTTPError:
                pass
            self.retries += 1
            time.sleep(0.1)

    def run(self) -> None:
        with http_client(self.handle) as http:
            i = 0
            while not self.stop.is_set():
                self.step(http, i)
                self.done += 1
                i += 1

    def step(self, http: httpx.Client, i: int) -> None:
        name = f"l{i}"
        self.call(lambda: http.post(LEASES, json=lease(name, "a")), (201, 409))
        if i % 3 == 0:
            patch = {"spec": {"holderIdentity": f"b{i}"}}
            headers = {"Content-Type": "application/merge-patch+json"}
            self.call(lambda: http.patch(f"{LEASES}/{name}", json=patch, headers=headers), (200,))
        if i % 5 == 0:
            self.call(lambda: http.delete(f"{LEASES}/{name}"), (200, 404))


class OfficialWatcher:
    """The official client's list + watch loop, as its users write it."""

    def __init__(self, kubeconfig: str) -> None:
        self.api = kubernetes.client.CoordinationV1Api(
            kubernetes.config.new_client_from_config(config_file=kubeconfig)
        )
        self.state: dict[str, str] = {}
        self.rv = ""
        self.relists = 0
        self.rewatches = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def relist(self) -> None:
        res = self.api.list_namespaced_lease(NS, label_selector="test=restart")
        self.state = {i.metadata.name: i.metadata.resource_version for i in res.items}
        self.rv = res.metadata.resource_version
        self.relists += 1

    def run(self) -> None:
        need_list = True
        while not self.stop.is_set():
            try:
                if need_list:
                    self.relist()
                    need_list = False
                w = kubernetes.watch.Watch()
                for ev in w.stream(
                    self.api.list_namespaced_lease,
                    NS,
                    label_selector="test=restart",
                    resource_version=self.rv,
                    allow_watch_bookmarks=True,
                    timeout_seconds=5,
                ):
                    obj = ev["object"]
                    if ev["type"] == "ERROR":
                        need_list = obj.get("code") == 410 if isinstance(obj, dict) else True
                        break
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        self.state[obj.metadata.name] = obj.metadata.resource_version
                    elif ev["type"] == "DELETED":
                        self.state.pop(obj.metadata.name, None)
                    self.rv = obj.metadata.resource_version
                    if self.stop.is_set():
                        break
                self.rewatches += 1
            except ApiException as e:
                need_list = e.status == 410
                time.sleep(0.2)
            except (urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.2)  # the server is gone for now: watch again from the same resourceVersion


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


def server_state(handle: Any) -> dict[str, str]:
    with http_client(handle) as http:
        items = http.get(LEASES, params={"labelSelector": "test=restart"}).json()["items"]
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}


@pytest.fixture
def stop_restarted(apiserver: Any) -> Iterator[None]:
    """The fixture stops the server it started; the replacement started by restart() is ours to stop."""
    first = apiserver.procs[0]
    yield
    current = apiserver.procs[0]
    if current is not first:
        stop_process(current)


@pytest.mark.parametrize("apiserver", ["sqlite", "etcd"], indirect=True)
@pytest.mark.usefixtures("stop_restarted")
async def test_every_watcher_catches_up_after_a_restart(apiserver: Any, client: Client) -> None:
    factory = InformerFactory(client)
    informer = factory.informer(Lease, NS, label_selector="test=restart")
    factory.start()
    await factory.wait_for_sync()
    official = OfficialWatcher(apiserver.kubeconfig)
    official.thread.start()
    writer = Writer(apiserver)
    writer.thread.start()
    try:
        await eventually(lambda: writer.done >= 30, timeout=60, what="writes before the restart")
        took = await asyncio.to_thread(restart, apiserver)
        print(f"API server ready again {took:.2f}s after kill -9")
        done = writer.done
        await eventually(lambda: writer.done >= done + 30, timeout=60, what="writes after the restart")
    finally:
        writer.stop.set()
        await asyncio.to_thread(writer.thread.join, 60)
    final = await asyncio.to_thread(server_state, apiserver)
    assert len(final) > 40

    def informer_view() -> dict[str, str]:
        return {o.metadata.name or "": o.metadata.resource_version or "" for o in informer.list()}

    try:
        await eventually(lambda: informer_view() == final, timeout=60, what="the informer caught up")
        await eventually(lambda: official.state == final, timeout=60, what="the official watch caught up")
    finally:
        official.stop.set()
        await factory.stop()
        await asyncio.to_thread(official.thread.join, 30)
    print(
        f"informer relists on 410: {informer.relists_expired}, official client lists: {official.relists},"
        f" writer retries: {writer.retries}, objects: {len(final)}"
    )
    # The restart costs at most one relist each (a 410 for a resourceVersion the new cache lacks).
    assert informer.relists_expired <= 1
    assert official.relists <= 2  # the first list, then at most one on 410
