"""Admission: what happens to an object between decoding and the store, beyond its strategy.

- defaults and validation of the typed model (``skiff.api``) where it knows the kind;
- pod priority from its PriorityClass (or the global default one);
- metadata validation every kind shares (names, labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from skiff.api import codec, core, defaults, kinds, validation
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


def create_defaults_and_validate(info: ResourceInfo, obj: Obj) -> Obj:
    """Defaults (scheme defaults plus what Kubernetes does on create) and validation in one pass over
    the typed model: the object is read into its Struct once. Raises 422 with the causes."""
    k = kinds.by_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
    if k is None:
        return obj
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or meta.get("generateName") or "")
    try:
        typed = codec.from_builtins(k.type, obj)
    except codec.DecodeError as e:
        field = e.field or ""
        cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {e.message}", "field": field}
        raise errors.invalid(info.group, info.kind, name, [cause]) from None
    defaults.apply(typed)
    if isinstance(typed, core.Pod):
        defaults.add_default_tolerations(typed)
        defaults.prepare_pod_for_create(typed)
    elif isinstance(typed, core.Namespace):
        defaults.prepare_namespace_for_create(typed)
    errs = validation.validate(typed)
    if errs:
        raise errors.invalid(info.group, info.kind, name, [e.cause_dict() for e in errs])
    out: Obj = msgspec.to_builtins(typed)
    return out


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
