"""Informers: list + watch + a local cache + event handlers, kept current through broken watches.

    pods = Informer(client, Pod, indexers={"node": lambda p: [p.spec.node_name or ""]})
    pods.add_handler(on_add=..., on_update=..., on_delete=...)
    pods.start()
    await pods.wait_for_sync()
    pods.by_index("node", "node-1")

The cache is keyed "namespace/name" (just "name" for cluster-scoped kinds). After the first list the
informer watches from the list's resourceVersion; when the server ends a watch it resumes from the last
resourceVersion it saw (bookmarks included); a broken connection is retried with backoff from the same
resourceVersion; a 410 (history compacted, or the watch fell behind) triggers a relist whose differences
from the cache are delivered as add/update/delete. Handlers run in the informer's task, in event order;
they may be plain functions or coroutines, and an exception in one is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .resources import Resource, resource_for
from .rest import ApiError, Client, ClientError, ObjectList, resource_version_of

T = TypeVar("T")
log = logging.getLogger("skiff.client.informer")

Indexer = Callable[[T], Iterable[str]]
Result = Awaitable[None] | None


def key_of(obj: Any) -> str:
    """client-go's MetaNamespaceKey: "namespace/name", or "name" for cluster-scoped objects."""
    m = obj.get("metadata") or {} if isinstance(obj, dict) else obj.metadata
    if isinstance(m, dict):
        ns, name = m.get("namespace"), m.get("name") or ""
    else:
        ns, name = m.namespace, m.name or ""
    return f"{ns}/{name}" if ns else name


@dataclass
class Handler(Generic[T]):
    on_add: Callable[[T], Result] | None = None
    on_update: Callable[[T, T], Result] | None = None
    on_delete: Callable[[T], Result] | None = None


