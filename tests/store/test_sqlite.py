"""SQLite-only behaviour: durability of acknowledged writes across kill -9, automatic compaction."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skiff.store import CompactedError, KeyValue, open_store
from skiff.store.etcd import EtcdStore
from skiff.store.sqlite import SQLiteStore, prefix_end

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from skiff.store.sqlite import SQLiteStore

    async def main() -> None:
        store = SQLiteStore(sys.argv[1], compact_interval=0)
        await store.start()
        async def writer(w: int) -> None:
            i = 0
            while True:
                kv = await store.create(f"/registry/k/{w}-{i}", b"v" * 200)
                print(kv.key, kv.mod_revision, flush=True)
                i += 1
        await asyncio.gather(*(writer(w) for w in range(8)))

    asyncio.run(main())
    """
)


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert proc.stdout is not None
    acked: dict[str, int] = {}
    try:
        for line in proc.stdout:
            key, rev = line.split()
            acked[key] = int(rev)
            if len(acked) >= 3000:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(acked) >= 3000, f"writer died early (exit {proc.returncode})"

    store = SQLiteStore(str(db), compact_interval=0)
    await store.start()
    try:
        stored = {kv.key: kv.mod_revision for kv in (await store.range("/registry/k/")).kvs}
        missing = {k: r for k, r in acked.items() if stored.get(k) != r}
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {list(missing.items())[:3]}"
        assert await store.current_revision() >= max(acked.values())
        # Writing goes on after the crash, with the next revision.
        rev = await store.current_revision()
        kv = await store.create("/registry/after", b"x")
        assert kv.mod_revision == rev + 1
    finally:
        await store.close()


async def test_automatic_compaction_keeps_a_window(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "s.db"), compact_interval=0.02, compact_retain=10)
    await store.start()
    try:
        kv = await store.create("/registry/a", b"0")
        for i in range(60):
            kv = await store.update("/registry/a", str(i).encode(), kv.mod_revision)
        target = await store.current_revision() - 10
        while await store.compacted_revision() < target:  # the compactor runs every 20 ms
            await asyncio.sleep(0.01)
        with pytest.raises(CompactedError):
            await store.range("/registry/", revision=2)
        # The window of history is kept.
        assert (await store.get("/registry/a", revision=target)) is not None
        rows = sqlite3.connect(str(tmp_path / "s.db")).execute("SELECT count(*) FROM log").fetchone()[0]
        assert rows <= 12, rows
    finally:
        await store.close()


async def test_watch_that_falls_behind_catches_up_from_the_log(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "s.db"), compact_interval=0, watch_buffer=5)
    await store.start()
    try:
        it = aiter(store.watch("/registry/", 2))
        first = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.01)
        for i in range(50):  # far more than the buffer holds while nobody reads
            await store.create(f"/registry/{i:03d}", b"x")
        events = list(await first)
        while len(events) < 50:
            events.extend(await anext(it))
        await it.aclose()  # type: ignore[attr-defined]
        assert [e.revision for e in events] == list(range(2, 52))
    finally:
        await store.close()


def test_prefix_end() -> None:
    assert prefix_end("/registry/pods/") == "/registry/pods0"
    assert prefix_end("") is None
    assert prefix_end("a\U0010ffff") == "b"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:/rel",
        "sqlite://host/x.db",
        "etcd://",
        "etcd://host",
        "etcd://h:99999",
        "mysql://x",
        "nonsense",
        "etcd://h:1/path",
        "etcd://h:1?sync=full",
        "sqlite:///x.db?sync=maybe",
        "sqlite:///x.db?bogus=1",
    ],
)
def test_bad_store_urls_give_one_readable_line(url: str) -> None:
    from skiff.store import InvalidStoreURLError

    with pytest.raises(InvalidStoreURLError) as info:
        open_store(url, "/tmp")
    assert "\n" not in str(info.value) and url in str(info.value)


def test_store_urls(tmp_path: Path) -> None:
    s = open_store("sqlite", str(tmp_path))
    assert isinstance(s, SQLiteStore) and s.path == str(tmp_path / "store.db")
    s = open_store("sqlite:///var/x.db?sync=full&compact_retain=5", str(tmp_path))
    assert isinstance(s, SQLiteStore) and s.path == "/var/x.db" and s.sync == "full" and s.compact_retain == 5
    e = open_store("etcd://10.0.0.1:2379,[::1]:2380?compact_interval=0", str(tmp_path))
    assert isinstance(e, EtcdStore) and e.endpoints == [("10.0.0.1", 2379), ("::1", 2380)]
    assert e.compact_interval == 0


async def test_a_file_of_the_first_layout_is_migrated(tmp_path: Path) -> None:
    """The first layout had a key index on the log and no tombstones in ``current``: its current state
    is kept, its history is compacted away."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(str(db))
    conn.executescript(
        """
        CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, create_rev INTEGER NOT NULL,
            prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL, value BLOB NOT NULL);
        CREATE INDEX log_key_rev ON log(key, rev);
        CREATE TABLE current (key TEXT PRIMARY KEY, rev INTEGER NOT NULL, create_rev INTEGER NOT NULL)
            WITHOUT ROWID;
        CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 0), rev INTEGER NOT NULL,
            compacted INTEGER NOT NULL);
        INSERT INTO meta VALUES (0, 5, 0);
        INSERT INTO log VALUES (2, '/registry/a', 2, 0, 0, x'31'), (3, '/registry/a', 2, 2, 0, x'32'),
            (4, '/registry/b', 4, 0, 0, x'31'), (5, '/registry/b', 4, 4, 1, x'');
        INSERT INTO current VALUES ('/registry/a', 3, 2);
        """
    )
    conn.commit()
    conn.close()
    store = SQLiteStore(str(db), compact_interval=0)
    await store.start()
    try:
        assert (await store.range("/registry/")).kvs == [KeyValue("/registry/a", b"2", 2, 3)]
        assert await store.current_revision() == 5
        assert await store.compacted_revision() == 5
        with pytest.raises(CompactedError):
            await store.get("/registry/a", revision=2)
        kv = await store.create("/registry/b", b"again")
        assert kv.mod_revision == 6
        assert await store.get("/registry/b", revision=5) is None
    finally:
        await store.close()
