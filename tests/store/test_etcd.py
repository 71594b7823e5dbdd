"""etcd-only behaviour against a real 3-member cluster: a member dies during writes and watches."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from skiff.store import ConflictError, Event, Store, StoreError, StoreUnavailableError, open_store
from skiff.store.etcd import EtcdStore
from tests.fixtures.etcd import EtcdCluster, free_port


async def test_killing_the_leader_during_writes_loses_no_acknowledged_write(
    etcd_cluster_fresh: EtcdCluster,
) -> None:
    cluster = etcd_cluster_fresh
    store = open_store(cluster.url, "/unused")
    await store.start()
    acked: dict[str, int] = {}
    failed = 0
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        nonlocal failed
        i = 0
        while not stop.is_set():
            key = f"/registry/k/{w}-{i}"
            i += 1
            try:
                kv = await store.create(key, b"v" * 100)
            except StoreError:
                failed += 1  # not acknowledged: may or may not be stored
                continue
            acked[key] = kv.mod_revision

    writers = [asyncio.create_task(writer(w)) for w in range(16)]
    try:
        while len(acked) < 300:
            await asyncio.sleep(0.01)
        leader = cluster.leader_index()
        await asyncio.to_thread(cluster.kill, leader)
        at_kill = len(acked)
        # Writes go on with two members.
        while len(acked) < at_kill + 500:
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.gather(*writers)
        await store.close()

    # Read back through the surviving members only.
    alive = [m.endpoint for m in cluster.members if m.alive()]
    check = open_store("etcd://" + ",".join(alive), "/unused")
    await check.start()
    try:
        stored = {kv.key: kv.mod_revision for kv in (await check.range("/registry/k/")).kvs}
    finally:
        await check.close()
    lost = {k: r for k, r in acked.items() if stored.get(k) != r}
    assert not lost, f"{len(lost)} acknowledged writes lost (of {len(acked)}; {failed} failed)"


async def test_watch_resumes_across_member_deaths_without_loss_or_repeats(
    etcd_cluster_fresh: EtcdCluster,
) -> None:
    cluster = etcd_cluster_fresh
    store = open_store(cluster.url, "/unused")
    await store.start()
    start = await store.current_revision() + 1
    events: list[Event] = []
    written: list[int] = []

    async def watcher() -> None:
        async for batch in store.watch("/registry/w/", start):
            events.extend(batch)

    async def writer() -> None:
        i = 0
        while True:
            try:
                kv = await store.create(f"/registry/w/{i}", b"x")
                written.append(kv.mod_revision)
            except StoreError:
                pass  # not acknowledged; it may still show up in the watch
            i += 1
            await asyncio.sleep(0.002)

    w = asyncio.create_task(watcher())
    wr = asyncio.create_task(writer())
    try:
        # Every member dies once, so whichever member serves the watch stream goes away.
        for i in range(len(cluster.members)):
            n = len(written)
            while len(written) < n + 50:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(cluster.kill, i)
            n = len(written)
            while len(written) < n + 50:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(cluster.restart, i)
        wr.cancel()
        last = await store.current_revision()
        while not events or events[-1].revision < last:
            await asyncio.sleep(0.01)
    finally:
        wr.cancel()
        w.cancel()
        await asyncio.gather(w, wr, return_exceptions=True)
        await store.close()
    revs = [e.revision for e in events]
    assert revs == sorted(set(revs)), "events repeated or out of order"
    assert set(written) <= set(revs), "acknowledged writes missing from the watch"
    # Nothing else writes under the prefix, so the events are exactly the revisions in between.
    assert revs == list(range(start, revs[-1] + 1))


async def test_a_write_forwarded_to_a_leader_that_stops_answering_is_retried_elsewhere(
    etcd_cluster_fresh: EtcdCluster,
) -> None:
    """A follower forwards a write to its leader; when the leader hangs (here: SIGSTOP; a leader that
    dies the same), etcd fails that write only after its own request timeout (5 s + two election
    timeouts), long after the others elected a new leader. The store gives each attempt a short
    timeout and retries on the next member, so the write lands within the store's retry window
    (10 s here: waiting for etcd's timeout, then on the hung leader, would take longer)."""
    cluster = etcd_cluster_fresh
    leader = cluster.leader_index()
    followers = [m for i, m in enumerate(cluster.members) if i != leader]
    # First a follower (the write goes there and is forwarded), then the leader, then the other.
    order = [followers[0], cluster.members[leader], followers[1]]
    store = EtcdStore([("127.0.0.1", m.client_port) for m in order], retry_for=10.0)
    await store.start()
    hung = cluster.members[leader].proc
    assert hung is not None
    try:
        await store.create("/forwarded/warm", b"x")
        hung.send_signal(signal.SIGSTOP)
        kv = await store.create("/forwarded/k", b"v")
        assert (await store.get("/forwarded/k")) == kv
    finally:
        hung.send_signal(signal.SIGCONT)
        await store.close()


async def test_unreachable_etcd_is_one_readable_error() -> None:
    port = free_port()
    store = EtcdStore([("127.0.0.1", port)], connect_timeout=0.5)
    t = time.monotonic()
    with pytest.raises(StoreUnavailableError) as info:
        await store.start()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "\n" not in str(info.value)
    assert time.monotonic() - t < 30  # it gives up instead of hanging (generous bound, not a speed test)


async def test_a_dead_member_in_the_endpoint_list_is_routed_around(etcd_single: EtcdCluster) -> None:
    dead = free_port()
    store = open_store(f"etcd://127.0.0.1:{dead},{etcd_single.endpoints[0]}", "/unused")
    await store.start()
    try:
        for i in range(20):
            await store.create(f"/routed/{i}", b"x")
        assert await store.count("/routed/") == 20
    finally:
        await store.close()


async def test_automatic_compaction(etcd_single: EtcdCluster) -> None:
    store = open_store(etcd_single.url + "?compact_interval=0.05&compact_retain=5", "/unused")
    await store.start()
    try:
        kv = await store.create("/auto/a", b"0")
        for i in range(20):
            kv = await store.update("/auto/a", str(i).encode(), kv.mod_revision)
        target = kv.mod_revision - 5
        while await store.compacted_revision() < target:  # the compactor runs every 50 ms
            await asyncio.sleep(0.05)
        assert await store.get("/auto/a", revision=target) is not None
    finally:
        await store.close()


class _LoseFirstReply:
    """Wraps the store's real KV stub: the first Txn is applied by etcd but its reply is replaced by
    UNAVAILABLE, as when a member dies between applying a write and answering."""

    def __init__(self, stub: object) -> None:
        self.stub = stub
        self.lost = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.stub, name)

    async def Txn(self, req: object, **kw: object) -> object:
        import grpc

        resp = await self.stub.Txn(req, **kw)  # type: ignore[attr-defined]
        if not self.lost:
            self.lost += 1
            md = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, md, md, "connection reset (injected)")
        return resp