class Informer(Generic[T]):
    def __init__(
        self,
        client: Client,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        indexers: Mapping[str, Indexer[T]] | None = None,
        page_size: int = 500,
        watch_timeout: tuple[int, int] = (300, 600),
        initial_list_from_cache: bool = True,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.resource: Resource[T] = resource_for(kind)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.initial_list_from_cache = initial_list_from_cache
        self.name = name or self.resource.plural
        self._items: dict[str, T] = {}
        self._indexers: dict[str, Indexer[T]] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {n: {} for n in self._indexers}
        self._indexed: dict[str, dict[str, tuple[str, ...]]] = {n: {} for n in self._indexers}
        self._handlers: list[Handler[T]] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.resource_version: str = ""
        # Counters a test or a metrics endpoint can read.
        self.lists = 0
        self.watches = 0
        self.relists_expired = 0

    # -------------------------------------------------------------------------- handlers

    def add_handler(
        self,
        on_add: Callable[[T], Result] | None = None,
        on_update: Callable[[T, T], Result] | None = None,
        on_delete: Callable[[T], Result] | None = None,
    ) -> Handler[T]:
        """Register handlers. Added after the first sync, the handler first sees every cached object as
        an add (as client-go does), delivered from the informer's task."""
        h = Handler(on_add, on_update, on_delete)
        self._handlers.append(h)
        if self._synced.is_set() and on_add is not None and self._items:
            snapshot = builtins.list(self._items.values())

            async def replay() -> None:
                for obj in snapshot:
                    await _call(on_add, obj)

            asyncio.get_running_loop().create_task(replay())
        return h

    def add_indexer(self, name: str, fn: Indexer[T]) -> None:
        """Add an index (values of fn(obj)); existing objects are indexed at once."""
        if name in self._indexers:
            return
        self._indexers[name] = fn
        self._indices[name] = {}
        self._indexed[name] = {}
        for key, obj in self._items.items():
            values = tuple(fn(obj))
            self._indexed[name][key] = values
            for v in values:
                self._indices[name].setdefault(v, set()).add(key)

    # -------------------------------------------------------------------------- cache reads

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """True once the first list has been applied; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    def get(self, name: str, namespace: str | None = None) -> T | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def get_by_key(self, key: str) -> T | None:
        return self._items.get(key)

    def list(self) -> builtins.list[T]:
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index: str, value: str) -> builtins.list[T]:
        keys = self._indices[index].get(value)
        if not keys:
            return []
        items = self._items
        return [items[k] for k in keys]

    def index_keys(self, index: str, value: str) -> set[str]:
        return set(self._indices[index].get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        return [v for v, keys in self._indices[index].items() if keys]

    # -------------------------------------------------------------------------- lifecycle

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"informer-{self.name}")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """List, then watch forever (until cancelled), relisting when the watch history is gone.

        Started again after a stop, it resumes watching from where it was (its cache is kept)."""
        need_list = not (self._synced.is_set() and self.resource_version)
        backoff = _Backoff()
        while True:
            try:
                if need_list:
                    await self._list_and_replace()
                    need_list = False
                    backoff.reset()
                started = time.monotonic()
                if await self._watch() == 0 and time.monotonic() - started < 1.0:
                    # A watch the server ended at once with nothing in it: do not spin on it.
                    await backoff.sleep()
                else:
                    backoff.reset()
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                if e.expired:
                    # The resourceVersion is too old for the server: only a fresh list recovers.
                    self.relists_expired += 1
                    log.info("%s: watch expired, relisting", self.name, extra={"kv": {"reason": e.message}})
                    need_list = True
                    self.resource_version = ""
                    continue
                log.warning("%s: %s", self.name, e, extra={"kv": {"retry_in": f"{backoff.peek():.1f}s"}})
                await backoff.sleep()
            except ClientError as e:
                log.warning("%s: %s", self.name, e, extra={"kv": {"retry_in": f"{backoff.peek():.1f}s"}})
                await backoff.sleep()
            except Exception:
                log.exception("%s: unexpected error in informer", self.name)
                await backoff.sleep()

    # -------------------------------------------------------------------------- list and watch

    async def _list(self) -> ObjectList[T]:
        self.lists += 1
        if self.initial_list_from_cache and not self._synced.is_set():
            # resourceVersion=0: any recent state, served from the API server's watch cache in one go.
            return await self.client.list(
                self.resource,
                self.namespace,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                resource_version="0",
                timeout=120.0,
            )
        return await self.client.list_all(
            self.resource,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            page_size=self.page_size,
            timeout=120.0,
        )

    async def _list_and_replace(self) -> None:
        result = await self._list()
        old = self._items
        seen: set[str] = set()
        for obj in result.items:
            key = key_of(obj)
            seen.add(key)
            prev = old.get(key)
            if prev is not None and resource_version_of(prev) == resource_version_of(obj):
                continue
            self._store(key, obj)
            if prev is None:
                await self._dispatch_add(obj)
            else:
                await self._dispatch_update(prev, obj)
        for key in [k for k in old if k not in seen]:
            gone = self._remove(key)
            if gone is not None:
                await self._dispatch_delete(gone)
        self.resource_version = result.resource_version
        if not self._synced.is_set():
            log.info("%s: synced", self.name, extra={"kv": {"objects": len(self._items)}})
        self._synced.set()

    async def _watch(self) -> int:
        """One watch until the server ends it; returns how many events it carried."""
        self.watches += 1
        count = 0
        lo, hi = self.watch_timeout
        events = self.client.watch(
            self.resource,
            self.namespace,
            resource_version=self.resource_version or None,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=random.randint(lo, hi),
            allow_bookmarks=True,
        )
        async with contextlib.aclosing(events):
            async for ev in events:
                count += 1
                obj = ev.object
                rv = resource_version_of(obj)
                kind = ev.type
                if kind == "BOOKMARK":
                    pass
                elif kind == "ADDED" or kind == "MODIFIED":
                    key = key_of(obj)
                    prev = self._items.get(key)
                    self._store(key, obj)
                    if prev is None:
                        await self._dispatch_add(obj)
                    else:
                        await self._dispatch_update(prev, obj)
                elif kind == "DELETED":
                    key = key_of(obj)
                    if self._remove(key) is not None:
                        await self._dispatch_delete(obj)
                else:
                    log.warning("%s: unknown watch event type %r", self.name, kind)
                if rv:
                    self.resource_version = rv
        return count

    # -------------------------------------------------------------------------- store

    def _store(self, key: str, obj: T) -> None:
        self._items[key] = obj
        for name, fn in self._indexers.items():
            values = tuple(fn(obj))
            indexed = self._indexed[name]
            old = indexed.get(key)
            if old == values:
                continue
            index = self._indices[name]
            if old:
                for v in old:
                    keys = index.get(v)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del index[v]
            for v in values:
                index.setdefault(v, set()).add(key)
            indexed[key] = values

    def _remove(self, key: str) -> T | None:
        obj = self._items.pop(key, None)
        if obj is None:
            return None
        for name in self._indexers:
            old = self._indexed[name].pop(key, None)
            if old:
                index = self._indices[name]
                for v in old:
                    keys = index.get(v)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del index[v]
        return obj

    # -------------------------------------------------------------------------- dispatch

    async def _dispatch_add(self, obj: T) -> None:
        for h in self._handlers:
            if h.on_add is not None:
                await _call(h.on_add, obj)

    async def _dispatch_update(self, old: T, new: T) -> None:
        for h in self._handlers:
            if h.on_update is not None:
                await _call(h.on_update, old, new)

    async def _dispatch_delete(self, obj: T) -> None:
        for h in self._handlers:
            if h.on_delete is not None:
                await _call(h.on_delete, obj)


async def _call(fn: Callable[..., Result], *args: Any) -> None:
    try:
        r = fn(*args)
        if inspect.isawaitable(r):
            await r
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("informer handler %s failed", getattr(fn, "__qualname__", fn))


class _Backoff:
    """Exponential backoff with jitter: 0.8 s doubling to 30 s (client-go's reflector uses similar)."""

    def __init__(self, initial: float = 0.8, cap: float = 30.0) -> None:
        self.initial = initial
        self.cap = cap
        self.delay = initial

    def reset(self) -> None:
        self.delay = self.initial

    def peek(self) -> float:
        return self.delay

    async def sleep(self) -> None:
        await asyncio.sleep(self.delay * (1 + 0.2 * random.random()))
        self.delay = min(self.delay * 2, self.cap)


class InformerFactory:
    """Shares one informer per (kind, namespace, selectors) among the parts of one process."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[tuple[Any, ...], Informer[Any]] = {}

    def informer(
        self,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, Indexer[T]] | None = None,
    ) -> Informer[T]:
        res = resource_for(kind)
        key = (res.group, res.plural, namespace, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(
                self.client,
                res,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                indexers=indexers,
            )
            self._informers[key] = inf
        elif indexers:
            for name, fn in indexers.items():
                inf.add_indexer(name, fn)
        return inf

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        results = await asyncio.gather(*(i.wait_for_sync(timeout) for i in self._informers.values()))
        return all(results)

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self._informers.values()))
