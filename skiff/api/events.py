"""events.k8s.io/v1 Event, and conversion to and from the core/v1 Event.

Both APIs serve one storage (kept in core/v1 form): regarding <-> involvedObject, note <-> message,
reportingController <-> reportingComponent, deprecatedX <-> X. The result gets its own ObjectMeta
(a shallow copy), so changing one side's metadata does not change the other's.
"""

from __future__ import annotations

import msgspec

from . import core
from .meta import Base, ListBase, Object


class EventSeries(Base):
    count: int = msgspec.field(default_factory=int)
    last_observed_time: str = msgspec.field(default_factory=str)  # MicroTime


class Event(Object):
    KIND = "Event"
    API_VERSION = "events.k8s.io/v1"

    event_time: str | None = None  # MicroTime; required by validation on create
    series: EventSeries | None = None
    reporting_controller: str | None = None
    reporting_instance: str | None = None
    action: str | None = None
    reason: str | None = None
    regarding: core.ObjectReference | None = None
    related: core.ObjectReference | None = None
    note: str | None = None
    type: str | None = None
    deprecated_source: core.EventSource | None = None
    deprecated_first_timestamp: str | None = None
    deprecated_last_timestamp: str | None = None
    deprecated_count: int | None = None


class EventList(ListBase):
    kind: str = "EventList"
    api_version: str = "events.k8s.io/v1"
    items: list[Event] = msgspec.field(default_factory=list)


def from_core(ev: core.Event) -> Event:
    """A stored core/v1 Event as an events.k8s.io/v1 Event."""
    series = None
    if ev.series is not None:
        series = EventSeries(
            count=ev.series.count or 0, last_observed_time=ev.series.last_observed_time or ""
        )
    return Event(
        metadata=msgspec.structs.replace(ev.metadata),
        event_time=ev.event_time,
        series=series,
        reporting_controller=ev.reporting_component,
        reporting_instance=ev.reporting_instance,
        action=ev.action,
        reason=ev.reason,
        regarding=ev.involved_object,
        related=ev.related,
        note=ev.message,
        type=ev.type,
        deprecated_source=ev.source,
        deprecated_first_timestamp=ev.first_timestamp,
        deprecated_last_timestamp=ev.last_timestamp,
        deprecated_count=ev.count,
    )


def to_core(ev: Event) -> core.Event:
    """An events.k8s.io/v1 Event in the core/v1 form used for storage."""
    series = None
    if ev.series is not None:
        series = core.EventSeries(count=ev.series.count, last_observed_time=ev.series.last_observed_time)
    return core.Event(
        metadata=msgspec.structs.replace(ev.metadata),
        involved_object=ev.regarding if ev.regarding is not None else core.ObjectReference(),
        reason=ev.reason,
        message=ev.note,
        source=ev.deprecated_source,
        first_timestamp=ev.deprecated_first_timestamp,
        last_timestamp=ev.deprecated_last_timestamp,
        count=ev.deprecated_count,
        type=ev.type,
        event_time=ev.event_time,
        series=series,
        action=ev.action,
        related=ev.related,
        reporting_component=ev.reporting_controller,
        reporting_instance=ev.reporting_instance,
    )
