"""The watch cache: one store watch over every resource, fanned out to all API watchers.

The cache lists ``/registry/`` once, then follows one store watch from the next revision. It keeps
the current objects of each resource (encoded once, served to ``resourceVersion=0`` lists and as the
initial events of watches) and a window of recent events per resource, so a watch from a recent
resourceVersion replays only what came after it. Every API server process runs its own cache on the
same store, so resourceVersions (store revisions) are the same everywhere.

Each watcher has a bounded queue. Delivering an event only appends to queues; a watcher whose queue
overflows is ended with a 410 (its client relists), so a slow reader never blocks the others.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from collections.abc import Callable
from typing import Any

import orjson

from skiff.store import CompactedError, Store

log = logging.getLogger("skiff.apiserver.cache")

PREFIX = "/registry/"
# Events kept per resource for watches that resume from a resourceVersion (tests shrink it to reach 410).
WINDOW = int(os.environ.get("SKIFF_WATCH_CACHE_WINDOW", "20000"))
TICK = 0.25  # how often due watch timeouts and bookmarks are checked
# Events a watcher may fall behind before it is ended with 410 (tests shrink it).
WATCHER_QUEUE = int(os.environ.get("SKIFF_WATCHER_QUEUE", "20000"))

Obj = dict[str, Any]


class Cached:
    """One object as stored at one revision, decoded and encoded once."""

    __slots__ = ("key", "namespace", "obj", "raw", "rv")

    def __init__(self, key: str, namespace: str, obj: Obj, rv: int) -> None:
        self.key = key
        self.namespace = namespace
        self.obj = obj
        self.rv = rv
        self.raw = orjson.dumps(obj)


class Change:
    """One event of one resource: ``obj`` is the new state (for DELETED: the last state, with the
    delete's resourceVersion); ``prev`` the state before."""

    __slots__ = ("lines", "namespace", "obj", "prev", "raw", "rv", "type")

    def __init__(self, type_: str, rv: int, namespace: str, obj: Obj, raw: bytes, prev: Obj | None) -> None:
        self.type = type_
        self.rv = rv
        self.namespace = namespace
        self.obj = obj
        self.raw = raw
        self.prev = prev
        self.lines: dict[Any, bytes] = {}


Filter = Callable[[Obj], bool]


class Watcher:
    """One API watch: receives (type, Change) pairs already filtered for it."""

    def __init__(self, namespace: str | None, match: Filter | None, after_rv: int) -> None:
        self.namespace = namespace
        self.match = match
        self.after_rv = after_rv
        self.queue: collections.deque[tuple[str, Change]] = collections.deque()
        self.wake = asyncio.Event()
        self.expired: str | None = None  # set when the watcher fell behind or the cache restarted
        self.due = float("inf")  # loop time of its next timeout or bookmark (the ticker wakes it)

    def offer(self, ch: Change) -> None:
        if ch.rv <= self.after_rv or self.expired is not None:
            return
        if self.namespace is not None and ch.namespace != self.namespace:
            return
        m = self.match
        if m is None:
            self.queue.append((ch.type, ch))
        else:
            now = m(ch.obj)
            if ch.type == "ADDED":
                if now:
                    self.queue.append(("ADDED", ch))
            elif ch.type == "DELETED":
                if now:
                    self.queue.append(("DELETED", ch))
            else:
                before = ch.prev is not None and m(ch.prev)
                if now and before:
                    self.queue.append(("MODIFIED", ch))
                elif now:
                    self.queue.append(("ADDED", ch))
                elif before:
                    self.queue.append(("DELETED", ch))
        if len(self.queue) > WATCHER_QUEUE:
            self.queue.clear()
            self.expired = "the watch fell too far behind; relist and watch again"
        self.wake.set()

    def end(self, why: str) -> None:
        self.expired = why
        self.wake.set()


class ResourceCache:
    def __init__(self, plural: str, start_rv: int) -> None:
        self.plural = plural
        self.objects: dict[str, Cached] = {}
        self.window: collections.deque[Change] = collections.deque()
        # Every event with rv > oldest_rv is in the window.
        self.oldest_rv = start_rv
        self.watchers: set[Watcher] = set()

    def push(self, ch: Change) -> None:
        self.window.append(ch)
        if len(self.window) > WINDOW:
            self.oldest_rv = self.window.popleft().rv
        for w in self.watchers:
            w.offer(ch)


class WatchCache:
    def __init__(self, store: Store, namespaced: dict[str, bool]) -> None:
        self.store = store
        self.namespaced = namespaced
        self.resources: dict[str, ResourceCache] = {}
        self.revision = 0
        self.load_revision = 0  # the revision the cache was (re)loaded at
        self.ready = asyncio.Event()
        self._advanced = asyncio.Condition()
        # Objects this process just wrote, by (key, revision): the watch event need not be decoded.
        self.hints: dict[tuple[str, int], Obj] = {}
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    def hint(self, key: str, rev: int, obj: Obj) -> None:
        """The object written at (key, rev), as the writer has it (with its resourceVersion)."""
        if len(self.hints) > 50000:
            self.hints.clear()
        self.hints[(key, rev)] = obj

    def current(self, plural: str, namespace: str, name: str) -> Cached | None:
        """The object as the cache last saw it (it may trail the store; read-only)."""
        rc = self.resources.get(plural)
        return rc.objects.get(namespace + "/" + name) if rc is not None else None

    def resource(self, plural: str) -> ResourceCache:
        rc = self.resources.get(plural)
        if rc is None:
            rc = self.resources[plural] = ResourceCache(plural, self.load_revision)
        return rc

    def _split(self, key: str) -> tuple[str, str, str] | None:
        """(plural, namespace, name) of a registry key."""
        parts = key[len(PREFIX) :].split("/")
        if not parts:
            return None
        plural = parts[0]
        ns_ed = self.namespaced.get(plural)
        if ns_ed is None:
            return None
        if ns_ed and len(parts) == 3:
            return plural, parts[1], parts[2]
        if not ns_ed and len(parts) == 2:
            return plural, "", parts[1]
        return None

    async def start(self) -> None:
        await self._load()
        self._task = asyncio.create_task(self._run())

    def ensure_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Wakes watches whose timeout or bookmark is due, twice a second."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            for rc in self.resources.values():
                for w in rc.watchers:
                    if w.due <= now:
                        w.wake.set()

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _load(self) -> None:
        rev = await self.store.current_revision()
        res = await self.store.range(PREFIX, revision=rev)
        old = self.resources
        self.resources = {}
        self.hints.clear()
        self.revision = rev
        self.load_revision = rev
        for kv in res.kvs:
            sp = self._split(kv.key)
            if sp is None:
                continue
            plural, ns, name = sp
            obj = decode(kv.value, kv.mod_revision)
            if obj is None:
                continue
            self.resource(plural).objects[ns + "/" + name] = Cached(kv.key, ns, obj, kv.mod_revision)
        for rc in old.values():
            for w in rc.watchers:
                w.end("the watch cache was reset; relist and watch again")
        self.ready.set()

    async def _run(self) -> None:
        while True:
            try:
                it = self.store.watch(PREFIX, self.revision + 1)
                async for batch in it:
                    self._apply(batch)
            except asyncio.CancelledError:
                raise
            except CompactedError:
                log.warning("watch cache fell behind compaction; reloading")
                await self._reload()
            except Exception as e:
                log.warning("store watch ended: %s; resuming", e)
                await asyncio.sleep(0.5)
                try:
                    await self.store.current_revision()
                except Exception:
                    continue

    async def _reload(self) -> None:
        while True:
            try:
                await self._load()
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("watch cache reload failed: %s", e)
                await asyncio.sleep(1)

    def _apply(self, batch: list[Any]) -> None:
        rev = self.revision
        for ev in batch:
            kv = ev.kv
            rev = max(rev, kv.mod_revision)
            sp = self._split(kv.key)
            if sp is None:
                continue
            plural, ns, name = sp
            rc = self.resource(plural)
            k = ns + "/" + name
            old = rc.objects.get(k)
            if ev.type == "PUT":
                obj = self.hints.pop((kv.key, kv.mod_revision), None) or decode(kv.value, kv.mod_revision)
                if obj is None:
                    continue
                c = Cached(kv.key, ns, obj, kv.mod_revision)
                rc.objects[k] = c
                rc.push(
                    Change(
                        "MODIFIED" if old is not None else "ADDED",
                        kv.mod_revision,
                        ns,
                        obj,
                        c.raw,
                        old.obj if old is not None else None,
                    )
                )
            else:
                rc.objects.pop(k, None)
                prev = old.obj if old is not None else None
                if prev is None and ev.prev_kv is not None:
                    prev = decode(ev.prev_kv.value, ev.prev_kv.mod_revision)
                if prev is None:
                    continue
                last = dict(prev)
                last["metadata"] = dict(prev.get("metadata") or {})
                last["metadata"]["resourceVersion"] = str(kv.mod_revision)
                rc.push(Change("DELETED", kv.mod_revision, ns, last, orjson.dumps(last), prev))
        if rev > self.revision:
            self.revision = rev
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._advanced:
            self._advanced.notify_all()

    async def wait_for(self, rev: int, timeout: float) -> bool:
        """Wait until the cache has seen revision ``rev``; False on timeout."""
        if self.revision >= rev:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._advanced:
            while self.revision < rev:
                left = deadline - loop.time()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._advanced.wait(), left)
                except TimeoutError:
                    return self.revision >= rev
        return True


def decode(value: bytes, rv: int) -> Obj | None:
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    meta["resourceVersion"] = str(rv)
    return obj
