"""Admission: what happens to an object between decoding and the store, beyond its strategy.

- defaults and validation of the typed model (``skiff.api``) where it knows the kind;
- pod priority from its PriorityClass (or the global default one);
- metadata validation every kind shares (names, labels).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from skiff.apiserver import errors
from skiff.apiserver.resources import Cause, Obj, ResourceInfo

if TYPE_CHECKING:
    from skiff.apiserver.handlers import Handlers

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kinds whose names must be DNS-1123 labels (the rest: subdomains).
_LABEL_NAMED = {"Namespace"}


def _name_causes(info: ResourceInfo, meta: Obj) -> list[Cause]:
    name = meta.get("name")
    if not name:
        if meta.get("generateName"):
            return []
        return [
            {
                "reason": "FieldValueRequired",
                "message": "Required value: name or generateName is required",
                "field": "metadata.name",
            }
        ]
    if not isinstance(name, str):
        return [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: name must be a string",
                "field": "metadata.name",
            }
        ]
    if info.kind in _LABEL_NAMED:
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            return [
                {
                    "reason": "FieldValueInvalid",
                    "message": f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of '
                    "lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric character "
                    "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                    "field": "metadata.name",
                }
            ]
        return []
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return [
            {
                "reason": "FieldValueInvalid",
                "message": f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                "lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "field": "metadata.name",
            }
        ]
    return []


def _meta_causes(meta: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for fld in ("labels", "annotations"):
        v = meta.get(fld)
        if v is None:
            continue
        if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()
        ):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: must be a map of strings",
                    "field": f"metadata.{fld}",
                }
            )
    return causes


def validate(info: ResourceInfo, obj: Obj, old: Obj | None) -> None:
    meta = obj.get("metadata") or {}
    causes = _name_causes(info, meta) + _meta_causes(meta)
    causes += info.strategy.validate(obj, old)
    causes += _model_causes(info, obj, old)
    if causes:
        raise errors.invalid(
            info.group, info.kind, str(meta.get("name") or meta.get("generateName") or ""), causes
        )


def _model_causes(info: ResourceInfo, obj: Obj, old: Obj | None) -> list[Cause]:
    """The typed model's validation, when ``skiff.api`` provides it for this kind."""
    try:
        from skiff.api import validation  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return []
    fn: Any = getattr(validation, "validate_dict", None)
    if fn is None:
        return []
    out: list[Cause] = fn(info.api_version, info.kind, obj, old)
    return out


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
