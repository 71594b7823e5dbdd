"""The etcd backend: real etcd v3 through aetcd's gRPC stubs.

Requests go to one endpoint at a time (like the bare client, so nothing is lost to forwarding between
members); when a request fails with UNAVAILABLE or times out (member died, lost its leader, hangs) the
store moves to the next endpoint and retries there, with back-off once it has been round the list, until
``retry_for`` seconds have passed; then StoreUnavailableError naming the endpoints. A write retried after
such an ambiguous failure (the first attempt may have been applied) is recognised when its effect is
visible, so the caller sees success instead of a spurious conflict.

Each watch is its own gRPC stream with ``prev_kv`` (and etcd's require-leader flag); when the stream
breaks it is opened again, on the current endpoint, from the revision after the last one delivered, so
nothing is missed or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from aetcd import rpc

from skiff.store.base import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    OutcomeUnknownError,
    RangeResult,
    Store,
    StoreError,
    StoreUnavailableError,
    TooLargeError,
    check_sizes,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Worth another endpoint: the member is gone or cannot serve (no leader) or does not answer in time.
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]
# A watch on a member that lost its leader is cancelled by the member (etcd's "require leader").
_WATCH_METADATA = (("hasleader", "true"),)
_WATCH_CHANNEL_CHECK_S = 0.5  # how often a quiet watch checks whether the store changed endpoint
_PUT = rpc.Event.PUT
_RECOGNISE_STEPS = 64  # revisions of a key walked back to tell whether an ambiguous update applied
# What a member answers when it cannot reach agreement (etcd's server-side timeouts and leader loss).
_NO_QUORUM = ("request timed out", "context deadline exceeded", "no leader", "leader changed")
PROBE_RETRY = 3.0  # seconds a health probe keeps trying


def key_end(prefix: bytes) -> bytes:
    """etcd's range end for a prefix: the prefix with its last byte below 0xff incremented."""
    p = bytearray(prefix)
    while p:
        if p[-1] < 0xFF:
            p[-1] += 1
            return bytes(p)
        p.pop()
    return b"\0"  # every key


def _kv(kv: Any) -> KeyValue:
    return KeyValue(kv.key.decode(), kv.value, kv.create_revision, kv.mod_revision)


class _Ambiguous(Exception):
    """A write failed in a way that leaves open whether etcd applied it."""


