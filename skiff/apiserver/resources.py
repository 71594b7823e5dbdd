"""What the API serves: one ResourceInfo per resource, each with the Strategy for its kind.

A Strategy holds the per-kind rules the generic handlers apply: defaults on create, validation,
which part of an update the main resource and the status subresource may change, the fields a field
selector can use, and the Table columns kubectl prints. Objects are plain dicts in Kubernetes' JSON
shape; the typed model in ``skiff.api`` does defaulting and validation where it knows the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
Cause = dict[str, str]

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Strategy:
    """Default rules: spec/status split, generation bumped on changes outside metadata and status."""

    has_status = True

    def prepare_create(self, obj: Obj) -> None:
        """Defaults for a new object (after server-filled metadata)."""

    def validate(self, obj: Obj, old: Obj | None) -> list[Cause]:
        return []

    def prepare_update(self, new: Obj, old: Obj) -> None:
        """The main resource cannot change status (when the kind has a status subresource)."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_status_update(self, new: Obj, old: Obj) -> None:
        """The status subresource changes status only: everything else comes from the stored object."""
        status = new.get("status")
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        if status is not None:
            new["status"] = status

    def prepare_finalize_update(self, new: Obj, old: Obj) -> None:
        """The finalize subresource (namespaces only, whose strategy overrides this)."""
        self.prepare_update(new, old)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        for k in set(new) | set(old):
            if k in ("metadata", "status", "kind", "apiVersion"):
                continue
            if new.get(k) != old.get(k):
                return True
        return False

    def fields(self, obj: Obj) -> dict[str, str]:
        meta = obj.get("metadata") or {}
        f = {"metadata.name": meta.get("name", "")}
        if "namespace" in meta:
            f["metadata.namespace"] = meta.get("namespace", "")
        return f

    # Table output: column definitions and one row's cells.
    def columns(self) -> list[dict[str, Any]]:
        return [name_column(), age_column()]

    def cells(self, obj: Obj, now: float) -> list[Any]:
        return [name_of(obj), age_of(obj, now)]


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def name_column() -> dict[str, Any]:
    return column(
        "Name",
        "string",
        "Name must be unique within a namespace. Is required when creating resources, although some "
        "resources may allow a client to request the generation of an appropriate name automatically.",
        fmt="name",
    )


def age_column() -> dict[str, Any]:
    return column(
        "Age",
        "string",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    )


def column(name: str, type_: str, description: str = "", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def age_of(obj: Obj, now: float) -> str:
    from skiff.apiserver.timeutil import parse_time, short_duration

    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    t = parse_time(ts)
    if t is None:
        return "<unknown>"
    return short_duration(now - t)


@dataclass
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    strategy: Strategy
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    subresources: dict[str, str] = field(default_factory=dict)  # name -> kind
    # Where objects live in the store (several resources may share one, as events do).
    storage_plural: str = ""
    # Convert between the stored shape and this resource's shape (events.k8s.io over core events).
    to_stored: Any = None
    from_stored: Any = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gv_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def store_plural(self) -> str:
        return self.storage_plural or self.plural
