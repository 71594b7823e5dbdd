"""One conformance suite for every store backend (parametrized in conftest.py): etcd's semantics as the
API server relies on them. Keys live under ``backend.prefix`` so backends may be shared between tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from skiff.store import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
    TooLargeError,
)
from skiff.store.base import MAX_KEY_BYTES, MAX_VALUE_BYTES
from tests.store.conftest import Backend


async def collect(it: AsyncIterator[list[Event]], n: int) -> list[Event]:
    """The next ``n`` events of a watch (waits as long as needed; the test timeout bounds it)."""
    out: list[Event] = []
    while len(out) < n:
        out.extend(await anext(it))
    assert len(out) == n, f"watch delivered more events than expected: {out[n:]}"
    return out


async def test_create_get_update_delete(backend: Backend, store: Store) -> None:
    p = backend.prefix
    start = await store.current_revision()
    kv = await store.create(p + "pods/default/web", b'{"a":1}')
    assert kv.mod_revision == kv.create_revision == start + 1
    assert await store.current_revision() == start + 1
    got = await store.get(p + "pods/default/web")
    assert got == kv

    kv2 = await store.update(p + "pods/default/web", b'{"a":2}', kv.mod_revision)
    assert kv2.value == b'{"a":2}'
    assert kv2.create_revision == kv.create_revision
    assert kv2.mod_revision == start + 2
    assert await store.get(p + "pods/default/web") == kv2

    deleted = await store.delete(p + "pods/default/web", kv2.mod_revision)
    assert deleted.value == b'{"a":2}'
    assert deleted.mod_revision == start + 3
    assert await store.get(p + "pods/default/web") is None
    assert await store.current_revision() == start + 3

    # A key can be created again after deletion; it gets a new create revision.
    kv3 = await store.create(p + "pods/default/web", b"again")
    assert kv3.create_revision == start + 4


async def test_errors_of_create_update_delete(backend: Backend, store: Store) -> None:
    p = backend.prefix
    kv = await store.create(p + "k", b"v")
    with pytest.raises(KeyExistsError):
        await store.create(p + "k", b"other")
    with pytest.raises(KeyNotFoundError):
        await store.update(p + "missing", b"v", 1)
    with pytest.raises(KeyNotFoundError):
        await store.delete(p + "missing")
    kv2 = await store.update(p + "k", b"v2", kv.mod_revision)
    with pytest.raises(ConflictError) as info:
        await store.update(p + "k", b"v3", kv.mod_revision)
    assert info.value.current == kv2
    with pytest.raises(ConflictError):
        await store.delete(p + "k", kv.mod_revision)
    # Failed writes do not move the revision.
    rev = await store.current_revision()
    with pytest.raises(KeyExistsError):
        await store.create(p + "k", b"other")
    assert await store.current_revision() == rev
    assert await store.get(p + "k") == kv2
    # An unguarded delete works.
    await store.delete(p + "k")
    assert await store.get(p + "k") is None


async def test_cas_race_exactly_one_writer_wins(backend: Backend, store: Store) -> None:
    p = backend.prefix
    keys = [f"{p}race/{i}" for i in range(20)]
    kvs = [await store.create(k, b"0") for k in keys]
    for _round in range(3):
        attempts = []
        for kv in kvs:
            for writer in ("a", "b"):
                attempts.append(store.update(kv.key, writer.encode(), kv.mod_revision))
        results = await asyncio.gather(*attempts, return_exceptions=True)
        new_kvs = []
        for i, kv in enumerate(kvs):
            pair = results[2 * i : 2 * i + 2]
            wins = [r for r in pair if not isinstance(r, BaseException)]
            losses = [r for r in pair if isinstance(r, BaseException)]
            assert len(wins) == 1, pair
            assert len(losses) == 1 and isinstance(losses[0], ConflictError), pair
            stored = await store.get(kv.key)
            assert stored == wins[0]
            new_kvs.append(stored)
        kvs = new_kvs
    # Two creates of one key: exactly one wins too.
    results = await asyncio.gather(
        store.create(p + "race/new", b"a"), store.create(p + "race/new", b"b"), return_exceptions=True
    )
    assert sum(isinstance(r, KeyExistsError) for r in results) == 1


async def test_range_prefix_limit_and_continue(backend: Backend, store: Store) -> None:
    p = backend.prefix
    for i in range(25):
        await store.create(f"{p}pods/ns/pod-{i:02d}", f"v{i}".encode())
    await store.create(f"{p}pods/ns0/other", b"x")  # shares the prefix "pods/ns" but not "pods/ns/"
    await store.create(f"{p}podsx", b"x")
    full = await store.range(p + "pods/ns/")
    assert [kv.key for kv in full.kvs] == [f"{p}pods/ns/pod-{i:02d}" for i in range(25)]
    assert not full.more
    assert full.revision == await store.current_revision()
    assert await store.count(p + "pods/ns/") == 25
    assert await store.count(p + "pods/") == 26

    pages = []
    after = None
    while True:
        page = await store.range(p + "pods/ns/", start_after=after, limit=10, revision=full.revision)
        pages.append(page)
        if not page.more:
            break
        after = page.kvs[-1].key
    assert [len(pg.kvs) for pg in pages] == [10, 10, 5]
    assert [kv for pg in pages for kv in pg.kvs] == full.kvs
    assert all(pg.revision == full.revision for pg in pages)
    # An exact fit has no more.
    exact = await store.range(p + "pods/ns/", limit=25)
    assert len(exact.kvs) == 25 and not exact.more


async def test_range_and_get_at_a_past_revision(backend: Backend, store: Store) -> None:
    p = backend.prefix
    a = await store.create(p + "a", b"a1")
    b = await store.create(p + "b", b"b1")
    before = await store.current_revision()
    a2 = await store.update(p + "a", b"a2", a.mod_revision)
    await store.delete(p + "b")
    c = await store.create(p + "c", b"c1")

    old = await store.range(p, revision=before)
    assert old.kvs == [a, b]
    assert old.revision == before
    now = await store.range(p)
    assert now.kvs == [a2, c]
    assert await store.get(p + "a", revision=before) == a
    assert await store.get(p + "b", revision=before) == b
    assert await store.get(p + "c", revision=before) is None
    assert await store.get(p + "b") is None
    # Paging at a past revision.
    page = await store.range(p, revision=before, limit=1)
    assert page.kvs == [a] and page.more
    page = await store.range(p, revision=before, limit=1, start_after=p + "a")
    assert page.kvs == [b] and not page.more
    with pytest.raises(FutureRevisionError):
        await store.range(p, revision=await store.current_revision() + 10)


async def test_watch_history_then_live_in_order_with_prev_kv(backend: Backend, store: Store) -> None:
    p = backend.prefix
    a = await store.create(p + "w/a", b"1")
    await store.create(p + "other/x", b"not watched")
    a2 = await store.update(p + "w/a", b"2", a.mod_revision)
    it = aiter(store.watch(p + "w/", a.mod_revision))
    try:
        history = await collect(it, 2)
        assert [(e.type, e.kv) for e in history] == [("PUT", a), ("PUT", a2)]
        assert history[0].prev_kv is None
        assert history[1].prev_kv == a

        b = await store.create(p + "w/b", b"b")
        deleted = await store.delete(p + "w/a")
        live = await collect(it, 2)
        assert live[0].type == "PUT" and live[0].kv == b and live[0].prev_kv is None
        assert live[1].type == "DELETE"
        assert live[1].kv.key == p + "w/a"
        assert live[1].kv.mod_revision == deleted.mod_revision
        assert live[1].prev_kv == a2
        assert live[1].revision == deleted.mod_revision
    finally:
        await it.aclose()  # type: ignore[attr-defined]


async def test_watch_from_the_future_and_from_now(backend: Backend, store: Store) -> None:
    p = backend.prefix
    rev = await store.current_revision()
    it = aiter(store.watch(p, rev + 1))
    try:
        first = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)
        kv = await store.create(p + "x", b"1")
        events = await first
        assert [e.kv for e in events] == [kv]
    finally:
        await it.aclose()  # type: ignore[attr-defined]


async def test_watch_during_concurrent_writes_misses_and_repeats_nothing(
    backend: Backend, store: Store
) -> None:
    p = backend.prefix
    n = 300
    start = await store.current_revision() + 1

    async def writer(w: int) -> None:
        for i in range(n // 3):
            await store.create(f"{p}c/{w}-{i}", b"x")

    writers = [asyncio.create_task(writer(w)) for w in range(3)]
    await asyncio.sleep(0.02)
    # Started while writes go on: the history part and the live part must join without a gap.
    it = aiter(store.watch(p + "c/", start))
    try:
        events = await collect(it, n)
        await asyncio.gather(*writers)
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    revs = [e.revision for e in events]
    assert revs == sorted(revs) and len(set(revs)) == n
    assert sorted(e.kv.key for e in events) == sorted(
        f"{p}c/{w}-{i}" for w in range(3) for i in range(n // 3)
    )


async def test_watch_resumes_from_the_last_revision_seen(backend: Backend, store: Store) -> None:
    p = backend.prefix
    kvs = [await store.create(f"{p}r/{i}", b"x") for i in range(10)]
    it = aiter(store.watch(p + "r/", kvs[0].mod_revision))
    got = list(await anext(it))  # the first batch, however long, then the watch breaks
    await it.aclose()  # type: ignore[attr-defined]
    more = [await store.create(f"{p}r/{i}", b"x") for i in range(10, 15)]
    it = aiter(store.watch(p + "r/", got[-1].revision + 1))
    try:
        rest = await collect(it, 15 - len(got))
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert [e.kv for e in got + rest] == kvs + more


async def test_compaction(backend: Backend, store: Store) -> None:
    p = backend.prefix
    a = await store.create(p + "a", b"1")
    await store.create(p + "b", b"1")
    a2 = await store.update(p + "a", b"2", a.mod_revision)
    deleted = await store.delete(p + "b")
    c = await store.create(p + "c", b"1")
    target = deleted.mod_revision
    await store.compact(target)
    assert await store.compacted_revision() >= target

    with pytest.raises(CompactedError) as info:
        await store.range(p, revision=a.mod_revision)
    assert info.value.compacted >= target
    with pytest.raises(CompactedError):
        await store.get(p + "a", revision=a2.mod_revision - 1)
    it = aiter(store.watch(p, a.mod_revision))
    with pytest.raises(CompactedError):
        await anext(it)

    # At and after the compacted revision everything still reads.
    assert (await store.range(p, revision=target)).kvs == [a2]
    assert (await store.range(p)).kvs == [a2, c]
    deleted_a = await store.delete(p + "a")
    # (etcd drops a tombstone at the compacted revision itself, so watch from the one after.)
    it = aiter(store.watch(p, target + 1))
    try:
        events = await collect(it, 2)
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert [e.type for e in events] == ["PUT", "DELETE"]
    assert events[0].kv == c
    assert events[1].kv.mod_revision == deleted_a.mod_revision
    assert events[1].prev_kv == a2  # the last version below the compacted revision is kept


async def test_size_limits(backend: Backend, store: Store) -> None:
    p = backend.prefix
    with pytest.raises(TooLargeError, match="key"):
        await store.create(p + "k" * MAX_KEY_BYTES, b"v")
    with pytest.raises(TooLargeError, match="value"):
        await store.create(p + "big", b"x" * (MAX_VALUE_BYTES + 1))
    kv = await store.create(p + "big", b"x" * (1024 * 1024))
    with pytest.raises(TooLargeError):
        await store.update(p + "big", b"x" * (MAX_VALUE_BYTES + 1), kv.mod_revision)
    assert await store.get(p + "big") == kv


async def test_restart_keeps_revision_and_data(backend: Backend) -> None:
    p = backend.prefix
    s = backend.open()
    await s.start()
    try:
        kv = await s.create(p + "persist", b"v")
        rev = await s.current_revision()
    finally:
        await s.close()
    backend.restart_service()
    s = backend.open()
    await s.start()
    try:
        assert await s.current_revision() == rev
        assert await s.get(p + "persist") == kv
        kv2 = await s.create(p + "persist2", b"v")
        assert kv2.mod_revision == rev + 1
    finally:
        await s.close()


async def test_random_histories_match_a_model(backend: Backend, store: Store) -> None:
    """Random creates/updates/deletes and compactions; every revision still readable answers exactly as a
    plain model of the history does (range, paged range, get, and watch from there)."""
    import random

    p = backend.prefix + "model/"
    rng = random.Random(2024)
    state: dict[str, KeyValue] = {}
    history: dict[int, dict[str, KeyValue]] = {}
    events: list[tuple[int, str, str]] = []  # (revision, type, key)
    first = await store.current_revision()
    history[first] = {}
    compacted = first
    for step in range(150):
        key = f"{p}{rng.randrange(12):02d}"
        op = rng.random()
        if key not in state:
            kv = await store.create(key, f"c{step}".encode())
            state[key] = kv
            events.append((kv.mod_revision, "PUT", key))
        elif op < 0.6:
            kv = await store.update(key, f"u{step}".encode(), state[key].mod_revision)
            state[key] = kv
            events.append((kv.mod_revision, "PUT", key))
        else:
            kv = await store.delete(key, state[key].mod_revision)
            del state[key]
            events.append((kv.mod_revision, "DELETE", key))
        history[kv.mod_revision] = dict(state)
        if step % 50 == 49:
            compacted = kv.mod_revision - 20
            await store.compact(compacted)
    for rev, snapshot in history.items():
        if rev < compacted:
            with pytest.raises(CompactedError):
                await store.range(p, revision=rev)
            continue
        expected = [snapshot[k] for k in sorted(snapshot)]
        assert (await store.range(p, revision=rev)).kvs == expected, rev
        paged: list[KeyValue] = []
        after = None
        while True:
            page = await store.range(p, revision=rev, limit=3, start_after=after)
            paged.extend(page.kvs)
            if not page.more:
                break
            after = page.kvs[-1].key
        assert paged == expected
        for k in (f"{p}00", f"{p}05"):
            assert await store.get(k, revision=rev) == snapshot.get(k)
    start = compacted + 1
    want = [(r, t, k) for r, t, k in events if r >= start]
    it = aiter(store.watch(p, start))
    try:
        got = await collect(it, len(want))
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert [(e.revision, e.type, e.kv.key) for e in got] == want
    for e in got:
        if e.type == "DELETE" or e.kv.create_revision != e.kv.mod_revision:
            assert e.prev_kv is not None and e.prev_kv == history[e.prev_kv.mod_revision][e.kv.key]
        else:
            assert e.prev_kv is None