async def test_a_write_applied_but_unanswered_is_recognised_on_retry(etcd_single: EtcdCluster) -> None:
    store = open_store(etcd_single.url, "/unused")
    await store.start()
    assert isinstance(store, EtcdStore)
    try:
        for op in ("create", "update", "delete"):
            if op != "create":
                kv = await store.get("/ambiguous/k")
                assert kv is not None
            before = await store.current_revision()
            store._kv = _LoseFirstReply(store._kv)
            if op == "create":
                result = await store.create("/ambiguous/k", b"v1")
                assert (result.value, result.create_revision) == (b"v1", before + 1)
            elif op == "update":
                result = await store.update("/ambiguous/k", b"v2", kv.mod_revision)
                assert (result.value, result.create_revision) == (b"v2", kv.create_revision)
            else:
                result = await store.delete("/ambiguous/k", kv.mod_revision)
                assert result.value == b"v2"
                assert await store.get("/ambiguous/k") is None
            assert store._kv.lost == 1
            assert result.mod_revision == before + 1 == await store.current_revision()
            store._kv = store._kv.stub
    finally:
        await store.close()


async def test_watch_follows_the_store_to_a_new_endpoint_and_outlives_the_old_channel(
    etcd_cluster: EtcdCluster,
) -> None:
    # A request that fails over (here forced) moves the store to the next member and closes the old
    # channel 5 s later; closing it cancels its streams, which once ended the watch for good (seen
    # under fault injection: an API server's watch cache stopped while writes went on).
    store = open_store(etcd_cluster.url, "/unused")
    await store.start()
    assert isinstance(store, EtcdStore)
    start = await store.current_revision() + 1
    events: list[Event] = []

    async def watcher() -> None:
        async for batch in store.watch("/registry/moved/", start):
            events.extend(batch)

    w = asyncio.create_task(watcher())
    try:
        await store.create("/registry/moved/before", b"x")
        store._failover(store._gen)
        await asyncio.sleep(6.0)  # past the old channel's 5 s grace
        kv = await store.create("/registry/moved/after", b"x")
        deadline = time.monotonic() + 30
        while not any(e.kv.key.endswith("/after") for e in events) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not w.done(), "the watch ended"
        assert [e.kv.key for e in events] == ["/registry/moved/before", "/registry/moved/after"]
        assert events[-1].revision == kv.mod_revision
    finally:
        w.cancel()
        await asyncio.gather(w, return_exceptions=True)
        await store.close()


class _ApplyThenFail:
    """The store's KV stub with one injected fault: the next Txn is applied by etcd, then another
    client's write lands, then the call fails as UNAVAILABLE (a reply lost with its member).
    With ``apply=False`` the Txn is lost before reaching etcd instead."""

    def __init__(self, kv: Any, meanwhile: Callable[[], Awaitable[object]], apply: bool = True) -> None:
        self.kv = kv
        self.meanwhile = meanwhile
        self.apply = apply

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kv, name)

    async def Txn(self, req: Any, timeout: float | None = None) -> Any:
        if self.apply:
            await self.kv.Txn(req, timeout=timeout)
        await self.meanwhile()
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "injected"
        )


@pytest.mark.parametrize("applied", [True, False])
async def test_an_ambiguous_update_overwritten_at_once_is_told_apart(
    etcd_cluster: EtcdCluster, applied: bool
) -> None:
    # Found by the linearizability check under fault injection: an update applied whose reply was lost,
    # overwritten by another client before the retry, was answered as a conflict (so a CAS reported
    # failure for a write that happened, and an unconditional PUT was applied twice).
    store, other = open_store(etcd_cluster.url, "/unused"), open_store(etcd_cluster.url, "/unused")
    await store.start()
    await other.start()
    assert isinstance(store, EtcdStore)
    key = f"/registry/ambiguous/{applied}"
    try:
        first = await store.create(key, b"v0")
        store._kv = _ApplyThenFail(store._kv, lambda: overwrite(other, key), apply=applied)
        if applied:
            kv = await store.update(key, b"mine", first.mod_revision)
            assert kv.value == b"mine" and kv.mod_revision == first.mod_revision + 1
        else:
            with pytest.raises(ConflictError):
                await store.update(key, b"mine", first.mod_revision)
        assert (await store.get(key)).value == b"theirs"  # type: ignore[union-attr]
    finally:
        await store.close()
        await other.close()


async def overwrite(store: Store, key: str) -> None:
    cur = await store.get(key)
    assert cur is not None
    await store.update(key, b"theirs", cur.mod_revision)
