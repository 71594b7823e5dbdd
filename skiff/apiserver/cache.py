"""The watch cache: one store watch over every resource, fanned out to all API watchers.

The cache lists ``/registry/`` once, then follows one store watch from the next revision. It keeps
the current objects of each resource (encoded once, served to ``resourceVersion=0`` lists and as the
initial events of watches) and a window of recent events per resource, so a watch from a recent
resourceVersion replays only what came after it. Every API server process runs its own cache on the
same store, so resourceVersions (store revisions) are the same everywhere.

Each watcher with a selector has a bounded queue. Delivering an event only appends to queues; a
watcher whose queue overflows is ended with a 410 (its client relists), so a slow reader never blocks
the others. Watchers without a selector (informers, the scheduler's and controllers' watches) share a
Feed per namespace instead: one log of changes, one flush that wakes them all (at most every
FEED_MIN_INTERVAL to COALESCE seconds, longer as writing a flush to every watcher takes longer), and
one encoded chunk per flush that every one of them sends (200 watchers cost one append per event,
not 200).
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
# A busy watch writes at most once per COALESCE seconds: one socket write then carries every event
# that arrived meanwhile (writes, not bytes, are what cost with hundreds of watchers). An idle watch
# still gets its first event at once.
COALESCE = float(os.environ.get("SKIFF_WATCH_COALESCE", "0.05"))
# A busy feed flushes again FEED_BUSY_FACTOR times as long after a flush as its watchers took to
# take that flush (so writing to them keeps at most half of the event loop), within
# FEED_MIN_INTERVAL..COALESCE: a few watchers get events within ~10 ms, hundreds in larger, cheaper
# batches, and a loaded machine (slower flushes) batches more by itself.
FEED_MIN_INTERVAL = float(os.environ.get("SKIFF_WATCH_FEED_MIN_INTERVAL", "0.01"))
FEED_BUSY_FACTOR = 2.0

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
    """One API watch: receives (type, Change) pairs already filtered for it in ``queue``; a watcher on
    a Feed then reads the feed's log from ``cursor`` on."""

    def __init__(self, namespace: str | None, match: Filter | None, after_rv: int) -> None:
        self.namespace = namespace
        self.match = match
        self.after_rv = after_rv
        self.queue: collections.deque[tuple[str, Change]] = collections.deque()
        self.wake = asyncio.Event()
        self.expired: str | None = None  # set when the watcher fell behind or the cache restarted
        self.due = float("inf")  # loop time of its next timeout or bookmark (the ticker wakes it)
        self.feed: Feed | None = None
        self.cursor = 0  # absolute index into feed's log of the next change to send

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


