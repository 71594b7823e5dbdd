"""Admission: what happens to an object between decoding and the store, beyond its strategy.

- defaults and validation of the typed model (``skiff.api``) where it knows the kind;
- pod priority from its PriorityClass (or the global default one);
- metadata validation every kind shares (names, labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skiff.api import defaults, validation
from skiff.apiserver import errors
from skiff.apiserver.resources import Obj, ResourceInfo

if TYPE_CHECKING:
    from skiff.apiserver.handlers import Handlers


def validate(info: ResourceInfo, obj: Obj, old: Obj | None, sub: str | None = None) -> None:
    """422 Invalid with Kubernetes' causes when the object breaks its kind's rules."""
    causes = validation.validate_dict(
        str(obj.get("apiVersion") or info.api_version), str(obj.get("kind") or info.kind), obj, old, sub
    )
    causes += info.strategy.validate(obj, old)
    if causes:
        meta = obj.get("metadata") or {}
        name = meta.get("name") or meta.get("generateName") or ""
        raise errors.invalid(info.group, info.kind, str(name), causes)


def defaults_for_create(obj: Obj) -> Obj:
    return defaults.prepare_create_dict(str(obj["apiVersion"]), str(obj["kind"]), obj)


def defaults_for_update(obj: Obj) -> Obj:
    return defaults.default_dict(str(obj["apiVersion"]), str(obj["kind"]), obj)


async def admit_create(h: Handlers, info: ResourceInfo, obj: Obj, warnings: list[str]) -> None:
    if info.kind == "Pod" and not info.group:
        await _pod_priority(h, obj)


async def _pod_priority(h: Handlers, pod: Obj) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    pcs = h.cache.resource("priorityclasses").objects
    name = spec.get("priorityClassName")
    if name:
        c = pcs.get("/" + str(name))
        pc = c.obj if c is not None else None
        if pc is None:
            try:
                pc, _ = await h.storage.get(h_info(h, "priorityclasses"), "", str(name))
            except errors.APIError:
                pc = None
        if pc is None:
            meta = pod.get("metadata") or {}
            raise errors.APIError(
                403,
                "Forbidden",
                f'pods "{meta.get("name", "")}" is forbidden: no PriorityClass with name {name} was found',
                {"name": meta.get("name", ""), "kind": "pods"},
            )
    else:
        pc = next((c.obj for c in pcs.values() if c.obj.get("globalDefault")), None)
        if pc is not None:
            spec["priorityClassName"] = pc["metadata"]["name"]
    if pc is not None:
        spec["priority"] = int(pc.get("value", 0))
        spec.setdefault("preemptionPolicy", pc.get("preemptionPolicy") or "PreemptLowerPriority")
    else:
        spec.setdefault("priority", 0)


def h_info(h: Handlers, plural: str) -> ResourceInfo:
    return h.by_store_plural[plural]
