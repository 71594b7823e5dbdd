"""Watch: chunked newline-delimited JSON events from the watch cache.

``resourceVersion`` unset or "0": the current objects as ADDED, then changes. A resourceVersion R:
only events after R; R older than the cache's window: one ERROR event carrying a 410 Expired Status.
``allowWatchBookmarks``: BOOKMARK events about once a minute; ``sendInitialEvents``: a bookmark
annotated ``k8s.io/initial-events-end`` after the initial ADDED events. ``timeoutSeconds`` ends the
watch; without it, the server ends it after 30 to 60 minutes, as Kubernetes does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from skiff.apiserver import errors, negotiate, query
from skiff.apiserver.cache import COALESCE, Change, Watcher
from skiff.apiserver.handlers import Handlers, Route
from skiff.apiserver.negotiate import Output
from skiff.apiserver.resources import Obj

BOOKMARK_EVERY = 60.0
INITIAL_CHUNK = 500


def _line(type_: str, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


def _plain_line(ch: Change) -> bytes:
    """A change as a JSON watch event of the stored form (shared by every watcher in that format)."""
    line = ch.lines.get(ch.type)
    if line is None:
        line = ch.lines[ch.type] = _line(ch.type, ch.raw)
    return line


class Renderer:
    """Turns changes into lines for one watch's output format."""

    def __init__(self, h: Handlers, r: Route, out: Output) -> None:
        self.info = r.info
        self.out = out
        self.h = h
        self.first = True
        self.plain = out.kind == "json" and self.info.from_stored is None

    def obj(self, type_: str, obj: Obj, raw: bytes) -> bytes:
        if self.plain:
            return _line(type_, raw)
        view = self.info.from_stored(obj) if self.info.from_stored is not None else obj
        if self.out.kind == "table":
            t = negotiate.table(
                self.info,
                [view],
                {"resourceVersion": view["metadata"].get("resourceVersion", "")},
                self.out,
                self.first,
            )
            self.first = False
            return _line(type_, orjson.dumps(t))
        if self.out.kind == "partial":
            return _line(type_, orjson.dumps(negotiate.partial(view)))
        return _line(type_, orjson.dumps(view))

    def change(self, type_: str, ch: Change) -> bytes:
        if self.plain:
            if type_ == ch.type:
                return _plain_line(ch)
            return _line(type_, ch.raw)
        if self.out.kind == "json" and self.info.from_stored is not None:
            k = (type_, self.info.group)
            line = ch.lines.get(k)
            if line is None:
                line = ch.lines[k] = _line(type_, orjson.dumps(self.info.from_stored(ch.obj)))
            return line
        return self.obj(type_, ch.obj, ch.raw)

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.info.kind, "apiVersion": self.info.api_version, "metadata": meta}
        return _line("BOOKMARK", orjson.dumps(obj))


def error_line(e: errors.APIError) -> bytes:
    return _line("ERROR", e.body())


async def watch(h: Handlers, r: Route, request: Request, out: Output) -> Response:
    info = r.info
    q = request.query_params
    rv = query.resource_version(q)
    timeout = query.integer(q, "timeoutSeconds", None)
    bookmarks = query.boolean(q, "allowWatchBookmarks")
    send_initial_param = q.get("sendInitialEvents")
    send_initial = query.boolean(q, "sendInitialEvents") if send_initial_param is not None else None
    match = query.matcher(q, info.group, info.plural, info.strategy.fields)
    if r.name is not None:
        # A watch on one object (kubectl get NAME -w, the single-item watch URL).
        name_match = _name_pred(r.name)
        match = name_match if match is None else _and(match, name_match)
    cache = h.cache
    await cache.ready.wait()
    rc = cache.resource(info.store_plural)
    ns = r.namespace if info.namespaced and r.namespace else None
    rend = Renderer(h, r, out)

    initial: list[bytes] = []
    initial_end = False
    if send_initial is None:
        send_initial = rv in ("", "0")
    if rv == "" and send_initial:
        rev = await h.store.current_revision()
        await cache.wait_for(rev, 1.0)
    # Without a selector (and in the plain format, which renders a change the same way for everyone),
    # the watch reads its namespace's shared feed once its own replay is sent.
    shared = match is None and rend.plain
    if send_initial:
        w = Watcher(ns, match, cache.revision)
        items = [
            c
            for c in rc.objects.values()
            if (ns is None or c.namespace == ns) and (match is None or match(c.obj))
        ]
        items.sort(key=lambda c: c.key)
        initial = [rend.obj("ADDED", c.obj, c.raw) for c in items]
        initial_end = bool(send_initial_param) and bookmarks
        start_rv = cache.revision
    else:
        start = int(rv) if rv else 0
        if rv and start < rc.oldest_rv and start < cache.revision:
            e = errors.expired(f"too old resource version: {start} ({rc.oldest_rv})")
            return StreamingResponse(_once(error_line(e)), 200, media_type="application/json")
        w = Watcher(ns, match, start)
        for ch in rc.window:
            if ch.rv > start:
                w.offer(ch)
        start_rv = max(start, cache.revision)
        # From a resourceVersion the cache has not reached, later changes up to it must be skipped.
        shared = shared and start <= cache.revision
    rc.subscribe(w, _plain_line if shared else None)
    feed = w.feed

    if timeout is None:
        timeout = random.randint(1800, 3600)

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        cache.ensure_ticker()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + BOOKMARK_EVERY
        last_rv = start_rv
        last_write = 0.0
        try:
            for i in range(0, len(initial), INITIAL_CHUNK):
                yield b"".join(initial[i : i + INITIAL_CHUNK])
            if initial_end:
                yield rend.bookmark(start_rv, True)
            elif not initial:
                # Send the headers at once: clients wait for them before they count the watch open.
                yield b""
            while True:
                if w.expired is not None:
                    # Nothing after the gap may be sent: the client must relist.
                    yield error_line(errors.expired(w.expired))
                    return
                if w.queue:
                    gap = last_write + COALESCE - loop.time()
                    if gap > 0:
                        await asyncio.sleep(gap)
                    last_write = loop.time()
                    lines = []
                    while w.queue:
                        t, ch = w.queue.popleft()
                        lines.append(rend.change(t, ch))
                        last_rv = ch.rv
                    yield b"".join(lines)
                    continue
                if feed is not None:
                    got = feed.read(w)
                    if got is not None:
                        last_rv = got[1]
                        yield got[0]
                        continue
                    if w.expired is not None:
                        continue
                now = loop.time()
                if now >= deadline:
                    return
                if bookmarks and now >= next_bookmark:
                    next_bookmark = now + BOOKMARK_EVERY
                    yield rend.bookmark(max(last_rv, cache.revision))
                    continue
                w.wake.clear()
                # The cache's ticker wakes the watch when this is due (no timer per watch).
                w.due = min(deadline, next_bookmark) if bookmarks else deadline
                await w.wake.wait()
        finally:
            rc.unsubscribe(w)

    return StreamingResponse(stream(), 200, media_type="application/json")


async def _once(line: bytes) -> AsyncIterator[bytes]:
    yield line


def _name_pred(name: str) -> Any:
    return lambda o: (o.get("metadata") or {}).get("name") == name


def _and(a: Any, b: Any) -> Any:
    return lambda o: a(o) and b(o)
