"""Objects in the store: keys, resourceVersions, create / guaranteed update / delete.

Values are the object's JSON without ``metadata.resourceVersion``; the resourceVersion of an object
is the store's mod revision of its key, filled in on every read.
"""

from __future__ import annotations

import copy
import random
import secrets
from collections.abc import Awaitable, Callable

import orjson

from skiff.apiserver import errors
from skiff.apiserver.cache import WatchCache, decode
from skiff.apiserver.resources import Obj, ResourceInfo
from skiff.apiserver.timeutil import now_rfc3339
from skiff.store import ConflictError, KeyExistsError, KeyNotFoundError, KeyValue, Store, TooLargeError

PREFIX = "/registry/"
_rng = random.Random()  # seeded from os.urandom at start; uids need uniqueness, not secrecy
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
# A mutation's answer: None means "the stored object is already right: no write".
Mutate = Callable[[Obj], Awaitable[Obj | None]]


def key_for(info: ResourceInfo, namespace: str, name: str) -> str:
    if info.namespaced:
        return f"{PREFIX}{info.store_plural}/{namespace}/{name}"
    return f"{PREFIX}{info.store_plural}/{name}"


def prefix_for(info: ResourceInfo, namespace: str | None) -> str:
    if info.namespaced and namespace:
        return f"{PREFIX}{info.store_plural}/{namespace}/"
    return f"{PREFIX}{info.store_plural}/"


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_CHARS) for _ in range(5))


def encode_for_store(obj: Obj) -> bytes:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "resourceVersion" in meta:
        meta = dict(meta)
        del meta["resourceVersion"]
        obj = dict(obj)
        obj["metadata"] = meta
    return orjson.dumps(obj)


class Expecting:
    """Tells the watch cache which object a write carries (so it need not decode its watch event),
    and takes that back when the write fails."""

    __slots__ = ("cache", "key", "value")

    def __init__(self, cache: WatchCache, key: str, value: bytes, obj: Obj) -> None:
        self.cache, self.key, self.value = cache, key, value
        cache.expect(key, value, obj)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.cache.forget(self.key, self.value)


class Storage:
    def __init__(self, store: Store, cache: WatchCache) -> None:
        self.store = store
        self.cache = cache

    def view(self, info: ResourceInfo, stored: Obj) -> Obj:
        if info.from_stored is not None:
            out: Obj = info.from_stored(stored)
            return out
        return stored

    async def get(self, info: ResourceInfo, namespace: str, name: str) -> tuple[Obj, KeyValue]:
        kv = await self.store.get(key_for(info, namespace, name))
        if kv is None:
            raise errors.not_found(info.group, info.plural, name)
        obj = decode(kv.value, kv.mod_revision)
        if obj is None:
            raise errors.internal(f"stored object {kv.key} does not decode")
        return obj, kv

    async def create(self, info: ResourceInfo, obj: Obj, dry_run: bool = False) -> Obj:
        """Stores a new object (already defaulted and validated); returns it with its resourceVersion."""
        meta = obj["metadata"]
        key = key_for(info, meta.get("namespace", ""), meta["name"])
        if dry_run:
            if await self.store.get(key) is not None:
                raise errors.already_exists(info.group, info.plural, meta["name"])
            return obj
        value = encode_for_store(obj)
        try:
            with Expecting(self.cache, key, value, obj):
                kv = await self.store.create(key, value)
        except KeyExistsError:
            raise errors.already_exists(info.group, info.plural, meta["name"]) from None
        except TooLargeError as e:
            raise errors.too_large(str(e)) from None
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def update(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        mutate: Mutate,
        *,
        precondition_rv: bool = False,
        dry_run: bool = False,
        cached_first: bool = False,
    ) -> tuple[Obj, bool]:
        """Read, mutate, compare-and-swap; retried on a conflict unless the mutation's object carries
        its own resourceVersion (then a mismatch is the client's 409). Returns (object, written).

        cached_first: the first try starts from the watch cache's copy instead of a store read (as
        Kubernetes' GuaranteedUpdate takes the cached object as a suggestion). The compare-and-swap
        keeps it safe: a stale copy only costs a retry from the store, and nothing decided on the
        cached copy alone (an error, a no-op) is final."""
        key = key_for(info, namespace, name)
        guess = self.cache.current(info.store_plural, namespace, name) if cached_first else None
        for _ in range(50):
            authoritative = guess is None
            if guess is not None:
                current, rev, fresh = guess.obj, guess.rv, orjson.loads(guess.raw)
                guess = None
                try:
                    new = await mutate(fresh)
                except errors.APIError:
                    continue  # decide on the stored object
            else:
                current, kv = await self.get(info, namespace, name)
                rev = kv.mod_revision
                new = await mutate(copy.deepcopy(current))
            if new is None:
                if not authoritative:
                    continue
                return current, False
            want_rv = (new.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != str(rev):
                if not authoritative:
                    continue
                raise errors.conflict(info.group, info.plural, name)
            if _same(new, current):
                if not authoritative:
                    continue
                return current, False
            if dry_run:
                return new, False
            value = encode_for_store(new)
            try:
                with Expecting(self.cache, key, value, new):
                    nkv = await self.store.update(key, value, rev)
            except ConflictError:
                if authoritative and (want_rv or precondition_rv):
                    raise errors.conflict(info.group, info.plural, name) from None
                continue
            except KeyNotFoundError:
                raise errors.not_found(info.group, info.plural, name) from None
            except TooLargeError as e:
                raise errors.too_large(str(e)) from None
            new["metadata"]["resourceVersion"] = str(nkv.mod_revision)
            return new, True
        raise errors.conflict(info.group, info.plural, name, "too many concurrent updates")

    async def delete(self, info: ResourceInfo, namespace: str, name: str, expected: int) -> Obj:
        try:
            kv = await self.store.delete(key_for(info, namespace, name), expected)
        except KeyNotFoundError:
            raise errors.not_found(info.group, info.plural, name) from None
        obj = decode(kv.value, kv.mod_revision)
        return obj or {}


def _same(a: Obj, b: Obj) -> bool:
    ma = dict(a.get("metadata") or {})
    mb = dict(b.get("metadata") or {})
    ma.pop("resourceVersion", None)
    mb.pop("resourceVersion", None)
    if ma != mb:
        return False
    ka = {k: v for k, v in a.items() if k != "metadata"}
    kb = {k: v for k, v in b.items() if k != "metadata"}
    return ka == kb


def new_uid() -> str:
    """A random (version 4) UUID string, without building a uuid.UUID."""
    n = _rng.getrandbits(128)
    n = (n & ~(0xF << 76) | (0x4 << 76)) & ~(0x3 << 62) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def fill_new_metadata(obj: Obj) -> None:
    meta = obj["metadata"]
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now_rfc3339()
    meta.pop("resourceVersion", None)
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    meta.pop("selfLink", None)
    meta["generation"] = 1


def carry_metadata(new: Obj, old: Obj) -> None:
    """Fields of metadata an update cannot change."""
    nm = new.setdefault("metadata", {})
    om = old.get("metadata") or {}
    for k in (
        "uid",
        "creationTimestamp",
        "namespace",
        "name",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ):
        if k in om:
            nm[k] = om[k]
        else:
            nm.pop(k, None)
    nm.pop("selfLink", None)
