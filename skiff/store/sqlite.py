"""The embedded store: SQLite, log-structured like k3s's kine.

Layout (one file, WAL):
- ``log``: one row per revision (key, create revision, predecessor's revision, deleted flag, value),
  keyed by revision only. Watch history and prev_kv are read from it in revision order.
- ``current``: the latest revision of every key (an index into ``log``), deleted keys included until
  compaction removes their tombstones. Current reads and compare-and-swap checks are point lookups; a
  read at a past revision starts from a key's latest revision and follows the predecessor chain back
  (short for recent revisions, bounded by compaction). The log has no key index, so a write touches
  one key-ordered B-tree instead of two (profiled: index pages dominated the commit).
- ``meta``: one row with the current and the compacted revision, read in the same transaction as the
  data so a read is consistent with the compaction it saw.

One writer thread owns the only writing connection. Writes queue up; the writer takes everything queued,
applies it in one transaction and commits once (group commit), then hands results and events to the
event loop in one call, which resolves the writers' futures and wakes in-process watchers (no polling).
Reads run on a small pool of reader threads with their own connections (WAL: readers never block the
writer). With ``sync=normal`` (the default) a commit is written to the OS before it is acknowledged, so it
survives kill -9 of the process; ``sync=full`` also fsyncs each group commit (survives power loss).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from skiff.store.base import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RangeResult,
    Store,
    StoreError,
    StoreUnavailableError,
    check_sizes,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS current (
    key TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    create_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    rev INTEGER NOT NULL,
    compacted INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(id, rev, compacted) VALUES (0, 1, 0);
"""

# An empty store is at revision 1 and its first write gets revision 2, as in etcd; backups then restore
# into either backend with the same revisions.
_HISTORY_PAGE = 1000
_COMPACT_CHUNK = 5000

_CREATE, _UPDATE, _DELETE, _COMPACT, _LOAD, _STOP, _PROBE = range(7)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound).
    SQLite compares TEXT as UTF-8 bytes, whose order is code point order."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF and not (0xD7FF <= last < 0xDFFF):
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def _migrate(conn: sqlite3.Connection) -> None:
    """Files from the first layout (a key index on the log, no tombstones in ``current``) keep their
    current state; their history cannot be walked, so it is compacted away."""
    if any(col[1] == "deleted" for col in conn.execute("PRAGMA table_info(current)")):
        return
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ALTER TABLE current ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")
    conn.execute("DROP INDEX IF EXISTS log_key_rev")
    conn.execute("DELETE FROM log WHERE rev NOT IN (SELECT rev FROM current)")
    conn.execute("UPDATE log SET prev_rev = 0")
    conn.execute("UPDATE meta SET compacted = rev")
    conn.execute("COMMIT")


def _version_at(conn: sqlite3.Connection, key: str, latest: int, revision: int) -> KeyValue | None:
    """The version of ``key`` at ``revision``, walking back from its ``latest`` row. A missing row
    (compacted away) or the start of the chain means the key did not exist then."""
    rev = latest
    while rev:
        row = conn.execute(
            "SELECT prev_rev, create_rev, deleted, value FROM log WHERE rev = ?", (rev,)
        ).fetchone()
        if row is None:
            return None
        if rev <= revision:
            return None if row[2] else KeyValue(key, row[3], row[1], rev)
        rev = row[0]
    return None


class _Watcher:
    __slots__ = ("closed", "hi", "lo", "next_rev", "overflow", "pending", "wake")

    def __init__(self, prefix: str, next_rev: int) -> None:
        self.lo = prefix
        self.hi = prefix_end(prefix)
        self.next_rev = next_rev
        self.pending: collections.deque[Event] = collections.deque()
        self.wake = asyncio.Event()
        self.overflow = False
        self.closed = False

    def wants(self, key: str) -> bool:
        return key >= self.lo and (self.hi is None or key < self.hi)