class EtcdStore(Store):
    def __init__(
        self,
        endpoints: list[tuple[str, int]],
        *,
        retry_for: float = 15.0,
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        write_attempt_timeout: float = 2.0,
        compact_interval: float = 300.0,
        compact_retain: int = 10_000,
    ) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints")
        self.endpoints = endpoints
        self.retry_for = retry_for
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        # A write a member forwarded to a leader that then died is not failed by etcd until its own
        # request timeout (5 s + two election timeouts: ~7 s), although a new leader takes writes
        # after ~1 s. Each attempt gets this long (writes are small; a healthy one takes ms), then
        # it is retried (ambiguous, so recognised) on the next member.
        self.write_attempt_timeout = write_attempt_timeout
        self.compact_interval = compact_interval
        self.compact_retain = compact_retain
        self._compactor: asyncio.Task[None] | None = None
        self._channel: grpc.aio.Channel | None = None
        self._idx = 0  # the endpoint in use; requests go to one member and move on when it fails
        self._gen = 0  # bumped for every new channel
        self._closers: set[asyncio.Task[None]] = set()
        self._kv: Any = None
        self._watch: Any = None
        self._closing = False

    @property
    def _where(self) -> str:
        return ", ".join(f"{h}:{p}" for h, p in self.endpoints)

    def _open_channel(self) -> None:
        host, port = self.endpoints[self._idx]
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self._kv = rpc.KVStub(self._channel)
        self._watch = rpc.WatchStub(self._channel)
        self._gen += 1

    def _failover(self, gen: int) -> None:
        """Moves to the next endpoint after a failure on channel generation ``gen`` (once per failure:
        calls that failed on an older channel do not move it again). The old channel is closed after a
        grace period so calls still running on it can finish."""
        if gen != self._gen or self._channel is None or len(self.endpoints) == 1:
            return
        old = self._channel
        self._idx = (self._idx + 1) % len(self.endpoints)
        log.info("etcd endpoint failed; switching to %s:%s", *self.endpoints[self._idx])
        self._open_channel()
        task = asyncio.get_running_loop().create_task(old.close(grace=5.0))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def start(self) -> None:
        self._closing = False
        self._open_channel()
        try:
            await self._call("Range", rpc.RangeRequest(key=b"/", count_only=True), self.connect_timeout)
        except StoreError:
            await self.close()
            raise
        if self.compact_interval > 0:
            self._compactor = asyncio.create_task(self._auto_compact())

    async def _auto_compact(self) -> None:
        """Keeps the last ``compact_retain`` revisions, as Kubernetes' API server does for etcd. Several
        stores on one cluster may all do it: compacting an already compacted revision is ignored."""
        while True:
            await asyncio.sleep(self.compact_interval)
            try:
                target = await self.current_revision() - self.compact_retain
                if target > 1:
                    await self.compact(target)
            except CompactedError:
                pass
            except StoreError as e:
                log.warning("automatic compaction failed: %s", e)

    async def close(self) -> None:
        self._closing = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
            self._compactor = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        for task in list(self._closers):
            task.cancel()

    # -- calls and errors ------------------------------------------------------------------------

    async def _call(self, method: str, req: Any, retry_for: float | None = None) -> Any:
        """Runs one RPC, retrying while etcd is unavailable; maps etcd's errors to store errors."""
        if self._channel is None:
            raise StoreUnavailableError("the etcd store is not started")
        deadline = time.monotonic() + (self.retry_for if retry_for is None else retry_for)
        timeout = retry_for if retry_for else self.request_timeout  # connecting waits connect_timeout
        delay = 0.02
        while True:
            gen = self._gen
            try:
                return await getattr(self._kv, method)(req, timeout=timeout)
            except asyncio.CancelledError:
                if not self._closed_under(gen):
                    raise
                last = "its channel was closed after a failover"
            except grpc.aio.AioRpcError as e:
                if not _retryable(e):
                    raise self._error(e) from None
                self._failover(gen)
                last = e.details() or e.code().name
            if time.monotonic() + delay > deadline or self._closing:
                raise StoreUnavailableError(f"etcd at {self._where} is unavailable: {last}") from None
            log.debug("etcd unavailable (%s); retrying in %.2fs", last, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _closed_under(self, gen: int) -> bool:
        """A CancelledError from grpc that is not our task's: a failover closed the call's channel
        (after its grace period) under it. Such a call failed like an UNAVAILABLE one."""
        task = asyncio.current_task()
        return gen != self._gen and (task is None or task.cancelling() == 0)

    def _error(self, e: grpc.aio.AioRpcError) -> StoreError:
        details = e.details() or ""
        if "too large" in details:
            return TooLargeError(f"etcd refused the request: {details}")
        if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return StoreUnavailableError(f"etcd at {self._where} cannot write: {details}")
        return StoreError(f"etcd: {details} ({e.code().name})")

    async def _range(self, req: Any) -> Any:
        try:
            return await self._call("Range", req)
        except StoreError as e:
            if "compacted" in str(e):
                raise CompactedError(req.revision, await self.compacted_revision()) from None
            if "future revision" in str(e):
                raise FutureRevisionError(req.revision, await self.current_revision()) from None
            raise

    async def _write(self, req: Any, recognise: Callable[[], Awaitable[Any]] | None = None) -> Any:
        """One transaction; when an UNAVAILABLE attempt may have been applied, ``recognise`` is asked
        (after the retry failed its compare) whether the effect is the write's own."""
        if self._channel is None:
            raise StoreUnavailableError("the etcd store is not started")
        ambiguous = False
        deadline = time.monotonic() + self.retry_for
        delay = 0.02
        while True:
            gen = self._gen
            try:
                resp = await self._kv.Txn(req, timeout=self.write_attempt_timeout)
            except asyncio.CancelledError:
                if not self._closed_under(gen):
                    raise
                last = "its channel was closed after a failover"
                ambiguous = True
            except grpc.aio.AioRpcError as e:
                if not _retryable(e):
                    raise self._error(e) from None
                self._failover(gen)
                last = e.details() or e.code().name
                ambiguous = True
            else:
                if not resp.succeeded and ambiguous and recognise is not None:
                    mine = await recognise()
                    if mine is not None:
                        return mine
                return resp
            if time.monotonic() + delay > deadline or self._closing:
                raise StoreUnavailableError(f"etcd at {self._where} is unavailable: {last}") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # -- reads -----------------------------------------------------------------------------------

    async def current_revision(self) -> int:
        resp = await self._call("Range", rpc.RangeRequest(key=b"/", count_only=True))
        return int(resp.header.revision)

    async def check(self) -> None:
        """A linearizable read (it needs a quorum), given up after a short while."""
        await self._call("Range", rpc.RangeRequest(key=b"/", count_only=True), retry_for=PROBE_RETRY)

    async def compacted_revision(self) -> int:
        """etcd has no call for it: the smallest revision a read at that revision still accepts
        (found by bisection over count-only reads)."""
        lo, hi = 1, await self.current_revision()

        async def readable(rev: int) -> bool:
            try:
                await self._call("Range", rpc.RangeRequest(key=b"/", count_only=True, revision=rev))
                return True
            except StoreError as e:
                if "compacted" in str(e):
                    return False
                raise

        if await readable(lo):
            return 0
        while lo < hi:
            mid = (lo + hi) // 2
            if await readable(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    async def get(self, key: str, revision: int | None = None) -> KeyValue | None:
        resp = await self._range(rpc.RangeRequest(key=key.encode(), revision=revision or 0))
        return _kv(resp.kvs[0]) if resp.kvs else None

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int | None = None,
    ) -> RangeResult:
        bprefix = prefix.encode()
        start = bprefix
        if start_after is not None and start_after.encode() >= bprefix:
            start = start_after.encode() + b"\0"
        req = rpc.RangeRequest(
            key=start or b"\0", range_end=key_end(bprefix), limit=limit, revision=revision or 0
        )
        resp = await self._range(req)
        kvs = [KeyValue(kv.key.decode(), kv.value, kv.create_revision, kv.mod_revision) for kv in resp.kvs]
        return RangeResult(kvs, revision or resp.header.revision, bool(resp.more))

    async def count(self, prefix: str) -> int:
        bprefix = prefix.encode()
        resp = await self._range(
            rpc.RangeRequest(key=bprefix or b"\0", range_end=key_end(bprefix), count_only=True)
        )
        return int(resp.count)

    # -- writes ----------------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        check_sizes(key, value)
        bkey = key.encode()
        req = rpc.TxnRequest(
            compare=[
                rpc.Compare(key=bkey, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)
            ],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=bkey, value=value))],
        )

        async def recognise() -> KeyValue | None:
            cur = await self.get(key)
            if cur is not None and cur.value == value and cur.create_revision == cur.mod_revision:
                return cur
            return None

        resp = await self._write(req, recognise)
        if isinstance(resp, KeyValue):
            return resp
        if not resp.succeeded:
            raise KeyExistsError(key)
        rev = resp.header.revision
        return KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        check_sizes(key, value)
        bkey = key.encode()
        req = rpc.TxnRequest(
            compare=[
                rpc.Compare(
                    key=bkey,
                    target=rpc.Compare.MOD,
                    result=rpc.Compare.EQUAL,
                    mod_revision=expected_mod_revision,
                )
            ],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=bkey, value=value, prev_kv=True))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=bkey))],
        )

        async def recognise() -> KeyValue | None:
            # The compare lets this write through only as the first change after the expected
            # revision: walk the key's history back to that change and see whether it is this value.
            # (Looking at the current value alone misses a write applied and then overwritten, and
            # would answer "conflict" for a write that happened.)
            cur = await self.get(key)
            for _ in range(_RECOGNISE_STEPS):
                if cur is None:
                    break  # deleted since: its history before the delete is out of reach
                if cur.mod_revision <= expected_mod_revision:
                    return None  # not changed since the expected revision: the write did not apply
                try:
                    before = await self.get(key, revision=cur.mod_revision - 1)
                except CompactedError:
                    break
                if before is not None and before.mod_revision == expected_mod_revision:
                    return cur if cur.value == value else None
                cur = before
            raise OutcomeUnknownError(f"etcd at {self._where}: an update of {key} may have been applied")

        resp = await self._write(req, recognise)
        if isinstance(resp, KeyValue):
            return resp
        if not resp.succeeded:
            _raise_guard_failed(key, resp)
        prev = resp.responses[0].response_put.prev_kv
        return KeyValue(key, value, prev.create_revision, resp.header.revision)

    async def delete(self, key: str, expected_mod_revision: int | None = None) -> KeyValue:
        check_sizes(key)
        bkey = key.encode()
        compare = []
        if expected_mod_revision is not None:
            compare.append(
                rpc.Compare(
                    key=bkey,
                    target=rpc.Compare.MOD,
                    result=rpc.Compare.EQUAL,
                    mod_revision=expected_mod_revision,
                )
            )
        req = rpc.TxnRequest(
            compare=compare,
            success=[rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=bkey, prev_kv=True))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=bkey))],
        )

        async def recognise() -> KeyValue | None:
            # Ours if the version we expected was deleted: the first revision after it at which the
            # key no longer holds that version is a delete (found by bisection over reads).
            if expected_mod_revision is None or await self.get(key) is not None:
                return None
            try:
                lo, hi = expected_mod_revision, await self.current_revision()
                last = await self.get(key, revision=lo)
                if last is None or last.mod_revision != expected_mod_revision:
                    return None
                while hi - lo > 1:  # invariant: the expected version at lo, not at hi
                    mid = (lo + hi) // 2
                    at = await self.get(key, revision=mid)
                    if at is not None and at.mod_revision == expected_mod_revision:
                        lo = mid
                    else:
                        hi = mid
                if await self.get(key, revision=hi) is not None:
                    return None  # replaced by an update, not deleted
            except CompactedError:
                return None
            return KeyValue(key, last.value, last.create_revision, hi)

        resp = await self._write(req, recognise)
        if isinstance(resp, KeyValue):
            return resp
        if not resp.succeeded:
            _raise_guard_failed(key, resp)
        prev_kvs = resp.responses[0].response_delete_range.prev_kvs
        if not prev_kvs:
            raise KeyNotFoundError(key)
        prev = prev_kvs[0]
        return KeyValue(key, prev.value, prev.create_revision, resp.header.revision)

    async def compact(self, revision: int) -> None:
        try:
            await self._call("Compact", rpc.CompactionRequest(revision=revision))
        except StoreError as e:
            if "compacted" in str(e):
                raise CompactedError(revision, await self.compacted_revision()) from None
            if "future revision" in str(e):
                raise FutureRevisionError(revision, await self.current_revision()) from None
            raise

    async def put_raw(self, puts: list[tuple[str, bytes]], deletes: list[str]) -> int:
        """One unguarded transaction of puts and deletes (restore); returns its revision."""
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=k.encode(), value=v)) for k, v in puts]
        ops += [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k.encode())) for k in deletes]
        # An empty key in ``deletes`` means every key.
        for op in ops:
            if op.HasField("request_delete_range") and not op.request_delete_range.key:
                op.request_delete_range.key = b"\0"
                op.request_delete_range.range_end = b"\0"
        resp = await self._call("Txn", rpc.TxnRequest(success=ops), retry_for=0)
        return int(resp.header.revision)

    # -- watch -----------------------------------------------------------------------------------

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        if self._channel is None:
            raise StoreUnavailableError("the etcd store is not started")
        if start_revision <= 0:
            start_revision = await self.current_revision() + 1
        bprefix = prefix.encode()
        next_rev = start_revision
        failing_since: float | None = None
        delay = 0.02
        while True:
            gen = self._gen
            call = self._watch.Watch(metadata=_WATCH_METADATA)
            try:
                await call.write(
                    rpc.WatchRequest(
                        create_request=rpc.WatchCreateRequest(
                            key=bprefix, range_end=key_end(bprefix), start_revision=next_rev, prev_kv=True
                        )
                    )
                )
                while True:
                    resp = await self._read_or_moved(call, gen)
                    if resp is None:  # another call moved the store to a new endpoint: follow it
                        log.info(
                            "watch on %s moves to the new etcd endpoint at revision %d", prefix, next_rev
                        )
                        break
                    if resp is grpc.aio.EOF:
                        break
                    if resp.compact_revision:
                        raise CompactedError(next_rev, resp.compact_revision)
                    if resp.canceled:  # e.g. the member lost its leader: try the next one
                        log.info("etcd cancelled a watch on %s: %s; resuming", prefix, resp.cancel_reason)
                        self._failover(gen)
                        break
                    failing_since = None
                    delay = 0.02
                    if not resp.events:
                        continue
                    batch = []
                    for ev in resp.events:
                        kv = ev.kv
                        prev = _kv(ev.prev_kv) if ev.HasField("prev_kv") else None
                        if kv.mod_revision < next_rev:
                            continue  # already delivered before a resumption
                        if ev.type == _PUT:
                            batch.append(Event("PUT", _kv(kv), prev))
                        else:
                            batch.append(
                                Event("DELETE", KeyValue(kv.key.decode(), b"", 0, kv.mod_revision), prev)
                            )
                    if batch:
                        next_rev = batch[-1].kv.mod_revision + 1
                        yield batch
            except grpc.aio.AioRpcError as e:
                if self._closing:
                    return  # the store was closed under the watch: the watch just ends
                if e.code() in _RETRYABLE:
                    self._failover(gen)
                elif e.code() != grpc.StatusCode.CANCELLED:  # CANCELLED: its channel was replaced
                    raise self._error(e) from None
                log.info("watch on %s broke (%s); resuming from revision %d", prefix, e.details(), next_rev)
            except asyncio.CancelledError:
                if not self._closed_under(gen):
                    raise
                log.info("watch on %s lost its channel; resuming from revision %d", prefix, next_rev)
            except asyncio.InvalidStateError:  # written to a stream that had already ended
                log.info("watch on %s broke; resuming from revision %d", prefix, next_rev)
            finally:
                call.cancel()
            if self._closing or self._channel is None:
                return
            now = time.monotonic()
            failing_since = failing_since or now
            if now - failing_since > self.retry_for:
                raise StoreUnavailableError(f"etcd at {self._where} is unavailable: cannot resume a watch")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _read_or_moved(self, call: Any, gen: int) -> Any:
        """The next message of a watch stream, or None once the store has moved to another channel.

        Closing a replaced channel cancels its streams, and grpc.aio raises that as CancelledError in
        whoever awaits the read: read in a task of its own so that it cannot end the whole watch.
        """
        if gen != self._gen:
            return None
        read = asyncio.ensure_future(call.read())
        try:
            while True:
                done, _ = await asyncio.wait({read}, timeout=_WATCH_CHANNEL_CHECK_S)
                if done:
                    return None if read.cancelled() else read.result()
                if gen != self._gen:
                    return None
        finally:
            if not read.done():
                call.cancel()
                read.cancel()
                read.add_done_callback(lambda f: f.cancelled() or f.exception())


def _retryable(e: grpc.aio.AioRpcError) -> bool:
    """Worth another endpoint: the member is gone, hangs, or cannot get the request agreed on (no
    quorum, no leader). A write that failed so may still be applied if a quorum forms: ambiguous."""
    return e.code() in _RETRYABLE or any(s in (e.details() or "") for s in _NO_QUORUM)


def _raise_guard_failed(key: str, resp: Any) -> NoReturn:
    """A guarded write's compare failed: its failure branch read the key (absent, or the current value)."""
    kvs = resp.responses[0].response_range.kvs
    if not kvs:
        raise KeyNotFoundError(key)
    raise ConflictError(key, _kv(kvs[0]))
