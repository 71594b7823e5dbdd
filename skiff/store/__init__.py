"""The backing store (see base.py for the interface). ``open_store`` turns a store URL into a backend:

- ``sqlite``: ``DATA_DIR/store.db``;
- ``sqlite:///abs/path.db``, with optional ``?sync=normal|full&compact_interval=SECONDS&compact_retain=N``;
- ``etcd://host:port[,host:port...]``.
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
        opts = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        kwargs: dict[str, object] = {}
        try:
            for name, value in opts.items():
                if name == "sync":
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
        return SQLiteStore(urllib.parse.unquote(parsed.path), **kwargs)  # type: ignore[arg-type]
    if scheme == "etcd":
        from skiff.store.etcd import EtcdStore

        hosts = rest.split("/", 1)[0].split("?", 1)[0]
        if not hosts:
            raise _bad(url, "no endpoints")
        return EtcdStore(parse_endpoints(url, hosts))
    raise _bad(url, f"unknown scheme {scheme!r}")
