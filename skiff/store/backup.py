"""Backup and restore of a store, portable between the backends.

The file is JSON lines (UTF-8):
- a header ``{"format": "skiff-store-backup", "version": 1, "revision": R, "created": ..., "source": ...}``;
- one line per key, in key order, as of revision R:
  ``{"key": ..., "value": BASE64, "create_revision": C, "mod_revision": M}``;
- a trailer ``{"count": N, "sha256": HEX}``, the SHA-256 of every byte before the trailer line.

Restore reads and checks the whole file before it touches the target. Into SQLite it loads the rows with
their revisions directly. etcd 3.4 cannot be told a revision, so restore replays writes in revision
order (a key's create revision and its mod revision), fills each gap between them with writes to a
scratch key that is deleted again, and checks every write landed at the revision it must have. Either
way every key keeps its create and mod revision (the resourceVersion) and the revision counter goes on
after R.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import hashlib
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import orjson

from skiff.store.base import CompactedError, KeyValue, Store, StoreError
from skiff.store.etcd import EtcdStore
from skiff.store.sqlite import SQLiteStore

FORMAT = "skiff-store-backup"
VERSION = 1
SCRATCH_KEY = "/skiff-restore-scratch"
_PAGE = 1000
_FILL_CONCURRENCY = 64


class BackupError(StoreError):
    """A backup file that cannot be used, or a target that cannot take it (one readable line)."""


class Snapshot:
    def __init__(self, revision: int, kvs: list[KeyValue], header: dict[str, Any] | None = None) -> None:
        self.revision = revision
        self.kvs = kvs
        self.header = header or {}


async def take_snapshot(store: Store, attempts: int = 3) -> Snapshot:
    """Every key at one revision (paged reads at that revision; retried if compaction overtakes it)."""
    for attempt in range(attempts):
        revision = await store.current_revision()
        kvs: list[KeyValue] = []
        after: str | None = None
        try:
            while True:
                page = await store.range("", start_after=after, limit=_PAGE, revision=revision)
                kvs.extend(page.kvs)
                if not page.more or not page.kvs:
                    break
                after = page.kvs[-1].key
        except CompactedError:
            if attempt == attempts - 1:
                raise
            continue
        return Snapshot(revision, kvs)
    raise AssertionError("unreachable")


def _source(store: Store) -> str:
    return "etcd" if isinstance(store, EtcdStore) else "sqlite" if isinstance(store, SQLiteStore) else "other"


def encode(snapshot: Snapshot, source: str) -> Iterable[bytes]:
    digest = hashlib.sha256()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "revision": snapshot.revision,
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "count": len(snapshot.kvs),
    }
    line = orjson.dumps(header) + b"\n"
    digest.update(line)
    yield line
    for kv in snapshot.kvs:
        line = (
            orjson.dumps(
                {
                    "key": kv.key,
                    "value": base64.b64encode(kv.value).decode(),
                    "create_revision": kv.create_revision,
                    "mod_revision": kv.mod_revision,
                }
            )
            + b"\n"
        )
        digest.update(line)
        yield line
    yield orjson.dumps({"count": len(snapshot.kvs), "sha256": digest.hexdigest()}) + b"\n"


async def backup(store: Store, path: str) -> Snapshot:
    """Writes a snapshot of ``store`` to ``path`` (atomically: a temporary file renamed at the end)."""
    snapshot = await take_snapshot(store)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skiff-backup-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in encode(snapshot, _source(store)):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return snapshot


def decode(data: bytes, name: str = "backup") -> Snapshot:
    """Parses and verifies a whole backup; raises BackupError with one line on any defect."""

    def bad(why: str) -> BackupError:
        return BackupError(f"{name}: not a usable skiff backup: {why}")

    if not data:
        raise bad("the file is empty")
    if not data.endswith(b"\n"):
        raise bad("truncated (no complete checksum line at the end)")
    body_end = data.rfind(b"\n", 0, len(data) - 1) + 1
    if body_end == 0:
        raise bad("truncated (only one line)")
    try:
        trailer = orjson.loads(data[body_end:])
    except orjson.JSONDecodeError:
        raise bad("truncated or corrupt (the last line is not the checksum line)") from None
    if not isinstance(trailer, dict) or "sha256" not in trailer or "count" not in trailer:
        raise bad("truncated (the last line is not the checksum line)")
    if hashlib.sha256(data[:body_end]).hexdigest() != trailer["sha256"]:
        raise bad("checksum mismatch (the file is corrupt or was modified)")
    lines = data[:body_end].split(b"\n")[:-1]
    try:
        header = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        raise bad("the first line is not a header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise bad(f"unknown format (expected {FORMAT!r})")
    if header.get("version") != VERSION:
        raise bad(f"version {header.get('version')!r} is not supported (this skiff reads version {VERSION})")
    revision = header.get("revision")
    if not isinstance(revision, int) or revision < 1:
        raise bad("the header has no valid revision")
    kvs: list[KeyValue] = []
    seen: set[str] = set()
    for n, line in enumerate(lines[1:], start=2):
        try:
            rec = orjson.loads(line)
            kv = KeyValue(
                rec["key"],
                base64.b64decode(rec["value"], validate=True),
                rec["create_revision"],
                rec["mod_revision"],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error, ValueError):
            raise bad(f"line {n} is not a key record") from None
        if not isinstance(kv.key, str) or not kv.key:
            raise bad(f"line {n}: bad key")
        if not (
            isinstance(kv.create_revision, int)
            and isinstance(kv.mod_revision, int)
            and 1 < kv.create_revision <= kv.mod_revision <= revision
        ):
            raise bad(
                f"line {n}: revisions of {kv.key} are inconsistent with the backup's revision {revision}"
            )
        if kv.key in seen:
            raise bad(f"line {n}: key {kv.key} appears twice")
        seen.add(kv.key)
        kvs.append(kv)
    if len(kvs) != trailer["count"]:
        raise bad(f"{len(kvs)} records but the checksum line says {trailer['count']}")
    return Snapshot(revision, kvs, header)


def read_backup(path: str) -> Snapshot:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BackupError(f"cannot read {path}: {e.strerror}") from None
    return decode(data, path)


async def restore(store: Store, snapshot: Snapshot, *, force: bool = False) -> None:
    """Loads ``snapshot`` into ``store``; refuses a store with keys unless ``force``."""
    existing = await store.count("")
    if existing and not force:
        raise BackupError(
            f"the target store is not empty ({existing} keys); use --force to replace its content"
        )
    if isinstance(store, SQLiteStore):
        await store.load(snapshot.revision, snapshot.kvs)
    elif isinstance(store, EtcdStore):
        await _restore_etcd(store, snapshot, existing)
    else:
        raise BackupError(f"restore into {type(store).__name__} is not supported")


async def _restore_etcd(store: EtcdStore, snapshot: Snapshot, existing: int) -> None:
    points: dict[int, list[tuple[str, bytes]]] = {}
    for kv in snapshot.kvs:
        points.setdefault(kv.create_revision, []).append((kv.key, kv.value))
        if kv.mod_revision != kv.create_revision:
            points.setdefault(kv.mod_revision, []).append((kv.key, kv.value))
    cur = await store.current_revision()
    first = min(points, default=snapshot.revision)
    needed = cur + (1 if existing else 0)  # clearing the existing keys takes one revision
    if needed >= first and points:
        raise BackupError(
            f"cannot restore into this etcd: it is at revision {cur} and the backup's first write is at "
            f"revision {first}; etcd cannot go back in revisions, so restore into a new etcd cluster"
        )
    if existing:
        cur = await store.put_raw([], [""])
    scratch = False

    async def fill(n: int) -> None:
        """Uses up ``n`` revisions, leaving the scratch key deleted when n allows."""
        nonlocal cur, scratch
        puts = n - 1 if scratch or n > 1 else n
        done = 0
        while done < puts:
            batch = min(_FILL_CONCURRENCY, puts - done)
            await asyncio.gather(*(store.put_raw([(SCRATCH_KEY, b"")], []) for _ in range(batch)))
            done += batch
        if puts:
            scratch = True
        if puts < n:
            await store.put_raw([], [SCRATCH_KEY])
            scratch = False
        cur += n

    for rev in sorted(points):
        if rev > cur + 1:
            await fill(rev - cur - 1)
        got = await store.put_raw(points[rev], [])
        if got != rev:
            raise BackupError(
                f"restore went wrong: a write landed at revision {got} instead of {rev} (is something else "
                "writing to this etcd?)"
            )
        cur = rev
    if snapshot.revision > cur:
        await fill(snapshot.revision - cur)
    if scratch:
        await store.put_raw([], [SCRATCH_KEY])


# -- the `skiff backup` / `skiff restore` commands ---------------------------------------------------


def _open(url: str, data_dir: str, must_exist: bool) -> Store:
    from skiff.store import open_store

    store = open_store(url, data_dir)
    if isinstance(store, SQLiteStore | EtcdStore):
        store.compact_interval = 0  # a short-lived command never compacts
    if isinstance(store, SQLiteStore) and must_exist and not os.path.exists(store.path):
        raise BackupError(f"no SQLite store at {store.path}")
    return store


async def backup_command(url: str, data_dir: str, path: str) -> str:
    store = _open(url, data_dir, must_exist=True)
    await store.start()
    try:
        snapshot = await backup(store, path)
    except OSError as e:
        raise BackupError(f"cannot write {path}: {e.strerror}") from None
    finally:
        await store.close()
    return f"backed up {len(snapshot.kvs)} keys at revision {snapshot.revision} to {path}"


async def restore_command(url: str, data_dir: str, path: str, force: bool) -> str:
    snapshot = read_backup(path)  # the whole file is checked before the target is opened
    store = _open(url, data_dir, must_exist=False)
    await store.start()
    try:
        await restore(store, snapshot, force=force)
        revision = await store.current_revision()
    finally:
        await store.close()
    return (
        f"restored {len(snapshot.kvs)} keys at revision {snapshot.revision} from {path}"
        f" (the store is at revision {revision})"
    )
