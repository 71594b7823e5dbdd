"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules and defaults.

    elector = LeaderElector(client, "kube-system", "kube-scheduler", identity,
                            on_started_leading=run_scheduler, on_stopped_leading=exit_process)
    await elector.run()   # returns once leadership is lost (or the task is cancelled)

- Candidates try to acquire every retry_period (2 s, jittered up to +20%).
- A lease held by another is respected while it is *observed* unchanged for less than its
  leaseDurationSeconds (15 s), measured on the candidate's own clock from when it last saw the record
  change, so clock skew between machines does not matter. An empty holderIdentity is free at once.
- Acquiring bumps leaseTransitions and sets acquireTime; renewing only moves renewTime. Writes are
  guarded by the lease's resourceVersion, so of two candidates exactly one wins a round.
- The leader renews every retry_period; if it cannot renew for renew_deadline (10 s) it stops leading:
  on_started_leading's task is cancelled and on_stopped_leading is called.
- On shutdown (cancel) a leader releases the lease (holder "", duration 1 s) so another takes over at
  once, unless release_on_cancel is False.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.meta import ObjectMeta, now_micro

from .rest import ApiError, Client, ClientError

log = logging.getLogger("skiff.client.leaderelection")

JITTER = 1.2


def default_identity() -> str:
    """hostname_uuid, as kube-scheduler and kube-controller-manager name themselves."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class LeaderElector:
    def __init__(
        self,
        client: Client,
        namespace: str,
        name: str,
        identity: str | None = None,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        on_started_leading: Callable[[], Coroutine[Any, Any, None]] | None = None,
        on_stopped_leading: Callable[[], Any] | None = None,
        on_new_leader: Callable[[str], Any] | None = None,
        release_on_cancel: bool = True,
    ) -> None:
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER * retry_period:
            raise ValueError("renew_deadline must be greater than retry_period*1.2")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.release_on_cancel = release_on_cancel
        self._observed: LeaseSpec | None = None
        self._observed_rv: str | None = None
        self._observed_at = 0.0  # monotonic time the observed record last changed
        self._leader_reported: str | None = None
        self._is_leader = False
        self.leading = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def leader(self) -> str | None:
        """The holder last observed (None before the first look)."""
        return self._observed.holder_identity if self._observed else None

    # -------------------------------------------------------------------------- main loop

    async def run(self) -> None:
        """Acquire, lead until renewal fails, then return. Cancelling releases a held lease."""
        work: asyncio.Task[None] | None = None
        try:
            await self._acquire()
            self._is_leader = True
            self.leading.set()
            log.info(
                "became leader", extra={"kv": {"lease": f"{self.namespace}/{self.name}", "id": self.identity}}
            )
            if self.on_started_leading is not None:
                work = asyncio.get_running_loop().create_task(self.on_started_leading(), name="leading")
            await self._renew_until_lost(work)
            log.warning("leader election lost", extra={"kv": {"lease": f"{self.namespace}/{self.name}"}})
        finally:
            was_leader = self._is_leader
            self._is_leader = False
            self.leading.clear()
            if work is not None and not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
            elif work is not None and not work.cancelled() and work.exception() is not None:
                log.error("the leader's work failed", exc_info=work.exception())
            if was_leader:
                if self.release_on_cancel:
                    # Shielded: the release must go out even though we are being cancelled.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self._release())
                if self.on_stopped_leading is not None:
                    r = self.on_stopped_leading()
                    if asyncio.iscoroutine(r):
                        await r

    async def _acquire(self) -> None:
        while True:
            if await self.try_acquire_or_renew():
                return
            await asyncio.sleep(self.retry_period * (1 + (JITTER - 1) * random.random()))

    async def _renew_until_lost(self, work: asyncio.Task[None] | None) -> None:
        while True:
            deadline = time.monotonic() + self.renew_deadline
            renewed = False
            while time.monotonic() < deadline:
                left = deadline - time.monotonic()
                # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation.
                try:
                    async with asyncio.timeout(max(left, 0.01)):
                        renewed = await self.try_acquire_or_renew()
                except TimeoutError:
                    renewed = False
                if renewed:
                    break
                await asyncio.sleep(min(self.retry_period, max(deadline - time.monotonic(), 0)))
            if not renewed:
                return
            if work is not None and work.done():
                # The leader's work ended on its own: stop leading (and release) as client-go does.
                return
            await asyncio.sleep(self.retry_period)

    # -------------------------------------------------------------------------- one round

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: create the lease, renew ours, or take an expired or released one."""
        now = now_micro()
        try:
            lease = await self.client.get(Lease, self.name, self.namespace)
        except ApiError as e:
            if not e.not_found:
                log.warning("error retrieving lease: %s", e)
                return False
            spec = LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=_seconds(self.lease_duration),
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            )
            try:
                created = await self.client.create(
                    Lease(metadata=ObjectMeta(name=self.name, namespace=self.namespace), spec=spec)
                )
            except ClientError as e2:
                log.info("error creating lease: %s", e2)
                return False
            self._observe(created)
            return True
        except ClientError as e:
            log.warning("error retrieving lease: %s", e)
            return False

        self._observe(lease)
        old = lease.spec
        holder = old.holder_identity or ""
        if holder and holder != self.identity and not self._observed_expired():
            return False
        if holder == self.identity:
            acquire_time = old.acquire_time or now
            transitions = old.lease_transitions or 0
        else:
            acquire_time = now
            transitions = (old.lease_transitions or 0) + 1
        lease.spec = LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=_seconds(self.lease_duration),
            acquire_time=acquire_time,
            renew_time=now,
            lease_transitions=transitions,
        )
        try:
            updated = await self.client.update(lease)
        except ClientError as e:
            log.info("failed to update lease: %s", e)
            return False
        self._observe(updated)
        return True

    async def _release(self) -> None:
        """Give the lease up: empty holder, 1 s duration, transitions kept."""
        try:
            lease = await self.client.get(Lease, self.name, self.namespace)
        except ClientError:
            return
        if lease.spec.holder_identity != self.identity:
            return
        now = now_micro()
        lease.spec = LeaseSpec(
            holder_identity="",
            lease_duration_seconds=1,
            acquire_time=now,
            renew_time=now,
            lease_transitions=lease.spec.lease_transitions or 0,
        )
        try:
            self._observe(await self.client.update(lease))
            log.info("released lease", extra={"kv": {"lease": f"{self.namespace}/{self.name}"}})
        except ClientError as e:
            log.warning("failed to release lease: %s", e)

    def _observe(self, lease: Lease) -> None:
        spec = lease.spec
        if self._observed is None or spec != self._observed:
            self._observed = spec
            self._observed_at = time.monotonic()
        self._observed_rv = lease.metadata.resource_version
        holder = spec.holder_identity or ""
        if holder and holder != self._leader_reported:
            self._leader_reported = holder
            if holder != self.identity:
                log.info("new leader observed", extra={"kv": {"leader": holder}})
            if self.on_new_leader is not None:
                r = self.on_new_leader(holder)
                if asyncio.iscoroutine(r):
                    asyncio.get_running_loop().create_task(r)

    def _observed_expired(self) -> bool:
        spec = self._observed
        duration = float(spec.lease_duration_seconds or 0) if spec else 0.0
        return self._observed_at + duration <= time.monotonic()


def _seconds(x: float) -> int:
    return max(1, round(x))
