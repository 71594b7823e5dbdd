"""Informers against a live API server: sync, handlers, indexes, watch resumption, relist on 410."""

from __future__ import annotations

import subprocess
from typing import Any

from skiff.api.core import Namespace, Pod
from skiff.api.meta import ObjectMeta
from skiff.client import Client
from skiff.client.informer import Informer, InformerFactory, key_of
from tests.fixtures.processes import stop_process

from .util import eventually, pod, unique


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def add(self, p: Pod) -> None:
        self.events.append(("add", p.metadata.name or ""))

    def update(self, old: Pod, new: Pod) -> None:
        assert key_of(old) == key_of(new)
        self.events.append(("update", new.metadata.name or ""))

    async def delete(self, p: Pod) -> None:  # coroutine handlers are awaited too
        self.events.append(("delete", p.metadata.name or ""))

    def attach(self, inf: Informer[Pod]) -> None:
        inf.add_handler(on_add=self.add, on_update=self.update, on_delete=self.delete)


def by_node(p: Pod) -> list[str]:
    return [p.spec.node_name] if p.spec.node_name else []


async def test_sync_handlers_and_indexes(client: Client, ns: str) -> None:
    await client.create(pod("a", ns, node="n1"))
    await client.create(pod("b", ns, node="n2"))
    inf = Informer(client, Pod, ns, indexers={"node": by_node})
    rec = Recorder()
    rec.attach(inf)
    assert not inf.has_synced
    inf.start()
    try:
        assert await inf.wait_for_sync(timeout=30)
        assert sorted(rec.events) == [("add", "a"), ("add", "b")]
        assert inf.get("a", ns) is not None and inf.get_by_key(f"{ns}/b") is not None
        assert [p.metadata.name for p in inf.by_index("node", "n1")] == ["a"]

        await client.create(pod("c", ns, node="n1"))
        await client.patch(Pod, "a", {"metadata": {"labels": {"x": "1"}}}, ns)
        await client.delete(Pod, "b", ns, grace_period_seconds=0)
        await eventually(lambda: len(rec.events) == 5, what="three more events")
        assert rec.events[2:] == [("add", "c"), ("update", "a"), ("delete", "b")]
        assert sorted(p.metadata.name or "" for p in inf.by_index("node", "n1")) == ["a", "c"]
        assert inf.by_index("node", "n2") == []
        a = inf.get("a", ns)
        assert a is not None and a.metadata.labels == {"x": "1"}
        assert sorted(inf.keys()) == [f"{ns}/a", f"{ns}/c"]

        # A handler added after the sync first sees every cached object as an add.
        late = Recorder()
        late.attach(inf)
        await eventually(lambda: sorted(late.events) == [("add", "a"), ("add", "c")], what="replay")
    finally:
        await inf.stop()


async def test_selectors_limit_the_cache(client: Client, ns: str) -> None:
    await client.create(pod("on-n1", ns, node="n1"))
    await client.create(pod("on-n2", ns, node="n2"))
    await client.create(pod("labelled", ns, labels={"team": "a"}))
    by_field = Informer(client, Pod, ns, field_selector={"spec.nodeName": "n1"})
    by_label = Informer(client, Pod, None, label_selector="team=a")
    by_field.start()
    by_label.start()
    try:
        assert await by_field.wait_for_sync(30) and await by_label.wait_for_sync(30)
        assert by_field.keys() == [f"{ns}/on-n1"]
        assert f"{ns}/labelled" in by_label
        assert all((p.metadata.labels or {}).get("team") == "a" for p in by_label.list())
    finally:
        await by_field.stop()
        await by_label.stop()


async def test_resumes_when_the_server_ends_watches(client: Client, ns: str) -> None:
    # The server ends each watch after one second; the informer resumes from the last
    # resourceVersion it saw, so nothing is missed and nothing is delivered twice.
    inf = Informer(client, Pod, ns, watch_timeout=(1, 1))
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    try:
        assert await inf.wait_for_sync(30)
        for i in range(6):
            await client.create(pod(f"p{i}", ns))
            if i % 2:
                await eventually(lambda n=inf.watches: inf.watches > n, what="a new watch")
        await eventually(lambda: len(rec.events) == 6, what="six adds")
        assert rec.events == [("add", f"p{i}") for i in range(6)]
        assert inf.watches >= 3 and inf.lists == 1 and inf.relists_expired == 0
    finally:
        await inf.stop()


async def test_relists_when_its_resource_version_is_too_old(client: Client, ns: str) -> None:
    await client.create(pod("stays", ns))
    await client.create(pod("goes", ns))
    await client.create(pod("changes", ns))
    inf = Informer(client, Pod, ns)
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    assert await inf.wait_for_sync(30)
    await inf.stop()

    # While the informer is away, the world changes and its resume point falls out of the server's
    # history (as after a compaction): the watch is refused with 410 and the informer relists,
    # turning the differences into handler calls.
    await client.delete(Pod, "goes", ns, grace_period_seconds=0)
    await client.create(pod("new", ns))
    await client.patch(Pod, "changes", {"metadata": {"labels": {"v": "2"}}}, ns)
    inf.resource_version = "1"
    rec.events.clear()
    inf.start()
    try:
        await eventually(lambda: len(rec.events) == 3, what="relist differences")
        assert sorted(rec.events) == [("add", "new"), ("delete", "goes"), ("update", "changes")]
        assert inf.relists_expired == 1 and inf.lists == 2
        assert sorted(inf.keys()) == sorted(f"{ns}/{n}" for n in ("stays", "changes", "new"))

        # And it keeps watching from the new list's resourceVersion.
        await client.create(pod("after", ns))
        await eventually(lambda: ("add", "after") in rec.events, what="watch after relist")
    finally:
        await inf.stop()


async def test_survives_an_api_server_restart(apiserver: Any) -> None:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
        ns = unique("rs")
        await client.create(Namespace(metadata=ObjectMeta(name=ns)))
        await client.create(pod("before", ns))
        inf = Informer(client, Pod, ns)
        rec = Recorder()
        rec.attach(inf)
        inf.start()
        try:
            assert await inf.wait_for_sync(30)
            # Restart the API server on the same port and data dir: the watch breaks, the informer
            # retries with backoff, then resumes (or relists) and catches up.
            proc = apiserver.procs[0]
            args = proc.args
            proc.terminate()
            proc.wait(10)
            restarted = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            apiserver.procs[0] = restarted
            try:

                async def created() -> bool:
                    try:
                        await client.create(pod("after", ns))
                    except Exception:
                        return False
                    return True

                await eventually(created, timeout=60, interval=0.2, what="server back")
                await eventually(lambda: ("add", "after") in rec.events, what="event after restart")
                assert [e for e in rec.events if e[0] == "add"] == [("add", "before"), ("add", "after")]
            finally:
                await inf.stop()
                await client.aclose()
                stop_process(restarted, 15)
        finally:
            await inf.stop()


async def test_factory_shares_informers(client: Client, ns: str) -> None:
    factory = InformerFactory(client)
    a = factory.informer(Pod, ns)
    b = factory.informer(Pod, ns, indexers={"node": by_node})
    assert a is b
    await client.create(pod("x", ns, node="n9"))
    factory.start()
    try:
        assert await factory.wait_for_sync(30)
        assert [p.metadata.name for p in a.by_index("node", "n9")] == ["x"]
    finally:
        await factory.stop()
