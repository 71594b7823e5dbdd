"""The backing store (see base.py for the interface). ``open_store`` turns a store URL into a backend:

- ``sqlite``: ``DATA_DIR/store.db``;
- ``sqlite:///abs/path.db``, with optional ``?sync=normal|full&compact_interval=SECONDS&compact_retain=N``;
- ``etcd://host:port[,host:port...]``, with optional ``?compact_interval=SECONDS&compact_retain=N``.

Both compact automatically (SQLite every 60 s, etcd every 300 s, as Kubernetes' API server does for
etcd), keeping the last 10,000 revisions; ``compact_interval=0`` turns it off.
"""

from __future__ import annotations

import os
import urllib.parse

from skiff.store.base import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    InvalidStoreURLError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    OutcomeUnknownError,
    RangeResult,
    Store,
    StoreError,
    StoreUnavailableError,
    TooLargeError,
)

__all__ = [
    "CompactedError",
    "ConflictError",
    "Event",
    "FutureRevisionError",
    "InvalidStoreURLError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "OutcomeUnknownError",
    "RangeResult",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "TooLargeError",
    "open_store",
    "parse_endpoints",
]

_FORMS = "expected sqlite, sqlite:///ABS/PATH.db or etcd://HOST:PORT[,HOST:PORT...]"


def _bad(url: str, why: str) -> InvalidStoreURLError:
    return InvalidStoreURLError(f"invalid store URL {url!r}: {why} ({_FORMS})")


def parse_endpoints(url: str, hosts: str) -> list[tuple[str, int]]:
    endpoints = []
    for part in hosts.split(","):
        part = part.strip()
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise _bad(url, f"endpoint {part!r} is not HOST:PORT")
        endpoints.append((host.strip("[]"), int(port)))
    return endpoints


def _options(url: str, query: str, *, sqlite: bool) -> dict[str, object]:
    kwargs: dict[str, object] = {}
    try:
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if name == "sync" and sqlite:
                if value not in ("normal", "full"):
                    raise ValueError("sync must be normal or full")
                kwargs["sync"] = value
            elif name == "compact_interval":
                kwargs["compact_interval"] = float(value)
            elif name == "compact_retain":
                kwargs["compact_retain"] = int(value)
            else:
                raise ValueError(f"unknown option {name!r}")
    except ValueError as e:
        raise _bad(url, str(e)) from None
    return kwargs


def open_store(url: str, data_dir: str) -> Store:
    """A Store for ``url`` (not started yet: ``await store.start()`` or ``async with``)."""
    url = url.strip()
    if url == "sqlite":
        from skiff.store.sqlite import SQLiteStore

        return SQLiteStore(os.path.join(data_dir, "store.db"))
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _bad(url, "no scheme")
    if scheme == "sqlite":
        from skiff.store.sqlite import SQLiteStore

        parsed = urllib.parse.urlsplit(url)
        if parsed.netloc:
            raise _bad(url, "the path must be absolute (three slashes: sqlite:///path)")
        if not parsed.path or parsed.path == "/" or parsed.path.endswith("/"):
            raise _bad(url, "no database file")
        kwargs = _options(url, parsed.query, sqlite=True)
        return SQLiteStore(urllib.parse.unquote(parsed.path), **kwargs)  # type: ignore[arg-type]
    if scheme == "etcd":
        from skiff.store.etcd import EtcdStore

        hosts, _, query = rest.partition("?")
        hosts = hosts.rstrip("/")
        if not hosts or "/" in hosts:
            raise _bad(url, "no endpoints" if not hosts else "a path is not allowed")
        return EtcdStore(parse_endpoints(url, hosts), **_options(url, query, sqlite=False))  # type: ignore[arg-type]
    raise _bad(url, f"unknown scheme {scheme!r}")
