"""An EventRecorder that posts core/v1 Events in the background, correlating repeats as client-go does.

    recorder = EventRecorder(client, "default-scheduler")
    recorder.start()
    recorder.event(pod, "Normal", "Scheduled", "Successfully assigned default/web to node-1")

`event()` never blocks and never raises: it decides in memory what to send and queues it; workers post
it. Rules (client-go's event correlator, by behaviour):
- an identical event (same source, object, type, reason, message) seen before bumps `count` and
  `lastTimestamp` of the Event already posted (a PATCH) instead of creating another;
- more than `max_similar` (10) events differing only in message for one object and reason within
  `similar_window` (10 min) are combined: "(combined from similar events): <message>", one Event counted;
- a token bucket per source and object (burst 25, one token per 5 min) drops floods;
- a full queue (1000) drops the event rather than blocking the caller;
- with `qps`, the workers send at most that many a second (bursts of `qps_burst`), as client-go's sink is
  held to its client's QPS: under a flood the queue fills and the surplus is dropped, so that events
  never take the API server's capacity from the work they describe (the scheduler's bindings).
Events for one correlation key always go through the same worker, so a count never overtakes its create.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from skiff.api.core import Event, EventSource, ObjectReference
from skiff.api.meta import ObjectMeta, now_micro, now_rfc3339

from .rest import ApiError, Client, ClientError

log = logging.getLogger("skiff.client.events")

NORMAL = "Normal"
WARNING = "Warning"
COMBINED_PREFIX = "(combined from similar events): "


@dataclass
class _Send:
    key: str
    name: str
    namespace: str
    event: Event  # full body for a create
    patch: dict[str, Any] | None  # count/lastTimestamp/message for a repeat


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str


class _LRU(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def touch(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class _RateLimiter:
    """A token bucket shared by the workers: qps tokens a second, at most burst in hand."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = float(max(1, burst))
        self.tokens = self.burst
        self.last = time.monotonic()

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.qps)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self.tokens) / self.qps)


def reference_to(obj: Any, field_path: str | None = None) -> ObjectReference:
    """An ObjectReference to a Struct object, a dict object, or an ObjectReference itself."""
    if isinstance(obj, ObjectReference):
        return obj
    if isinstance(obj, dict):
        m = obj.get("metadata") or {}
        return ObjectReference(
            kind=obj.get("kind"),
            api_version=obj.get("apiVersion"),
            namespace=m.get("namespace"),
            name=m.get("name"),
            uid=m.get("uid"),
            resource_version=m.get("resourceVersion"),
            field_path=field_path,
        )
    m = obj.metadata
    return ObjectReference(
        kind=getattr(obj, "kind", None) or getattr(obj, "KIND", None),
        api_version=getattr(obj, "api_version", None) or getattr(obj, "API_VERSION", None),
        namespace=m.namespace,
        name=m.name,
        uid=m.uid,
        resource_version=m.resource_version,
        field_path=field_path,
    )


