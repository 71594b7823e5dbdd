"""meta/v1: ObjectMeta, ListMeta, OwnerReference, Status, and time helpers.

Every Struct in skiff.api derives from `Base` (camelCase JSON names, defaults omitted on encode).
Top-level kinds derive from `Object`: `kind` and `apiVersion` are filled from class constants when
absent, so every encoded object carries them (clients need both).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec


class Base(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """Base of every object-model Struct (config is inherited by subclasses)."""


class OwnerReference(Base):
    api_version: str = msgspec.field(default_factory=str)
    kind: str = msgspec.field(default_factory=str)
    name: str = msgspec.field(default_factory=str)
    uid: str = msgspec.field(default_factory=str)
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(Base):
    manager: str | None = None
    operation: str | None = None
    api_version: str | None = None
    time: str | None = None
    fields_type: str | None = None
    fields_v1: dict[str, Any] | None = msgspec.field(default=None, name="fieldsV1")
    subresource: str | None = None


class ObjectMeta(Base):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    self_link: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = None


class ListMeta(Base):
    self_link: str | None = None
    resource_version: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")
    remaining_item_count: int | None = None


class Object(Base):
    """A top-level kind: TypeMeta (kind, apiVersion) plus metadata.

    Subclasses set KIND and API_VERSION; decode keeps a client's own values (so a server can reject
    a mismatch) and fills them when absent.
    """

    KIND: ClassVar[str] = ""
    API_VERSION: ClassVar[str] = ""

    kind: str | None = None
    api_version: str | None = None
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = self.KIND
        if self.api_version is None:
            self.api_version = self.API_VERSION


class ListBase(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of the List kinds: kind, apiVersion, metadata and items are always encoded."""

    kind: str = msgspec.field(default_factory=str)
    api_version: str = msgspec.field(default_factory=str)
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


# ----------------------------------------------------------------------------------- Status


class StatusCause(Base):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(Base):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retry_after_seconds: int | None = None


class Status(Base):
    """metav1.Status: the body of every API error (and of some successes, e.g. delete).

    kind and apiVersion are filled on construction, so they are always encoded.
    """

    kind: str | None = None
    api_version: str | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = "Status"
        if self.api_version is None:
            self.api_version = "v1"


# Status reasons (metav1.StatusReason) used across skiff.
REASON_NOT_FOUND = "NotFound"
REASON_ALREADY_EXISTS = "AlreadyExists"
REASON_CONFLICT = "Conflict"
REASON_INVALID = "Invalid"
REASON_BAD_REQUEST = "BadRequest"
REASON_FORBIDDEN = "Forbidden"
REASON_UNAUTHORIZED = "Unauthorized"
REASON_METHOD_NOT_ALLOWED = "MethodNotAllowed"
REASON_GONE = "Gone"
REASON_EXPIRED = "Expired"
REASON_TIMEOUT = "Timeout"
REASON_TOO_MANY_REQUESTS = "TooManyRequests"
REASON_REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
REASON_UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
REASON_NOT_ACCEPTABLE = "NotAcceptable"
REASON_INTERNAL_ERROR = "InternalError"
REASON_SERVICE_UNAVAILABLE = "ServiceUnavailable"


def failure(code: int, reason: str, message: str, details: StatusDetails | None = None) -> Status:
    return Status(status="Failure", code=code, reason=reason, message=message, details=details)


# ----------------------------------------------------------------------------------- time

RFC3339_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MICRO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """metav1.Time: RFC 3339, second precision, UTC with Z."""
    return t.astimezone(UTC).strftime(RFC3339_FORMAT)


def format_micro_time(t: datetime) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, UTC with Z (events.k8s.io, Lease)."""
    return t.astimezone(UTC).strftime(MICRO_FORMAT)


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def epoch_micro_time(t: float) -> str:
    """metav1.MicroTime of a time.time() value, without a datetime and formatting each second once
    (the scheduler stamps two per pod)."""
    global _second
    secs, us = divmod(round(t * 1_000_000), 1_000_000)
    last = _second  # one read: another thread may replace it meanwhile
    if last[0] != secs:
        last = _second = (secs, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)))
    return f"{last[1]}.{us:06d}Z"


def now_rfc3339() -> str:
    return time.strftime(RFC3339_FORMAT, time.gmtime())


def now_micro() -> str:
    return epoch_micro_time(time.time())


def parse_time(s: str) -> datetime:
    """Parse an RFC 3339 time with `Z` or a numeric offset, with or without fractional seconds.

    Raises ValueError on anything else (including a time without a zone).
    """
    if not isinstance(s, str) or len(s) < 20 or s[10] not in "Tt":
        raise ValueError(f"invalid RFC 3339 time {s!r}")
    text = s
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    # Python's fromisoformat accepts 1-6 fractional digits only in some versions; normalise to 6.
    dot = text.find(".", 19)
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        frac = text[dot + 1 : end]
        if not frac:
            raise ValueError(f"invalid RFC 3339 time {s!r}")
        text = text[:dot] + "." + (frac + "000000")[:6] + text[end:]
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid RFC 3339 time {s!r}") from None
    if t.tzinfo is None:
        raise ValueError(f"invalid RFC 3339 time {s!r}: no time zone")
    return t.astimezone(UTC)


def normalize_time(s: str | None) -> str | None:
    """A metav1.Time as Kubernetes writes it (second precision, UTC, Z); unparseable input unchanged."""
    if not s or (len(s) == 20 and s[-1] == "Z"):
        return s
    try:
        return format_time(parse_time(s))
    except ValueError:
        return s


def normalize_micro_time(s: str | None) -> str | None:
    """A metav1.MicroTime as Kubernetes writes it (microseconds, UTC, Z); unparseable input unchanged."""
    if not s or (len(s) == 27 and s[-1] == "Z"):
        return s
    try:
        return format_micro_time(parse_time(s))
    except ValueError:
        return s


def is_valid_time(s: str) -> bool:
    try:
        parse_time(s)
    except ValueError:
        return False
    return True


class Preconditions(Base):
    uid: str | None = None
    resource_version: str | None = None


class DeleteOptions(Base):
    """meta/v1 DeleteOptions: the optional body of a DELETE (and of an Eviction)."""

    kind: str | None = None
    api_version: str | None = None
    grace_period_seconds: int | None = None
    preconditions: Preconditions | None = None
    orphan_dependents: bool | None = None
    propagation_policy: str | None = None
    dry_run: list[str] | None = None
    ignore_store_read_error_with_cluster_breaking_potential: bool | None = None
