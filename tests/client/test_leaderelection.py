"""Lease-based leader election with two candidates on a live API server (short durations)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from skiff.api.coordination import Lease
from skiff.client import ApiError, Client
from skiff.client.leaderelection import LeaderElector

from .util import eventually

# Short, but with room for a busy machine: a renewal may take a second without costing the lease.
FAST = {"lease_duration": 4.0, "renew_deadline": 3.0, "retry_period": 0.5}


class Candidate:
    def __init__(self, client: Client, ns: str, identity: str, **kw: Any) -> None:
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.working = False
        self.elector = LeaderElector(
            client,
            ns,
            "lock",
            identity,
            on_started_leading=self.lead,
            on_stopped_leading=self.stopped.set,
            **{**FAST, **kw},
        )
        self.task = asyncio.get_running_loop().create_task(self.elector.run())

    async def lead(self) -> None:
        self.started.set()
        self.working = True
        try:
            await asyncio.Event().wait()
        finally:
            self.working = False

    async def cancel(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def lease(client: Client, ns: str) -> Lease:
    return await client.get(Lease, "lock", ns)


async def test_one_leads_and_the_other_takes_over_when_it_stops_renewing(client: Client, ns: str) -> None:
    a = Candidate(client, ns, "a", release_on_cancel=False)
    await a.started.wait()
    b = Candidate(client, ns, "b")
    try:
        first = await lease(client, ns)
        assert first.spec.holder_identity == "a"
        assert first.spec.lease_duration_seconds == 4
        assert first.spec.lease_transitions == 0
        assert first.spec.acquire_time and first.spec.renew_time

        # b keeps trying but a renews: a stays the only leader across several lease durations.
        await eventually(lambda: b.elector.leader == "a", what="b observes a")
        renewed = await eventually(
            lambda: _renewed_after(client, ns, first.spec.renew_time or ""), what="a renews"
        )
        assert renewed.spec.acquire_time == first.spec.acquire_time
        assert not b.started.is_set() and a.elector.is_leader and not b.elector.is_leader

        # a dies without releasing: b must wait for the lease to expire, then take it.
        await a.cancel()
        assert (await lease(client, ns)).spec.holder_identity == "a"
        await asyncio.wait_for(b.started.wait(), 30)
        taken = await lease(client, ns)
        assert taken.spec.holder_identity == "b"
        assert taken.spec.lease_transitions == 1
        assert taken.spec.acquire_time != first.spec.acquire_time
        assert a.stopped.is_set() and not a.working
    finally:
        await a.cancel()
        await b.cancel()


async def _renewed_after(client: Client, ns: str, renew_time: str) -> Lease | None:
    current = await lease(client, ns)
    return current if (current.spec.renew_time or "") > renew_time else None


async def test_release_on_shutdown_hands_over_at_once(client: Client, ns: str) -> None:
    a = Candidate(client, ns, "a")
    await a.started.wait()
    await a.cancel()  # releases
    released = await lease(client, ns)
    assert released.spec.holder_identity == ""
    assert released.spec.lease_duration_seconds == 1
    assert a.stopped.is_set()

    # A fresh candidate does not wait out any lease duration: the lease is free.
    b = Candidate(client, ns, "b", lease_duration=60.0, renew_deadline=40.0)
    try:
        await asyncio.wait_for(b.started.wait(), 30)
        taken = await lease(client, ns)
        assert taken.spec.holder_identity == "b" and taken.spec.lease_transitions == 1
    finally:
        await b.cancel()


async def test_leader_that_cannot_renew_stops_leading(client: Client, ns: str) -> None:
    a = Candidate(client, ns, "a")
    await a.started.wait()
    # Someone else takes the lease over behind a's back (as a partition would let happen): a fails
    # to renew for the renew deadline and steps down, cancelling its work.
    current = await lease(client, ns)
    current.spec.holder_identity = "intruder"
    current.spec.lease_duration_seconds = 3600
    while True:
        try:
            await client.update(current)
            break
        except ApiError as e:
            if not e.conflict:
                raise
            current = await lease(client, ns)
            current.spec.holder_identity = "intruder"
            current.spec.lease_duration_seconds = 3600
    await asyncio.wait_for(a.stopped.wait(), 30)
    await asyncio.wait_for(a.task, 30)  # run() returns once leadership is lost
    assert not a.working and not a.elector.is_leader
    assert (await lease(client, ns)).spec.holder_identity == "intruder"  # not released: not ours


def test_durations_are_checked() -> None:
    with pytest.raises(ValueError):
        LeaderElector(None, "ns", "x", "id", lease_duration=5, renew_deadline=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LeaderElector(None, "ns", "x", "id", renew_deadline=2, retry_period=2)  # type: ignore[arg-type]
