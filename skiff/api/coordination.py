"""coordination.k8s.io/v1: Lease (node heartbeats, leader election)."""

from __future__ import annotations

import msgspec

from .meta import Base, ListBase, Object


class LeaseSpec(Base):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None  # MicroTime
    renew_time: str | None = None  # MicroTime
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(Object):
    KIND = "Lease"
    API_VERSION = "coordination.k8s.io/v1"

    spec: LeaseSpec = msgspec.field(default_factory=LeaseSpec)


class LeaseList(ListBase):
    kind: str = "LeaseList"
    api_version: str = "coordination.k8s.io/v1"
    items: list[Lease] = msgspec.field(default_factory=list)
