"""The store interface: etcd's semantics (one global revision, compare-and-swap on mod revision,
prefix watch from a revision, compaction), implemented by the SQLite and etcd backends.

Only the API server uses a Store. Keys are str (``/registry/pods/default/web``), values bytes.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Literal

import msgspec

# etcd's request limit is 1.5 MiB; keys are kept short so that lists stay cheap.
MAX_KEY_BYTES = 1024
MAX_VALUE_BYTES = 1536 * 1024


class KeyValue(msgspec.Struct, frozen=True):
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class Event(msgspec.Struct, frozen=True):
    """One change. ``kv`` is the new state (for DELETE: the key with an empty value at the delete's
    revision); ``prev_kv`` the state before it, when there was one."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


class RangeResult(msgspec.Struct, frozen=True):
    kvs: list[KeyValue]
    revision: int  # the store revision the range was read at
    more: bool  # True when ``limit`` cut the result; continue after ``kvs[-1].key``


class StoreError(Exception):
    """Base of every error a store raises."""


class KeyExistsError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key already exists: {key}")
        self.key = key


class KeyNotFoundError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class ConflictError(StoreError):
    """The key's mod revision is not the expected one; ``current`` is what is stored now."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(f"mod revision mismatch on {key}")
        self.key = key
        self.current = current


class CompactedError(StoreError):
    """The requested revision is below the compacted revision: its history is gone (HTTP 410)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} has been compacted (compacted revision {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StoreError):
    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current}")


class TooLargeError(StoreError):
    """A key over MAX_KEY_BYTES or a value over MAX_VALUE_BYTES."""


class StoreUnavailableError(StoreError):
    """The backend cannot be reached or cannot write (etcd without quorum, disk full): HTTP 503."""


class OutcomeUnknownError(StoreUnavailableError):
    """A write that may or may not have been applied (its first attempt failed ambiguously and what
    happened since hides which). Answered as unavailability (5xx, outcome unknown), never as a conflict."""


class InvalidStoreURLError(StoreError):
    pass


def check_sizes(key: str, value: bytes | None = None) -> None:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise TooLargeError(f"key is {len(key.encode())} bytes, over the limit of {MAX_KEY_BYTES}")
    if value is not None and len(value) > MAX_VALUE_BYTES:
        raise TooLargeError(f"value is {len(value)} bytes, over the limit of {MAX_VALUE_BYTES}")


class Store(abc.ABC):
    """Async key-value store with etcd's semantics. Every write increments the global revision."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open or connect; raises StoreUnavailableError with a readable message on failure."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def current_revision(self) -> int: ...

    async def check(self) -> None:
        """Probe that the store can serve now; raises StoreUnavailableError when it cannot."""
        await self.current_revision()

    @abc.abstractmethod
    async def compacted_revision(self) -> int: ...

    @abc.abstractmethod
    async def get(self, key: str, revision: int | None = None) -> KeyValue | None: ...

    @abc.abstractmethod
    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int | None = None,
    ) -> RangeResult:
        """Keys starting with ``prefix`` in key order, after ``start_after`` when given, at most
        ``limit`` (0 = all), as of ``revision`` (None = current). Raises CompactedError for a
        revision below the compacted one."""

    @abc.abstractmethod
    async def count(self, prefix: str) -> int: ...

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> KeyValue:
        """Raises KeyExistsError when the key exists."""

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        """Compare-and-swap: raises ConflictError (or KeyNotFoundError) when the stored mod
        revision differs from ``expected_mod_revision``."""

    @abc.abstractmethod
    async def delete(self, key: str, expected_mod_revision: int | None = None) -> KeyValue:
        """Deletes and returns the deleted value (with the delete's revision as mod_revision).
        Raises KeyNotFoundError, or ConflictError when the guard fails."""

    @abc.abstractmethod
    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        """Events on keys under ``prefix`` with revision >= ``start_revision``: the history first,
        then live events, in revision order, none missed, none repeated; events of one revision come
        in one batch. Raises CompactedError (on first iteration) when ``start_revision`` is below
        the compacted revision, as etcd does.
        Closing the iterator (aclose) ends the watch."""

    @abc.abstractmethod
    async def compact(self, revision: int) -> None:
        """Forget history below ``revision``; reads and watches below it raise CompactedError."""

    async def __aenter__(self) -> Store:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