class EventRecorder:
    def __init__(
        self,
        client: Client,
        component: str,
        host: str | None = None,
        *,
        instance: str | None = None,
        workers: int = 4,
        queue_size: int = 1000,
        burst: int = 25,
        refill_seconds: float = 300.0,
        max_similar: int = 10,
        similar_window: float = 600.0,
        cache_size: int = 4096,
        max_tries: int = 3,
        qps: float = 0.0,
        qps_burst: int = 100,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host if host is not None else socket.gethostname()
        self.instance = instance or f"{component}-{self.host}"
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_similar = max_similar
        self.similar_window = similar_window
        self.max_tries = max_tries
        self._limiter = _RateLimiter(qps, qps_burst) if qps > 0 else None
        self._queues: list[asyncio.Queue[_Send]] = [asyncio.Queue(queue_size) for _ in range(max(1, workers))]
        self._tasks: list[asyncio.Task[None]] = []
        self._seen = _LRU(cache_size)  # dedup key -> _Seen
        self._similar = _LRU(cache_size)  # aggregate key -> (window start, set of messages)
        self._buckets = _LRU(cache_size)  # spam key -> [tokens, last refill]
        self.posted = 0
        self.patched = 0
        self.dropped = 0
        self.failed = 0

    # -------------------------------------------------------------------------- public

    def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._worker(q), name=f"events-{i}") for i, q in enumerate(self._queues)
        ]

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Send what is queued (up to flush_timeout), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_timeout):
                await self.flush()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []

    async def flush(self) -> None:
        """Wait until every queued event has been sent (or given up on)."""
        for q in self._queues:
            await q.join()

    def event(
        self,
        obj: Any,
        type: str,
        reason: str,
        message: str,
        *,
        action: str | None = None,
        field_path: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        """Record an event about obj (a Struct, a dict object or an ObjectReference). Never blocks.
        ``annotations`` go on the Event's metadata (skiff's trace details, skiff.api.wellknown)."""
        if any(q.full() for q in self._queues):
            self.dropped += 1  # overloaded: drop before spending anything on it
            return
        try:
            self._record(reference_to(obj, field_path), type, reason, message, action, annotations)
        except Exception:  # an event must never break its caller
            log.exception("dropping event %s", reason)
            self.dropped += 1

    # -------------------------------------------------------------------------- correlation

    def _record(
        self,
        ref: ObjectReference,
        type: str,
        reason: str,
        message: str,
        action: str | None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        obj_key = f"{ref.kind}/{ref.namespace}/{ref.name}/{ref.uid}/{ref.api_version}"
        source_key = f"{self.component}/{self.host}"
        now = time.monotonic()

        # Spam filter: a token bucket per source and object.
        spam_key = f"{source_key}/{obj_key}"
        bucket = self._buckets.get(spam_key)
        if bucket is None:
            bucket = [float(self.burst), now]
        else:
            bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) / self.refill_seconds)
            bucket[1] = now
        self._buckets.touch(spam_key, bucket)
        if bucket[0] < 1.0:
            self.dropped += 1
            return
        bucket[0] -= 1.0

        # Aggregation: too many distinct messages for one object and reason become one counted event.
        agg_key = f"{source_key}/{obj_key}/{type}/{reason}"
        window = self._similar.get(agg_key)
        if window is None or now - window[0] > self.similar_window:
            window = (now, set[str]())
        window[1].add(message)
        self._similar.touch(agg_key, window)
        if len(window[1]) > self.max_similar:
            message = COMBINED_PREFIX + message
            dedup_key = agg_key
        else:
            dedup_key = f"{agg_key}/{message}"

        ts = now_rfc3339()
        namespace = ref.namespace or "default"
        seen = self._seen.get(dedup_key)
        if seen is not None:
            seen.count += 1
            self._seen.touch(dedup_key, seen)
            patch = {"count": seen.count, "lastTimestamp": ts, "message": message}
            ev = self._new_event(ref, seen.name, seen.namespace, type, reason, message, action)
            ev.count = seen.count
            ev.first_timestamp = seen.first_timestamp
            self._enqueue(_Send(dedup_key, seen.name, seen.namespace, ev, patch))
            return
        name = f"{ref.name}.{time.time_ns():x}"
        ev = self._new_event(ref, name, namespace, type, reason, message, action)
        if annotations:
            ev.metadata.annotations = dict(annotations)
        self._seen.touch(dedup_key, _Seen(name, namespace, 1, ts))
        self._enqueue(_Send(dedup_key, name, namespace, ev, None))

    def _new_event(
        self,
        ref: ObjectReference,
        name: str,
        namespace: str,
        type: str,
        reason: str,
        message: str,
        action: str | None,
    ) -> Event:
        ts = now_rfc3339()
        return Event(
            metadata=ObjectMeta(name=name, namespace=namespace),
            involved_object=ref,
            reason=reason,
            message=message,
            source=EventSource(component=self.component, host=self.host),
            first_timestamp=ts,
            last_timestamp=ts,
            count=1,
            type=type,
            event_time=now_micro(),
            action=action or reason,
            reporting_component=self.component,
            reporting_instance=self.instance,
        )

    def _enqueue(self, send: _Send) -> None:
        q = self._queues[zlib.crc32(send.key.encode()) % len(self._queues)]
        try:
            q.put_nowait(send)
        except asyncio.QueueFull:
            self.dropped += 1

    # -------------------------------------------------------------------------- sending

    async def _worker(self, q: asyncio.Queue[_Send]) -> None:
        while True:
            send = await q.get()
            try:
                if self._limiter is not None:
                    await self._limiter.wait()
                await self._send(send)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event worker failed")
            finally:
                q.task_done()

    async def _send(self, send: _Send) -> None:
        for attempt in range(self.max_tries):
            try:
                if send.patch is not None:
                    try:
                        await self.client.patch(Event, send.name, send.patch, send.namespace)
                        self.patched += 1
                        return
                    except ApiError as e:
                        if not e.not_found:
                            raise
                        # The first copy was deleted (or never made it): post it afresh.
                        send.patch = None
                try:
                    await self.client.create(send.event, send.namespace)
                except ApiError as e:
                    if not e.already_exists:
                        raise
                self.posted += 1
                return
            except ApiError as e:
                if e.code < 500 and e.code != 429:
                    log.warning("event %s rejected: %s", send.event.reason, e)
                    self.failed += 1
                    return
                err: Exception = e
            except ClientError as e:
                err = e
            if attempt + 1 < self.max_tries:
                await asyncio.sleep(0.5 * 2**attempt)
        log.warning("giving up on event %s: %s", send.event.reason, err)
        self.failed += 1
