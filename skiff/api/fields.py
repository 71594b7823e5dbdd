"""Field selectors: `spec.nodeName=n1,status.phase!=Failed`, and the selectable fields of each kind.

Parsing follows Kubernetes: comma-separated terms, each `field=value`, `field==value` or
`field!=value`; in values `\\`, `\\,` and `\\=` escape a backslash, comma and equals sign.
A field a kind does not offer is an error worded as Kubernetes words it
(`field label not supported: spec.foo`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import coordination, core, events, scheduling


class FieldSelectorError(ValueError):
    pass


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=" (also for "==") or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        actual = fields.get(self.field, "")
        return actual == self.value if self.operator == "=" else actual != self.value

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


class FieldSelector:
    __slots__ = ("requirements",)

    def __init__(self, requirements: tuple[FieldRequirement, ...] = ()) -> None:
        self.requirements = requirements

    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def requires_exact(self, field: str) -> str | None:
        """The value `field` must equal for a match, when the selector pins it (for indexing)."""
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None

    def fields(self) -> list[str]:
        return [r.field for r in self.requirements]

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def escape_value(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(s: str) -> str:
    if "\\" not in s and "," not in s and "=" not in s:
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            raise FieldSelectorError(f"invalid field selector: unescaped character in value: {c}")
        else:
            out.append(c)
    if in_slash:
        raise FieldSelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(s: str) -> list[str]:
    terms: list[str] = []
    start = 0
    escaped = False
    for i, c in enumerate(s):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


_OPERATORS = ("!=", "==", "=")


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse(s: str) -> FieldSelector:
    """Parse a field selector string (FieldSelectorError when malformed)."""
    reqs: list[FieldRequirement] = []
    for term in sorted(_split_terms(s)):
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise FieldSelectorError(f"invalid selector: '{s}'; can't understand '{term}'")
        lhs, op, rhs = parts
        reqs.append(FieldRequirement(lhs.strip(), "!=" if op == "!=" else "=", unescape_value(rhs)))
    return FieldSelector(tuple(reqs))


def from_set(fields: Mapping[str, str]) -> FieldSelector:
    return FieldSelector(tuple(FieldRequirement(k, "=", v) for k, v in sorted(fields.items())))


# ------------------------------------------------------------------------- per-kind field sets

FieldGetter = Callable[[Any], dict[str, str]]


def _bool(v: bool | None) -> str:
    return "true" if v else "false"


def _meta(obj: Any, namespaced: bool) -> dict[str, str]:
    m = obj.metadata
    out = {"metadata.name": m.name or ""}
    if namespaced:
        out["metadata.namespace"] = m.namespace or ""
    return out


def pod_fields(pod: core.Pod) -> dict[str, str]:
    spec, status = pod.spec, pod.status
    out = _meta(pod, True)
    out["spec.nodeName"] = spec.node_name or ""
    out["spec.restartPolicy"] = spec.restart_policy or ""
    out["spec.schedulerName"] = spec.scheduler_name or ""
    out["spec.serviceAccountName"] = spec.service_account_name or ""
    out["spec.hostNetwork"] = _bool(spec.host_network)
    out["status.phase"] = (status.phase if status else None) or ""
    out["status.podIP"] = (status.pod_ip if status else None) or ""
    out["status.nominatedNodeName"] = (status.nominated_node_name if status else None) or ""
    return out


def node_fields(node: core.Node) -> dict[str, str]:
    out = _meta(node, False)
    out["spec.unschedulable"] = _bool(node.spec.unschedulable)
    return out


def namespace_fields(ns: core.Namespace) -> dict[str, str]:
    out = _meta(ns, False)
    out["status.phase"] = (ns.status.phase if ns.status else None) or ""
    return out


def event_fields(ev: core.Event) -> dict[str, str]:
    out = _meta(ev, True)
    io = ev.involved_object
    out["involvedObject.kind"] = io.kind or ""
    out["involvedObject.namespace"] = io.namespace or ""
    out["involvedObject.name"] = io.name or ""
    out["involvedObject.uid"] = io.uid or ""
    out["involvedObject.apiVersion"] = io.api_version or ""
    out["involvedObject.resourceVersion"] = io.resource_version or ""
    out["involvedObject.fieldPath"] = io.field_path or ""
    out["reason"] = ev.reason or ""
    out["reportingComponent"] = ev.reporting_component or ""
    out["source"] = (ev.source.component if ev.source else None) or ""
    out["type"] = ev.type or ""
    return out


def _namespaced_meta(obj: Any) -> dict[str, str]:
    return _meta(obj, True)


def _cluster_meta(obj: Any) -> dict[str, str]:
    return _meta(obj, False)


# (group, plural) -> the Struct type the getter reads, and the getter.
_GETTERS: dict[tuple[str, str], FieldGetter] = {
    ("", "pods"): pod_fields,
    ("", "nodes"): node_fields,
    ("", "namespaces"): namespace_fields,
    ("", "events"): event_fields,
    ("coordination.k8s.io", "leases"): _namespaced_meta,
    ("scheduling.k8s.io", "priorityclasses"): _cluster_meta,
}

_SAMPLES: dict[tuple[str, str], Any] = {
    ("", "pods"): core.Pod(),
    ("", "nodes"): core.Node(),
    ("", "namespaces"): core.Namespace(),
    ("", "events"): core.Event(),
    ("coordination.k8s.io", "leases"): coordination.Lease(),
    ("scheduling.k8s.io", "priorityclasses"): scheduling.PriorityClass(),
}
_SUPPORTED: dict[tuple[str, str], frozenset[str]] = {
    k: frozenset(_GETTERS[k](v)) for k, v in _SAMPLES.items()
}

# events.k8s.io/v1 names its fields differently; its objects are stored as core/v1 Events.
_EVENTS_V1_ALIASES = {
    "regarding.kind": "involvedObject.kind",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name",
    "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
}


def supported_fields(group: str, plural: str) -> frozenset[str]:
    if (group, plural) == ("events.k8s.io", "events"):
        base = _SUPPORTED[("", "events")]
        return base | frozenset(_EVENTS_V1_ALIASES)
    return _SUPPORTED.get((group, plural), frozenset({"metadata.name", "metadata.namespace"}))


def for_storage(sel: FieldSelector, group: str, plural: str) -> FieldSelector:
    """Check every field is selectable for the resource and rename fields to the stored kind's names.

    Raises FieldSelectorError(`field label not supported: X`) for an unknown field.
    """
    supported = supported_fields(group, plural)
    reqs = []
    for r in sel.requirements:
        if r.field not in supported:
            raise FieldSelectorError(f"field label not supported: {r.field}")
        if group == "events.k8s.io" and r.field in _EVENTS_V1_ALIASES:
            r = FieldRequirement(_EVENTS_V1_ALIASES[r.field], r.operator, r.value)
        reqs.append(r)
    return FieldSelector(tuple(reqs))


def getter(group: str, plural: str) -> FieldGetter:
    """The field-set function for objects stored under (group, plural) (events.k8s.io -> core)."""
    if (group, plural) == ("events.k8s.io", "events"):
        return event_fields
    return _GETTERS.get((group, plural), _namespaced_meta)


def field_set(group: str, plural: str, obj: Any) -> dict[str, str]:
    if isinstance(obj, events.Event):
        obj = events.to_core(obj)
    return getter(group, plural)(obj)


def matches(sel: FieldSelector, group: str, plural: str, obj: Any) -> bool:
    if sel.empty():
        return True
    return sel.matches(field_set(group, plural, obj))