class _Op:
    __slots__ = ("arg", "expected", "fut", "key", "kind", "value")

    def __init__(
        self,
        kind: int,
        key: str = "",
        value: bytes = b"",
        expected: int | None = None,
        fut: asyncio.Future[Any] | None = None,
        arg: Any = None,
    ) -> None:
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
        self.fut = fut
        self.arg = arg


class SQLiteStore(Store):
    def __init__(
        self,
        path: str,
        *,
        sync: str = "normal",
        compact_interval: float = 60.0,
        compact_retain: int = 10_000,
        readers: int = 4,
        watch_buffer: int = 20_000,
    ) -> None:
        if sync not in ("normal", "full"):
            raise ValueError(f"sync must be normal or full, not {sync!r}")
        self.path = path
        self.sync = sync
        self.compact_interval = compact_interval
        self.compact_retain = compact_retain
        self.watch_buffer = watch_buffer
        self._nreaders = readers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._wconn: sqlite3.Connection | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._rconns: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_rconns: list[sqlite3.Connection] = []
        self._watchers: set[_Watcher] = set()
        self._compactor: asyncio.Task[None] | None = None
        self._rev = 1  # last committed revision, as seen by the event loop
        self._compacted = 0
        self._wrev = 1  # the writer thread's revision counter
        self._wcompacted = 0
        self._closed = True
        # Called in the writer thread right after each commit with (revision, time.perf_counter());
        # the benchmark measures commit-to-watcher latency with it.
        self.commit_hook: Callable[[int, float], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute(f"PRAGMA synchronous = {self.sync.upper()}")
        conn.execute("PRAGMA mmap_size = 268435456")
        conn.execute("PRAGMA cache_size = -32768")
        return conn

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreUnavailableError(f"{self.path}: cannot switch SQLite to WAL mode ({mode})")
            conn.executescript(SCHEMA)
            _migrate(conn)
            rev, compacted = conn.execute("SELECT rev, compacted FROM meta").fetchone()
        except sqlite3.Error as e:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path}: {e}") from e
        except OSError as e:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path}: {e.strerror}") from e
        self._wconn = conn
        self._rev = self._wrev = rev
        self._compacted = self._wcompacted = compacted
        self._readers = ThreadPoolExecutor(self._nreaders, thread_name_prefix="sqlite-read")
        for _ in range(self._nreaders):
            rc = self._connect()
            rc.execute("PRAGMA query_only = 1")
            self._rconns.put(rc)
            self._all_rconns.append(rc)
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()
        if self.compact_interval > 0:
            self._compactor = asyncio.create_task(self._auto_compact())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        for w in list(self._watchers):
            w.closed = True
            w.wake.set()
        self._queue.put(_Op(_STOP))
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        for rc in self._all_rconns:
            rc.close()
        self._all_rconns.clear()
        if self._wconn is not None:
            self._wconn.close()
            self._wconn = None

    # -- the writer thread -----------------------------------------------------------------------

    def _write_loop(self) -> None:
        assert self._wconn is not None and self._loop is not None
        conn, loop = self._wconn, self._loop
        while True:
            ops = [self._queue.get()]
            while True:
                try:
                    ops.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(op.kind == _STOP for op in ops)
            ops = [op for op in ops if op.kind != _STOP]
            if ops:
                results, events, compacted = self._commit(conn, ops)
                hook = self.commit_hook
                if hook is not None:
                    hook(self._wrev, time.perf_counter())
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                    loop.call_soon_threadsafe(self._on_commit, ops, results, events, self._wrev, compacted)
            if stop:
                return

    def _commit(self, conn: sqlite3.Connection, ops: list[_Op]) -> tuple[list[Any], list[Event], int]:
        start_rev, start_compacted = self._wrev, self._wcompacted
        results: list[Any] = []
        events: list[Event] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have written the file (a restore, a second CLI): continue from it.
            self._wrev, self._wcompacted = conn.execute("SELECT rev, compacted FROM meta").fetchone()
            for op in ops:
                try:
                    results.append(self._apply(conn, op, events))
                except StoreError as e:
                    results.append(e)
            conn.execute("UPDATE meta SET rev = ?, compacted = ?", (self._wrev, self._wcompacted))
            conn.execute("COMMIT")
        except Exception as e:  # sqlite3.Error (disk full, I/O) or a bug: fail the batch, keep serving
            if not isinstance(e, sqlite3.Error):
                log.exception("SQLite writer failed")
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._wrev, self._wcompacted = start_rev, start_compacted
            err = StoreUnavailableError(f"SQLite store {self.path} cannot write: {e}")
            return [err] * len(ops), [], start_compacted
        return results, events, self._wcompacted

    def _apply(self, conn: sqlite3.Connection, op: _Op, events: list[Event]) -> Any:
        kind, key = op.kind, op.key
        if kind == _CREATE:
            rev = self._wrev + 1
            # One statement checks and claims the key (the batch's transaction is the lock); a key
            # deleted before keeps its tombstone as the predecessor, so past reads can walk through it.
            if conn.execute("INSERT OR IGNORE INTO current VALUES (?, ?, ?, 0)", (key, rev, rev)).rowcount:
                prev_rev = 0
            else:
                row = conn.execute("SELECT rev FROM current WHERE key = ? AND deleted = 1", (key,)).fetchone()
                if row is None:
                    raise KeyExistsError(key)
                prev_rev = row[0]
                conn.execute(
                    "UPDATE current SET rev = ?, create_rev = ?, deleted = 0 WHERE key = ?", (rev, rev, key)
                )
            conn.execute("INSERT INTO log VALUES (?, ?, ?, ?, 0, ?)", (rev, key, rev, prev_rev, op.value))
            self._wrev = rev
            kv = KeyValue(key, op.value, rev, rev)
            events.append(Event("PUT", kv))
            return kv
        if kind in (_UPDATE, _DELETE):
            row = conn.execute(
                "SELECT c.rev, c.create_rev, l.value FROM current c JOIN log l ON l.rev = c.rev"
                " WHERE c.key = ? AND c.deleted = 0",
                (key,),
            ).fetchone()
            if row is None:
                raise KeyNotFoundError(key)
            prev = KeyValue(key, row[2], row[1], row[0])
            if op.expected is not None and op.expected != prev.mod_revision:
                raise ConflictError(key, prev)
            rev = self._wrev + 1
            if kind == _UPDATE:
                conn.execute(
                    "INSERT INTO log VALUES (?, ?, ?, ?, 0, ?)",
                    (rev, key, prev.create_revision, prev.mod_revision, op.value),
                )
                conn.execute("UPDATE current SET rev = ? WHERE key = ?", (rev, key))
                self._wrev = rev
                kv = KeyValue(key, op.value, prev.create_revision, rev)
                events.append(Event("PUT", kv, prev))
                return kv
            conn.execute(
                "INSERT INTO log VALUES (?, ?, ?, ?, 1, x'')",
                (rev, key, prev.create_revision, prev.mod_revision),
            )
            conn.execute("UPDATE current SET rev = ?, deleted = 1 WHERE key = ?", (rev, key))
            self._wrev = rev
            events.append(Event("DELETE", KeyValue(key, b"", 0, rev), prev))
            return KeyValue(key, prev.value, prev.create_revision, rev)
        if kind == _COMPACT:
            return self._compact_chunk(conn, op)
        if kind == _LOAD:
            return self._load(conn, op.arg)
        if kind == _PROBE:
            return None  # the batch's commit (its meta row) is the probe
        raise AssertionError(kind)

    def _compact_chunk(self, conn: sqlite3.Connection, op: _Op) -> int | None:
        """Compacts one chunk of revisions; returns the revision the next chunk starts at, or None.

        A row is kept while it is the latest version of its key below the compaction revision (range at
        that revision and prev_kv of later events need it): compacting [lo, target) deletes the
        predecessor of every row in the window and every tombstone in it."""
        lo, target = op.arg
        if target > self._wcompacted:
            self._wcompacted = target
        hi = min(target, lo + _COMPACT_CHUNK)
        conn.execute(
            "DELETE FROM log WHERE rev IN"
            " (SELECT prev_rev FROM log WHERE rev >= ? AND rev < ? AND prev_rev > 0)",
            (lo, hi),
        )
        # A key whose latest version is a tombstone in the window is gone for good.
        conn.execute(
            "DELETE FROM current WHERE key IN"
            " (SELECT key FROM log WHERE rev >= ? AND rev < ? AND deleted = 1) AND deleted = 1 AND rev < ?",
            (lo, hi, hi),
        )
        conn.execute("DELETE FROM log WHERE rev >= ? AND rev < ? AND deleted = 1", (lo, hi))
        return hi if hi < target else None

    def _load(self, conn: sqlite3.Connection, arg: tuple[int, Sequence[KeyValue]]) -> int:
        """Replaces the whole content with ``kvs`` at ``revision`` (restore). History before it is gone,
        so the compacted revision becomes ``revision``."""
        revision, kvs = arg
        conn.execute("DELETE FROM log")
        conn.execute("DELETE FROM current")
        conn.executemany(
            "INSERT INTO log VALUES (?, ?, ?, 0, 0, ?)",
            ((kv.mod_revision, kv.key, kv.create_revision, kv.value) for kv in kvs),
        )
        conn.executemany(
            "INSERT INTO current VALUES (?, ?, ?, 0)",
            ((kv.key, kv.mod_revision, kv.create_revision) for kv in kvs),
        )
        self._wrev = revision
        self._wcompacted = revision
        return revision

    # -- back on the event loop ------------------------------------------------------------------

    def _on_commit(
        self, ops: list[_Op], results: list[Any], events: list[Event], rev: int, compacted: int
    ) -> None:
        self._rev = rev
        self._compacted = compacted
        if events:
            for w in self._watchers:
                mine = [ev for ev in events if w.wants(ev.kv.key)]
                if mine:
                    if len(w.pending) + len(mine) > self.watch_buffer:
                        # A slow watcher re-reads the log instead of holding unbounded memory.
                        w.pending.clear()
                        w.overflow = True
                    else:
                        w.pending.extend(mine)
                    w.wake.set()
        for op, res in zip(ops, results, strict=True):
            if op.kind == _COMPACT and res is not None and not isinstance(res, BaseException):
                self._queue.put(_Op(_COMPACT, fut=op.fut, arg=(res, op.arg[1])))
                continue
            fut = op.fut
            if fut is None or fut.done():
                continue
            if isinstance(res, BaseException):
                fut.set_exception(res)
            else:
                fut.set_result(res)

    async def _write(self, op: _Op) -> Any:
        if self._closed or self._loop is None:
            raise StoreUnavailableError("the SQLite store is closed")
        op.fut = self._loop.create_future()
        self._queue.put(op)
        return await op.fut

    # -- reads -----------------------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed or self._loop is None or self._readers is None:
            raise StoreUnavailableError("the SQLite store is closed")

        def run() -> T:
            conn = self._rconns.get()
            try:
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise StoreUnavailableError(f"SQLite store {self.path} cannot read: {e}") from e
            finally:
                self._rconns.put(conn)

        return await self._loop.run_in_executor(self._readers, run)

    @staticmethod
    def _meta(conn: sqlite3.Connection, revision: int | None) -> int:
        rev, compacted = conn.execute("SELECT rev, compacted FROM meta").fetchone()
        if revision is not None:
            if revision > rev:
                raise FutureRevisionError(revision, rev)
            if revision < compacted:
                raise CompactedError(revision, compacted)
        return int(rev)

    async def current_revision(self) -> int:
        return self._rev

    async def check(self) -> None:
        """An empty commit through the writer: fails while another process holds the file's lock or the
        disk is full, as a real write would."""
        await self._write(_Op(_PROBE))

    async def compacted_revision(self) -> int:
        return self._compacted

    async def get(self, key: str, revision: int | None = None) -> KeyValue | None:
        def read(conn: sqlite3.Connection) -> KeyValue | None:
            if revision is None or revision <= 0:
                row = conn.execute(
                    "SELECT l.value, c.create_rev, c.rev FROM current c JOIN log l ON l.rev = c.rev"
                    " WHERE c.key = ? AND c.deleted = 0",
                    (key,),
                ).fetchone()
                return None if row is None else KeyValue(key, row[0], row[1], row[2])
            self._meta(conn, revision)
            row = conn.execute("SELECT rev FROM current WHERE key = ?", (key,)).fetchone()
            return None if row is None else _version_at(conn, key, row[0], revision)

        return await self._read(read)

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int | None = None,
    ) -> RangeResult:
        if revision is not None and revision <= 0:
            revision = None
        lo = prefix if start_after is None or start_after < prefix else start_after + "\x00"
        hi = prefix_end(prefix)
        args: list[Any] = [lo] + ([hi] if hi is not None else [])
        fetch = limit + 1 if limit > 0 else -1  # -1: no limit (SQLite), never reached by len()

        def read(conn: sqlite3.Connection) -> RangeResult:
            rev = self._meta(conn, revision)
            if revision is None or revision == rev:  # the current state: the index, not the log
                cwhere = "c.key >= ?" + (" AND c.key < ?" if hi is not None else "")
                rows = conn.execute(
                    "SELECT c.key, l.value, c.create_rev, c.rev FROM current c JOIN log l ON l.rev = c.rev"
                    f" WHERE {cwhere} AND c.deleted = 0 ORDER BY c.key LIMIT ?",
                    (*args, fetch),
                ).fetchall()
            else:
                # Every key that has a row (tombstones too), in key order; a key changed after the
                # revision is read back along its predecessor chain. Stops after ``limit`` keys.
                cwhere = "c.key >= ?" + (" AND c.key < ?" if hi is not None else "")
                cur = conn.execute(
                    "SELECT c.key, c.rev, c.create_rev, c.deleted, l.value FROM current c"
                    f" LEFT JOIN log l ON l.rev = c.rev AND c.rev <= ? AND c.deleted = 0 WHERE {cwhere}"
                    " ORDER BY c.key",
                    (revision, *args),
                )
                rows = []
                for key, crev, create_rev, deleted, value in cur:
                    if crev <= revision:
                        if not deleted:
                            rows.append((key, value, create_rev, crev))
                    else:
                        kv = _version_at(conn, key, crev, revision)
                        if kv is not None:
                            rows.append((kv.key, kv.value, kv.create_revision, kv.mod_revision))
                    if len(rows) == fetch:
                        break
                rev = revision
            more = limit > 0 and len(rows) > limit
            if more:
                rows = rows[:limit]
            return RangeResult([KeyValue(*r) for r in rows], rev, more)

        return await self._read(read)

    async def count(self, prefix: str) -> int:
        hi = prefix_end(prefix)

        def read(conn: sqlite3.Connection) -> int:
            if hi is None:
                return int(
                    conn.execute(
                        "SELECT count(*) FROM current WHERE key >= ? AND deleted = 0", (prefix,)
                    ).fetchone()[0]
                )
            return int(
                conn.execute(
                    "SELECT count(*) FROM current WHERE key >= ? AND key < ? AND deleted = 0", (prefix, hi)
                ).fetchone()[0]
            )

        return await self._read(read)

    # -- writes ----------------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        check_sizes(key, value)
        result: KeyValue = await self._write(_Op(_CREATE, key, value))
        return result

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        check_sizes(key, value)
        result: KeyValue = await self._write(_Op(_UPDATE, key, value, expected_mod_revision))
        return result

    async def delete(self, key: str, expected_mod_revision: int | None = None) -> KeyValue:
        check_sizes(key)
        result: KeyValue = await self._write(_Op(_DELETE, key, expected=expected_mod_revision))
        return result

    async def compact(self, revision: int) -> None:
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if revision <= self._compacted:
            raise CompactedError(revision, self._compacted)
        await self._write(_Op(_COMPACT, arg=(self._compacted, revision)))

    async def load(self, revision: int, kvs: Sequence[KeyValue]) -> None:
        """Replaces the whole content (restore): every key keeps its create and mod revision and the
        store continues at ``revision``; history before it reads as compacted."""
        for kv in kvs:
            check_sizes(kv.key, kv.value)
        await self._write(_Op(_LOAD, arg=(revision, list(kvs))))

    async def _auto_compact(self) -> None:
        while True:
            await asyncio.sleep(self.compact_interval)
            target = self._rev - self.compact_retain
            if target > self._compacted:
                try:
                    await self.compact(target)
                except StoreError as e:
                    log.warning("automatic compaction to %d failed: %s", target, e)

    # -- watch -----------------------------------------------------------------------------------

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        if self._closed:
            raise StoreUnavailableError("the SQLite store is closed")
        if start_revision <= 0:
            start_revision = self._rev + 1
        # Register before reading history: an event committed meanwhile is either in the history read
        # or in ``pending`` (or both; ``next_rev`` drops the repeat).
        w = _Watcher(prefix, start_revision)
        self._watchers.add(w)
        try:
            if start_revision < self._compacted:
                raise CompactedError(start_revision, self._compacted)
            history = True
            while not w.closed:
                if history or w.overflow:
                    history = False
                    w.overflow = False
                    while True:
                        page = await self._read(lambda conn: self._history(conn, w))
                        if page:
                            w.next_rev = page[-1].kv.mod_revision + 1
                            yield page
                        if len(page) < _HISTORY_PAGE or w.closed:
                            break
                    continue
                batch = []
                while w.pending:
                    ev = w.pending.popleft()
                    if ev.kv.mod_revision >= w.next_rev:
                        batch.append(ev)
                if batch:
                    w.next_rev = batch[-1].kv.mod_revision + 1
                    yield batch
                    continue
                w.wake.clear()
                if not w.pending and not w.overflow:
                    await w.wake.wait()
        finally:
            self._watchers.discard(w)

    def _history(self, conn: sqlite3.Connection, w: _Watcher) -> list[Event]:
        _, compacted = conn.execute("SELECT rev, compacted FROM meta").fetchone()
        if w.next_rev < compacted:
            raise CompactedError(w.next_rev, compacted)
        sql = (
            "SELECT l.rev, l.key, l.create_rev, l.deleted, l.value, p.rev, p.create_rev, p.value"
            " FROM log l LEFT JOIN log p ON p.rev = l.prev_rev AND l.prev_rev > 0 AND p.deleted = 0"
            " WHERE l.rev >= ? AND +l.key >= ?"  # unary +: scan by revision, not by the key index
        )
        args: list[Any] = [w.next_rev, w.lo]
        if w.hi is not None:
            sql += " AND +l.key < ?"
            args.append(w.hi)
        sql += " ORDER BY l.rev LIMIT ?"
        args.append(_HISTORY_PAGE)
        out = []
        for rev, key, crev, deleted, value, prev, pcrev, pvalue in conn.execute(sql, args):
            prev_kv = None if prev is None else KeyValue(key, pvalue, pcrev, prev)
            if deleted:
                out.append(Event("DELETE", KeyValue(key, b"", 0, rev), prev_kv))
            else:
                out.append(Event("PUT", KeyValue(key, value, crev, rev), prev_kv))
        return out
