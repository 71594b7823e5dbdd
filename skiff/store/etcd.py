"""The etcd backend (being written; lands next)."""

from __future__ import annotations

from skiff.store.base import StoreUnavailableError


class EtcdStore:
    def __init__(self, endpoints: list[tuple[str, int]]) -> None:
        raise StoreUnavailableError("the etcd store is not built yet")