class Feed:
    """The changes of one resource in one namespace (None: all), for watchers without a selector.

    Changes are appended to ``log``; a flush (at once when the feed was idle, else ``interval`` after
    the last one) publishes them up to ``flushed`` and wakes every watcher. Watchers that read together
    send the same bytes: ``chunk`` joins the lines of a range once per flush. ``interval`` follows how
    long the watchers took to take the last flush (``unread`` counts those that have not yet)."""

    def __init__(self, namespace: str | None, render: Callable[[Change], bytes]) -> None:
        self.namespace = namespace
        self.render = render
        self.log: list[Change] = []
        self.base = 0  # absolute index of log[0]
        self.flushed = 0  # absolute index up to which watchers may read
        self.watchers: set[Watcher] = set()
        self.last_flush = -COALESCE
        self.interval = FEED_MIN_INTERVAL
        self.unread = 0
        self.timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self.chunks: dict[tuple[int, int], bytes] = {}

    @property
    def head(self) -> int:
        return self.base + len(self.log)

    def join(self, w: Watcher) -> None:
        w.feed = self
        w.cursor = self.head
        self.watchers.add(w)

    def append(self, ch: Change) -> None:
        self.log.append(ch)
        if self.timer is None:
            loop = asyncio.get_running_loop()
            delay = self.last_flush + self.interval - loop.time()
            # call_soon: the rest of the store's batch joins this flush.
            self.timer = loop.call_soon(self.flush) if delay <= 0 else loop.call_later(delay, self.flush)

    def flush(self) -> None:
        self.timer = None
        self.last_flush = asyncio.get_running_loop().time()
        self.flushed = self.head
        self.chunks.clear()
        self.unread = len(self.watchers)
        for w in self.watchers:
            w.wake.set()
        if len(self.log) > WATCHER_QUEUE + min(WATCHER_QUEUE, 1024):
            self._trim()

    def _trim(self) -> None:
        """Drops what every watcher has read; a watcher more than WATCHER_QUEUE behind is ended."""
        head = self.head
        floor = head - WATCHER_QUEUE
        slowest = min((w.cursor for w in self.watchers), default=head)
        cut = max(slowest, floor)
        for w in self.watchers:
            if w.cursor < cut:
                w.end("the watch fell too far behind; relist and watch again")
        del self.log[: cut - self.base]
        self.base = cut

    def read(self, w: Watcher) -> tuple[bytes, int] | None:
        """(chunk, last resourceVersion) of what ``w`` has not sent yet, or None."""
        start, end = w.cursor, self.flushed
        if start >= end:
            return None
        if start < self.base:
            w.end("the watch fell too far behind; relist and watch again")
            return None
        w.cursor = end
        if end == self.flushed:
            self.unread -= 1
            if self.unread == 0:
                # Every watcher has its chunk (each wrote the previous one before asking again).
                busy = asyncio.get_running_loop().time() - self.last_flush
                self.interval = min(COALESCE, max(FEED_MIN_INTERVAL, FEED_BUSY_FACTOR * busy))
        chunk = self.chunks.get((start, end))
        if chunk is None:
            render = self.render
            chunk = self.chunks[(start, end)] = b"".join(
                [render(ch) for ch in self.log[start - self.base : end - self.base]]
            )
        return chunk, self.log[end - 1 - self.base].rv

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class ResourceCache:
    def __init__(self, plural: str, start_rv: int) -> None:
        self.plural = plural
        self.objects: dict[str, Cached] = {}
        self.window: collections.deque[Change] = collections.deque()
        # Every event with rv > oldest_rv is in the window.
        self.oldest_rv = start_rv
        self.watchers: set[Watcher] = set()  # those with a selector: offered every change
        self.feeds: dict[str | None, Feed] = {}  # by namespace (None: all namespaces)

    def push(self, ch: Change) -> None:
        self.window.append(ch)
        if len(self.window) > WINDOW:
            self.oldest_rv = self.window.popleft().rv
        for w in self.watchers:
            w.offer(ch)
        if self.feeds:
            f = self.feeds.get(None)
            if f is not None:
                f.append(ch)
            if ch.namespace:
                f = self.feeds.get(ch.namespace)
                if f is not None:
                    f.append(ch)

    def all_watchers(self) -> list[Watcher]:
        out = list(self.watchers)
        for f in self.feeds.values():
            out.extend(f.watchers)
        return out

    def subscribe(self, w: Watcher, render: Callable[[Change], bytes] | None) -> None:
        """Adds a watcher: to the feed of its namespace when ``render`` is given (no selector, and
        every such watcher renders a change the same way), else offered every change."""
        if render is None:
            self.watchers.add(w)
            return
        f = self.feeds.get(w.namespace)
        if f is None:
            f = self.feeds[w.namespace] = Feed(w.namespace, render)
        f.join(w)

    def unsubscribe(self, w: Watcher) -> None:
        self.watchers.discard(w)
        f = w.feed
        if f is not None:
            f.watchers.discard(w)
            if not f.watchers and self.feeds.get(f.namespace) is f:
                f.close()
                del self.feeds[f.namespace]


class WatchCache:
    def __init__(self, store: Store, namespaced: dict[str, bool]) -> None:
        self.store = store
        self.namespaced = namespaced
        self.resources: dict[str, ResourceCache] = {}
        self.revision = 0
        self.load_revision = 0  # the revision the cache was (re)loaded at
        self.ready = asyncio.Event()
        self._advanced = asyncio.Condition()
        # Objects this process is writing, by key, with the bytes written: the watch event of that
        # write (it often arrives before the writer resumes) need not be decoded.
        self.hints: dict[str, tuple[bytes, Obj]] = {}
        self.hint_hits = 0
        self.hint_misses = 0
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    def expect(self, key: str, value: bytes, obj: Obj) -> None:
        """``obj`` is about to be written at ``key`` as ``value`` (without its resourceVersion)."""
        if len(self.hints) > 50000:
            self.hints.clear()
        self.hints[key] = (value, obj)

    def forget(self, key: str, value: bytes) -> None:
        """The write announced by expect() failed."""
        h = self.hints.get(key)
        if h is not None and h[0] is value:
            del self.hints[key]

    def _written(self, key: str, value: bytes, rv: int) -> Obj | None:
        """The object a watch event carries: the writer's own when the bytes are what it wrote."""
        h = self.hints.get(key)
        if h is not None and h[0] == value:
            del self.hints[key]
            self.hint_hits += 1
            obj = h[1]
            obj["metadata"]["resourceVersion"] = str(rv)
            return obj
        self.hint_misses += 1
        return decode(value, rv)

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
                for f in rc.feeds.values():
                    for w in f.watchers:
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
            for w in rc.all_watchers():
                w.end("the watch cache was reset; relist and watch again")
            for f in rc.feeds.values():
                f.close()
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
                obj = self._written(kv.key, kv.value, kv.mod_revision)
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
