"""Kubernetes' validation: field paths, reasons and messages as the real API server gives them.

Every validator returns a list of FieldError (empty when valid). `invalid_status(kind, name, errs)`
builds the 422 Status kubectl prints as `The Pod "bad" is invalid: spec.containers[0].image: Required
value`. Run defaulting (skiff.api.defaults) before validating, as Kubernetes does.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from . import coordination, core, defaults, events, kinds, scheduling
from .codec import DecodeError, from_builtins
from .meta import ObjectMeta, Status, StatusCause, StatusDetails, is_valid_time
from .names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
)
from .quantity import Quantity, QuantityError, parse

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"

_TYPE_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    DUPLICATE: "Duplicate value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    NOT_FOUND: "Not found",
}

_OMIT: Any = object()  # a value that is not printed


def _fmt_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, msgspec.Struct):
        v = msgspec.to_builtins(v)
    try:
        return json.dumps(v, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(v)


@dataclass
class FieldError:
    type: str
    field: str
    value: Any = _OMIT
    detail: str = ""

    def body(self) -> str:
        """The message without the field (Kubernetes' ErrorBody), used as the cause's message."""
        text = _TYPE_TEXT.get(self.type, self.type)
        if self.type not in (REQUIRED, FORBIDDEN, TOO_LONG) and self.value is not _OMIT:
            text = f"{text}: {_fmt_value(self.value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def cause(self) -> StatusCause:
        return StatusCause(reason=self.type, message=self.body(), field=self.field)

    def cause_dict(self) -> dict[str, str]:
        """The StatusCause as JSON-ready builtins."""
        return {"reason": self.type, "message": self.body(), "field": self.field}


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, _OMIT, detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, field, value, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, field, value)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    vals = ", ".join(json.dumps(s) for s in supported)
    return FieldError(NOT_SUPPORTED, field, value, f"supported values: {vals}" if vals else "")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, _OMIT, detail)


def too_long(field: str, max_len: int) -> FieldError:
    return FieldError(TOO_LONG, field, _OMIT, f"may not be more than {max_len} bytes")


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(NOT_FOUND, field, value)


def invalid_message(kind: str, name: str, errs: list[FieldError]) -> str:
    """`Pod "x" is invalid: a: ..., or [a: ..., b: ...]` for several errors (Kubernetes' wording)."""
    detail = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
    return f'{kind} "{name}" is invalid: {detail}'


def invalid_status(kind: str, name: str, errs: list[FieldError], group: str = "") -> Status:
    """The 422 Status for a failed validation."""
    return Status(
        status="Failure",
        code=422,
        reason="Invalid",
        message=invalid_message(kind, name, errs),
        details=StatusDetails(
            name=name, group=group or None, kind=kind, causes=[e.cause() for e in errs] or None
        ),
    )


# ------------------------------------------------------------------------------- helpers

NameFn = Callable[[str], list[str]]

_NON_NEGATIVE = "must be greater than or equal to 0"
_PORT_RANGE = "must be between 1 and 65535, inclusive"
_IANA_SVC_CHARS = re.compile(r"[-a-z0-9]+")
_HAS_LETTER = re.compile(r"[a-z]")
_TOTAL_ANNOTATION_SIZE = 256 * 1024


def _mask_trailing_dash(name: str) -> str:
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def _name_checks(value: str, fn: NameFn, prefix: bool = False) -> list[str]:
    return fn(_mask_trailing_dash(value) if prefix else value)


def validate_labels(labels: Mapping[str, str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for k, v in (labels or {}).items():
        for msg in is_qualified_name(k):
            errs.append(invalid(path, k, msg))
        for msg in is_valid_label_value(v):
            errs.append(invalid(path, v, msg))
    return errs


def validate_annotations(annotations: Mapping[str, str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for k, v in (annotations or {}).items():
        for msg in is_qualified_name(k.lower()):
            errs.append(invalid(path, k, msg))
        total += len(k) + len(v)
    if total > _TOTAL_ANNOTATION_SIZE:
        errs.append(too_long(path, _TOTAL_ANNOTATION_SIZE))
    return errs


def validate_object_meta(
    meta: ObjectMeta, namespaced: bool, name_fn: NameFn = is_dns1123_subdomain, path: str = "metadata"
) -> list[FieldError]:
    errs: list[FieldError] = []
    if meta.generate_name:
        for msg in _name_checks(meta.generate_name, name_fn, prefix=True):
            errs.append(invalid(f"{path}.generateName", meta.generate_name, msg))
    if not meta.name:
        if not meta.generate_name:
            errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_fn(meta.name):
            errs.append(invalid(f"{path}.name", meta.name, msg))
    if namespaced:
        if not meta.namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            for msg in is_dns1123_label(meta.namespace):
                errs.append(invalid(f"{path}.namespace", meta.namespace, msg))
    elif meta.namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    if meta.generation is not None and meta.generation < 0:
        errs.append(invalid(f"{path}.generation", meta.generation, _NON_NEGATIVE))
    errs.extend(validate_labels(meta.labels, f"{path}.labels"))
    errs.extend(validate_annotations(meta.annotations, f"{path}.annotations"))
    for i, ref in enumerate(meta.owner_references or ()):
        rp = f"{path}.ownerReferences[{i}]"
        if not ref.api_version:
            errs.append(invalid(f"{rp}.apiVersion", ref.api_version, "version must not be empty"))
        if not ref.kind:
            errs.append(invalid(f"{rp}.kind", ref.kind, "kind must not be empty"))
        if not ref.name:
            errs.append(invalid(f"{rp}.name", ref.name, "name must not be empty"))
        if not ref.uid:
            errs.append(invalid(f"{rp}.uid", ref.uid, "uid must not be empty"))
    for i, f in enumerate(meta.finalizers or ()):
        for msg in is_qualified_name(f):
            errs.append(invalid(f"{path}.finalizers[{i}]", f, msg))
    return errs


def validate_object_meta_update(new: ObjectMeta, old: ObjectMeta, path: str = "metadata") -> list[FieldError]:
    errs: list[FieldError] = []
    # An empty value means "not given" (the server fills it from the stored object); deletion
    # fields are the server's to set, so they are not checked here.
    for field, nv, ov in (
        ("name", new.name, old.name),
        ("namespace", new.namespace, old.namespace),
        ("uid", new.uid, old.uid),
        ("creationTimestamp", new.creation_timestamp, old.creation_timestamp),
    ):
        if nv and nv != ov:
            errs.append(invalid(f"{path}.{field}", nv, "field is immutable"))
    errs.extend(validate_labels(new.labels, f"{path}.labels"))
    errs.extend(validate_annotations(new.annotations, f"{path}.annotations"))
    return errs


def _quantity(value: str, path: str, errs: list[FieldError]) -> Quantity | None:
    try:
        q = parse(value)
    except QuantityError as e:
        errs.append(invalid(path, value, str(e)))
        return None
    if q.sign() < 0:
        errs.append(invalid(path, value, _NON_NEGATIVE))
    return q


def validate_port_number(port: int, path: str) -> list[FieldError]:
    if not 1 <= port <= 65535:
        return [invalid(path, port, _PORT_RANGE)]
    return []


def port_name_errors(name: str) -> list[str]:
    """IANA_SVC_NAME rules for a port name."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not _IANA_SVC_CHARS.fullmatch(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not _HAS_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _port_num_or_name(port: int | str, path: str) -> list[FieldError]:
    if isinstance(port, int):
        return validate_port_number(port, path)
    if not port:
        return [required(path)]
    return [invalid(path, port, msg) for msg in port_name_errors(port)]


# ------------------------------------------------------------------------------- pods

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_TOLERATION_OPS = ("Equal", "Exists")
_PREEMPTION_POLICIES = ("Never", "PreemptLowerPriority")
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _validate_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, msg) for msg in is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        return [invalid(path, name, "must be a standard resource for containers")]
    return []


def _is_extended(name: str) -> bool:
    return "/" in name and not name.split("/", 1)[0].endswith("kubernetes.io")


def validate_resource_requirements(res: core.ResourceRequirements | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if res is None:
        return errs
    limits: dict[str, Quantity] = {}
    for name, value in (res.limits or {}).items():
        p = f"{path}.limits[{name}]"
        errs.extend(_validate_resource_name(name, p))
        q = _quantity(value, p, errs)
        if q is not None:
            limits[name] = q
            if _is_extended(name) and q.nanos % 10**9:
                errs.append(invalid(p, value, "must be an integer"))
    for name, value in (res.requests or {}).items():
        p = f"{path}.requests[{name}]"
        errs.extend(_validate_resource_name(name, p))
        q = _quantity(value, p, errs)
        if q is None:
            continue
        lim = limits.get(name)
        if _is_extended(name):
            if q.nanos % 10**9:
                errs.append(invalid(p, value, "must be an integer"))
            if lim is None:
                errs.append(forbidden(p, "Limit must be set for non overcommitable resources"))
            elif lim != q:
                errs.append(invalid(p, value, f"must be equal to {name} limit of {lim}"))
        elif lim is not None and q > lim:
            errs.append(invalid(p, str(q), f"must be less than or equal to {name} limit of {lim}"))
    return errs


def _validate_http_get(h: core.HTTPGetAction, path: str) -> list[FieldError]:
    errs = _port_num_or_name(h.port, f"{path}.port")
    if h.scheme and h.scheme not in ("HTTP", "HTTPS"):
        errs.append(not_supported(f"{path}.scheme", h.scheme, ("HTTP", "HTTPS")))
    for i, hdr in enumerate(h.http_headers or ()):
        if not hdr.name:
            errs.append(required(f"{path}.httpHeaders[{i}].name"))
    return errs


def _validate_handler(
    h: core.Probe | core.LifecycleHandler, path: str, allowed: tuple[str, ...]
) -> list[FieldError]:
    errs: list[FieldError] = []
    present = [name for name in allowed if getattr(h, _ATTR[name], None) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    if len(present) > 1:
        errs.append(forbidden(f"{path}.{present[1]}", "may not specify more than 1 handler type"))
    if h.http_get is not None:
        errs.extend(_validate_http_get(h.http_get, f"{path}.httpGet"))
    if h.tcp_socket is not None:
        errs.extend(_port_num_or_name(h.tcp_socket.port, f"{path}.tcpSocket.port"))
    if h.exec is not None and not h.exec.command:
        errs.append(required(f"{path}.exec.command"))
    grpc = getattr(h, "grpc", None)
    if grpc is not None:
        errs.extend(validate_port_number(grpc.port, f"{path}.grpc.port"))
    sleep = getattr(h, "sleep", None)
    if sleep is not None and sleep.seconds < 0:
        errs.append(invalid(f"{path}.sleep.seconds", sleep.seconds, _NON_NEGATIVE))
    return errs


_ATTR = {"exec": "exec", "httpGet": "http_get", "tcpSocket": "tcp_socket", "grpc": "grpc", "sleep": "sleep"}


def _validate_probe(p: core.Probe | None, path: str, kind: str) -> list[FieldError]:
    if p is None:
        return []
    errs = _validate_handler(p, path, _HANDLERS)
    for field, v in (
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ):
        if v is not None and v < 0:
            errs.append(invalid(f"{path}.{field}", v, _NON_NEGATIVE))
    if kind in ("liveness", "startup") and p.success_threshold is not None and p.success_threshold != 1:
        errs.append(invalid(f"{path}.successThreshold", p.success_threshold, "must be 1"))
    if p.termination_grace_period_seconds is not None:
        if kind == "readiness":
            errs.append(
                invalid(
                    f"{path}.terminationGracePeriodSeconds",
                    p.termination_grace_period_seconds,
                    "must not be set for readinessProbes",
                )
            )
        elif p.termination_grace_period_seconds <= 0:
            errs.append(
                invalid(
                    f"{path}.terminationGracePeriodSeconds",
                    p.termination_grace_period_seconds,
                    "must be greater than 0",
                )
            )
    return errs


_ENV_NAME_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)


def _validate_container(
    c: core.Container,
    path: str,
    volumes: set[str],
    host_network: bool,
    init: bool,
) -> list[FieldError]:
    errs: list[FieldError] = []
    if not c.name:
        errs.append(required(f"{path}.name"))
    else:
        errs.extend(invalid(f"{path}.name", c.name, m) for m in is_dns1123_label(c.name))
    if not c.image:
        errs.append(required(f"{path}.image"))
    elif c.image != c.image.strip():
        errs.append(invalid(f"{path}.image", c.image, "must not have leading or trailing whitespace"))
    if not c.image_pull_policy:
        errs.append(required(f"{path}.imagePullPolicy"))
    elif c.image_pull_policy not in _PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", c.image_pull_policy, _PULL_POLICIES))
    if c.termination_message_policy and c.termination_message_policy not in _TERMINATION_MESSAGE_POLICIES:
        errs.append(
            not_supported(
                f"{path}.terminationMessagePolicy",
                c.termination_message_policy,
                _TERMINATION_MESSAGE_POLICIES,
            )
        )
    if c.restart_policy is not None:
        if not init:
            errs.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
        elif c.restart_policy != "Always":
            errs.append(not_supported(f"{path}.restartPolicy", c.restart_policy, ("Always",)))
    port_names: set[str] = set()
    for i, port in enumerate(c.ports or ()):
        pp = f"{path}.ports[{i}]"
        if port.name:
            errs.extend(invalid(f"{pp}.name", port.name, m) for m in port_name_errors(port.name))
            if port.name in port_names:
                errs.append(duplicate(f"{pp}.name", port.name))
            port_names.add(port.name)
        if port.container_port == 0:
            errs.append(required(f"{pp}.containerPort"))
        else:
            errs.extend(validate_port_number(port.container_port, f"{pp}.containerPort"))
        if port.host_port:
            errs.extend(validate_port_number(port.host_port, f"{pp}.hostPort"))
            if host_network and port.host_port != port.container_port:
                errs.append(
                    invalid(
                        f"{pp}.hostPort",
                        port.host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    )
                )
        if not port.protocol:
            errs.append(required(f"{pp}.protocol"))
        elif port.protocol not in _PROTOCOLS:
            errs.append(not_supported(f"{pp}.protocol", port.protocol, _PROTOCOLS))
        if port.host_ip:
            try:
                ipaddress.ip_address(port.host_ip)
            except ValueError:
                errs.append(invalid(f"{pp}.hostIP", port.host_ip, "must be a valid IP address"))
    for i, env in enumerate(c.env or ()):
        ep = f"{path}.env[{i}]"
        if not env.name:
            errs.append(required(f"{ep}.name"))
        elif "=" in env.name or not all(" " <= ch <= "~" for ch in env.name):
            errs.append(invalid(f"{ep}.name", env.name, _ENV_NAME_MSG))
        if env.value and env.value_from:
            errs.append(invalid(f"{ep}.valueFrom", "", "may not be specified when `value` is not empty"))
    errs.extend(validate_resource_requirements(c.resources, f"{path}.resources"))
    mount_paths: set[str] = set()
    for i, vm in enumerate(c.volume_mounts or ()):
        mp = f"{path}.volumeMounts[{i}]"
        name = vm.get("name")
        if not name:
            errs.append(required(f"{mp}.name"))
        elif not isinstance(name, str):
            errs.append(invalid(f"{mp}.name", name, "must be a string"))
        elif name not in volumes:
            errs.append(not_found(f"{mp}.name", name))
        mount_path = vm.get("mountPath")
        if not mount_path:
            errs.append(required(f"{mp}.mountPath"))
        elif not isinstance(mount_path, str):
            errs.append(invalid(f"{mp}.mountPath", mount_path, "must be a string"))
        elif mount_path in mount_paths:
            errs.append(invalid(f"{mp}.mountPath", mount_path, "must be unique"))
        else:
            mount_paths.add(mount_path)
    errs.extend(_validate_probe(c.liveness_probe, f"{path}.livenessProbe", "liveness"))
    errs.extend(_validate_probe(c.readiness_probe, f"{path}.readinessProbe", "readiness"))
    errs.extend(_validate_probe(c.startup_probe, f"{path}.startupProbe", "startup"))
    if init and c.restart_policy != "Always":
        for field, probe in (
            ("livenessProbe", c.liveness_probe),
            ("readinessProbe", c.readiness_probe),
            ("startupProbe", c.startup_probe),
        ):
            if probe is not None:
                errs.append(
                    forbidden(
                        f"{path}.{field}", "may not be set for init containers without restartPolicy=Always"
                    )
                )
    if c.lifecycle is not None:
        for field, h in (("postStart", c.lifecycle.post_start), ("preStop", c.lifecycle.pre_stop)):
            if h is not None:
                errs.extend(
                    _validate_handler(
                        h, f"{path}.lifecycle.{field}", ("exec", "httpGet", "tcpSocket", "sleep")
                    )
                )
    return errs


def validate_tolerations(tols: list[core.Toleration] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(tols or ()):
        tp = f"{path}[{i}]"
        if t.key:
            errs.extend(invalid(f"{tp}.key", t.key, m) for m in is_qualified_name(t.key))
        if not t.key and t.operator != "Exists":
            errs.append(
                invalid(
                    f"{tp}.operator",
                    t.operator or "",
                    _EMPTY_KEY_OPERATOR,
                )
            )
        if t.toleration_seconds is not None and t.effect != "NoExecute":
            errs.append(
                invalid(
                    f"{tp}.effect",
                    t.effect or "",
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if not t.operator or t.operator == "Equal":
            errs.extend(invalid(f"{tp}.value", t.value or "", m) for m in is_valid_label_value(t.value or ""))
        elif t.operator == "Exists":
            if t.value:
                errs.append(invalid(f"{tp}.operator", t, "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{tp}.operator", t.operator, _TOLERATION_OPS))
        if t.effect and t.effect not in _TAINT_EFFECTS:
            errs.append(not_supported(f"{tp}.effect", t.effect, _TAINT_EFFECTS))
    return errs


_EMPTY_KEY_OPERATOR = (
    'operator must be Exists when `key` is empty, which means "match all values and all keys"'
)
_NODE_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def _validate_node_selector_requirement(r: core.NodeSelectorRequirement, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    values = r.values or []
    if r.operator in ("In", "NotIn"):
        if not values:
            errs.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif r.operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
    elif r.operator in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(
                required(f"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'")
            )
        else:
            try:
                int(values[0])
            except ValueError:
                errs.append(invalid(f"{path}.values[0]", values[0], "must be an integer"))
    else:
        errs.append(invalid(f"{path}.operator", r.operator, "not a valid selector operator"))
    errs.extend(invalid(f"{path}.key", r.key, m) for m in is_qualified_name(r.key))
    return errs


def _validate_node_field_selector_requirement(r: core.NodeSelectorRequirement, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if r.operator not in ("In", "NotIn"):
        errs.append(invalid(f"{path}.operator", r.operator, "not a valid selector operator"))
    elif len(r.values or []) != 1:
        errs.append(
            required(
                f"{path}.values",
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            )
        )
    if r.key != "metadata.name":
        errs.append(invalid(f"{path}.key", r.key, "not a valid field selector key"))
    return errs


def _validate_node_selector_term(term: core.NodeSelectorTerm, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for j, r in enumerate(term.match_expressions or ()):
        errs.extend(_validate_node_selector_requirement(r, f"{path}.matchExpressions[{j}]"))
    for j, r in enumerate(term.match_fields or ()):
        errs.extend(_validate_node_field_selector_requirement(r, f"{path}.matchFields[{j}]"))
    return errs


_LABEL_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(ls: core.LabelSelector | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if ls is None:
        return errs
    for j, r in enumerate(ls.match_expressions or ()):
        rp = f"{path}.matchExpressions[{j}]"
        values = r.values or []
        if r.operator in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{rp}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif r.operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        f"{rp}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
                )
        else:
            errs.append(invalid(f"{rp}.operator", r.operator, "not a valid selector operator"))
        errs.extend(invalid(f"{rp}.key", r.key, m) for m in is_qualified_name(r.key))
        for k, v in enumerate(values):
            errs.extend(invalid(f"{rp}.values[{k}]", v, m) for m in is_valid_label_value(v))
    errs.extend(validate_labels(ls.match_labels, f"{path}.matchLabels"))
    return errs


def _validate_pod_affinity_term(t: core.PodAffinityTerm, path: str) -> list[FieldError]:
    errs = validate_label_selector(t.label_selector, f"{path}.labelSelector")
    errs.extend(validate_label_selector(t.namespace_selector, f"{path}.namespaceSelector"))
    for i, ns in enumerate(t.namespaces or ()):
        errs.extend(invalid(f"{path}.namespace[{i}]", ns, m) for m in is_dns1123_label(ns))
    if not t.topology_key:
        errs.append(required(f"{path}.topologyKey", "can not be empty"))
    else:
        errs.extend(
            invalid(f"{path}.topologyKey", t.topology_key, m) for m in is_qualified_name(t.topology_key)
        )
    for field, keys in (("matchLabelKeys", t.match_label_keys), ("mismatchLabelKeys", t.mismatch_label_keys)):
        for i, k in enumerate(keys or ()):
            errs.extend(invalid(f"{path}.{field}[{i}]", k, m) for m in is_qualified_name(k))
    return errs


def _weight(w: int, path: str) -> list[FieldError]:
    if not 1 <= w <= 100:
        return [invalid(path, w, "must be in the range 1-100")]
    return []


def validate_affinity(a: core.Affinity | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if a is None:
        return errs
    na = a.node_affinity
    if na is not None:
        req = na.required_during_scheduling_ignored_during_execution
        rp = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        if req is not None:
            if not req.node_selector_terms:
                errs.append(required(f"{rp}.nodeSelectorTerms", "must have at least one node selector term"))
            for i, term in enumerate(req.node_selector_terms):
                errs.extend(_validate_node_selector_term(term, f"{rp}.nodeSelectorTerms[{i}]"))
        pp = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
        for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution or ()):
            errs.extend(_weight(pref.weight, f"{pp}[{i}].weight"))
            errs.extend(_validate_node_selector_term(pref.preference, f"{pp}[{i}].preference"))
    for name, pa in (("podAffinity", a.pod_affinity), ("podAntiAffinity", a.pod_anti_affinity)):
        if pa is None:
            continue
        rp = f"{path}.{name}.requiredDuringSchedulingIgnoredDuringExecution"
        for i, pterm in enumerate(pa.required_during_scheduling_ignored_during_execution or ()):
            errs.extend(_validate_pod_affinity_term(pterm, f"{rp}[{i}]"))
        pp = f"{path}.{name}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, wterm in enumerate(pa.preferred_during_scheduling_ignored_during_execution or ()):
            errs.extend(_weight(wterm.weight, f"{pp}[{i}].weight"))
            errs.extend(_validate_pod_affinity_term(wterm.pod_affinity_term, f"{pp}[{i}].podAffinityTerm"))
    return errs


def validate_topology_spread(tscs: list[core.TopologySpreadConstraint] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(tscs or ()):
        cp = f"{path}[{i}]"
        if c.max_skew <= 0:
            errs.append(invalid(f"{cp}.maxSkew", c.max_skew, "must be greater than zero"))
        if not c.topology_key:
            errs.append(required(f"{cp}.topologyKey", "can not be empty"))
        else:
            errs.extend(
                invalid(f"{cp}.topologyKey", c.topology_key, m) for m in is_qualified_name(c.topology_key)
            )
        if c.when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(
                not_supported(
                    f"{cp}.whenUnsatisfiable", c.when_unsatisfiable, ("DoNotSchedule", "ScheduleAnyway")
                )
            )
        if c.min_domains is not None:
            if c.min_domains <= 0:
                errs.append(invalid(f"{cp}.minDomains", c.min_domains, "must be greater than 0"))
            elif c.when_unsatisfiable != "DoNotSchedule":
                errs.append(
                    invalid(
                        f"{cp}.minDomains",
                        c.min_domains,
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
                        f"not {c.when_unsatisfiable}",
                    )
                )
        for field, v in (
            ("nodeAffinityPolicy", c.node_affinity_policy),
            ("nodeTaintsPolicy", c.node_taints_policy),
        ):
            if v is not None and v not in ("Honor", "Ignore"):
                errs.append(not_supported(f"{cp}.{field}", v, ("Honor", "Ignore")))
        pair = (c.topology_key, c.when_unsatisfiable)
        if pair in seen:
            errs.append(duplicate(cp, f"{{{c.topology_key}, {c.when_unsatisfiable}}}"))
        seen.add(pair)
        errs.extend(validate_label_selector(c.label_selector, f"{cp}.labelSelector"))
        for j, k in enumerate(c.match_label_keys or ()):
            errs.extend(invalid(f"{cp}.matchLabelKeys[{j}]", k, m) for m in is_qualified_name(k))
    return errs


def _validate_volumes(vols: list[dict[str, Any]] | None, path: str) -> tuple[set[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, v in enumerate(vols or ()):
        vp = f"{path}[{i}]"
        name = v.get("name")
        if not name:
            errs.append(required(f"{vp}.name"))
        elif not isinstance(name, str):
            errs.append(invalid(f"{vp}.name", name, "must be a string"))
        else:
            errs.extend(invalid(f"{vp}.name", name, m) for m in is_dns1123_label(name))
            if name in names:
                errs.append(duplicate(f"{vp}.name", name))
            names.add(name)
        sources = [k for k in v if k != "name"]
        if not sources:
            errs.append(required(vp, "must specify a volume type"))
        elif len(sources) > 1:
            errs.append(forbidden(f"{vp}.{sources[1]}", "may not specify more than 1 volume type"))
    return names, errs


def validate_pod_spec(spec: core.PodSpec, path: str = "spec") -> list[FieldError]:
    errs: list[FieldError] = []
    volumes, verrs = _validate_volumes(spec.volumes, f"{path}.volumes")
    errs.extend(verrs)
    host_network = bool(spec.host_network)
    if not spec.containers:
        errs.append(required(f"{path}.containers"))
    names: set[str] = set()
    host_ports: set[str] = set()
    for field, containers, init in (
        ("initContainers", spec.init_containers or [], True),
        ("containers", spec.containers, False),
    ):
        for i, c in enumerate(containers):
            cp = f"{path}.{field}[{i}]"
            errs.extend(_validate_container(c, cp, volumes, host_network, init))
            if c.name:
                if c.name in names:
                    errs.append(duplicate(f"{cp}.name", c.name))
                names.add(c.name)
            for j, port in enumerate(c.ports or ()):
                if port.host_port:
                    key = f"{port.protocol or 'TCP'}/{port.host_ip or ''}/{port.host_port}"
                    if key in host_ports:
                        errs.append(duplicate(f"{cp}.ports[{j}].hostPort", key))
                    host_ports.add(key)
    if not spec.restart_policy:
        errs.append(required(f"{path}.restartPolicy"))
    elif spec.restart_policy not in _RESTART_POLICIES:
        errs.append(not_supported(f"{path}.restartPolicy", spec.restart_policy, _RESTART_POLICIES))
    if not spec.dns_policy:
        errs.append(required(f"{path}.dnsPolicy"))
    elif spec.dns_policy not in _DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", spec.dns_policy, _DNS_POLICIES))
    elif spec.dns_policy == "None" and spec.dns_config is None:
        errs.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    if spec.termination_grace_period_seconds is not None and spec.termination_grace_period_seconds < 0:
        errs.append(
            invalid(
                f"{path}.terminationGracePeriodSeconds", spec.termination_grace_period_seconds, _NON_NEGATIVE
            )
        )
    ads = spec.active_deadline_seconds
    if ads is not None and not 1 <= ads <= 2147483647:
        errs.append(
            invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive")
        )
    errs.extend(validate_labels(spec.node_selector, f"{path}.nodeSelector"))
    for field, value, fn in (
        ("nodeName", spec.node_name, is_dns1123_subdomain),
        ("serviceAccountName", spec.service_account_name, is_dns1123_subdomain),
        ("schedulerName", spec.scheduler_name, is_dns1123_subdomain),
        ("priorityClassName", spec.priority_class_name, is_dns1123_subdomain),
        ("hostname", spec.hostname, is_dns1123_label),
        ("subdomain", spec.subdomain, is_dns1123_label),
        ("runtimeClassName", spec.runtime_class_name, is_dns1123_subdomain),
    ):
        if value:
            errs.extend(invalid(f"{path}.{field}", value, m) for m in fn(value))
    errs.extend(validate_affinity(spec.affinity, f"{path}.affinity"))
    errs.extend(validate_tolerations(spec.tolerations, f"{path}.tolerations"))
    errs.extend(
        validate_topology_spread(spec.topology_spread_constraints, f"{path}.topologySpreadConstraints")
    )
    gates: set[str] = set()
    for i, g in enumerate(spec.scheduling_gates or ()):
        gp = f"{path}.schedulingGates[{i}]"
        errs.extend(invalid(f"{gp}.name", g.name, m) for m in is_qualified_name(g.name))
        if g.name in gates:
            errs.append(duplicate(gp, g.name))
        gates.add(g.name)
    if spec.preemption_policy is not None and spec.preemption_policy not in _PREEMPTION_POLICIES:
        errs.append(not_supported(f"{path}.preemptionPolicy", spec.preemption_policy, _PREEMPTION_POLICIES))
    for name, value in (spec.overhead or {}).items():
        _quantity(value, f"{path}.overhead[{name}]", errs)
    if spec.resources is not None:
        errs.extend(validate_resource_requirements(spec.resources, f"{path}.resources"))
    for i, rg in enumerate(spec.readiness_gates or ()):
        errs.extend(
            invalid(f"{path}.readinessGates[{i}].conditionType", rg.condition_type, m)
            for m in is_qualified_name(rg.condition_type)
        )
    return errs


def validate_pod(pod: core.Pod) -> list[FieldError]:
    """ValidatePodCreate: metadata, spec (after defaulting)."""
    errs = validate_object_meta(pod.metadata, True, is_dns1123_subdomain)
    errs.extend(validate_pod_spec(pod.spec))
    return errs


POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _diff_paths(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff_paths(a.get(k), b.get(k), f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff_paths(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(path)


def _toleration_key(t: core.Toleration) -> tuple[Any, ...]:
    return (t.key, t.operator, t.value, t.effect)


def _semantic(v: Any) -> Any:
    """Kubernetes' semantic equality: an empty list or map equals an absent one."""
    if isinstance(v, dict):
        out = {k: _semantic(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not None} or None
    if isinstance(v, list):
        return [_semantic(x) for x in v] or None
    return v


def _gated_selector_errors(ns: core.PodSpec, os_: core.PodSpec) -> list[FieldError]:
    """While a pod is gated, its nodeSelector and required node affinity may only be extended."""
    errs: list[FieldError] = []
    old_sel, new_sel = os_.node_selector or {}, ns.node_selector or {}
    if any(new_sel.get(k) != v for k, v in old_sel.items()):
        errs.append(
            invalid(
                "spec.nodeSelector",
                new_sel,
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            )
        )

    def terms(spec: core.PodSpec) -> list[core.NodeSelectorTerm]:
        na = spec.affinity.node_affinity if spec.affinity else None
        req = na.required_during_scheduling_ignored_during_execution if na else None
        return req.node_selector_terms if req else []

    old_terms, new_terms = terms(os_), terms(ns)
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    if old_terms:
        if len(new_terms) != len(old_terms):
            errs.append(
                invalid(
                    path, new_terms, "no additions/deletions to non-empty NodeSelectorTerms list are allowed"
                )
            )
        else:
            for i, (o, n) in enumerate(zip(old_terms, new_terms, strict=True)):
                for attr in ("match_expressions", "match_fields"):
                    old_reqs, new_reqs = getattr(o, attr) or [], getattr(n, attr) or []
                    if new_reqs[: len(old_reqs)] != old_reqs:
                        errs.append(
                            invalid(
                                f"{path}[{i}]", n, "only additions are allowed (no mutations or deletions)"
                            )
                        )
                        break
    return errs


def validate_pod_update(new: core.Pod, old: core.Pod) -> list[FieldError]:
    """ValidatePodUpdate: metadata rules, a valid new spec, and only the mutable spec fields changed.

    An unchanged spec (the common case: label and status writes) is not validated again: the stored
    one passed validation when it was written.
    """
    errs = validate_object_meta_update(new.metadata, old.metadata)
    ns, os_ = new.spec, old.spec
    new_b: dict[str, Any] = msgspec.to_builtins(ns)
    old_b: dict[str, Any] = msgspec.to_builtins(os_)
    if new_b == old_b or _semantic(new_b) == _semantic(old_b):
        return errs
    errs.extend(validate_pod_spec(ns))
    for field, new_list, old_list in (
        ("containers", ns.containers, os_.containers),
        ("initContainers", ns.init_containers or [], os_.init_containers or []),
    ):
        if len(new_list) != len(old_list):
            errs.append(forbidden(f"spec.{field}", "pod updates may not add or remove containers"))
            return errs
    # activeDeadlineSeconds may be set, or lowered, never raised or removed.
    ads, old_ads = ns.active_deadline_seconds, os_.active_deadline_seconds
    if ads is not None and not 0 <= ads <= 2147483647:
        errs.append(invalid("spec.activeDeadlineSeconds", ads, "must be between 0 and 2147483647, inclusive"))
    elif old_ads is not None:
        if ads is None:
            errs.append(
                invalid(
                    "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
                )
            )
        elif ads > old_ads:
            errs.append(
                invalid("spec.activeDeadlineSeconds", ads, "must be less than or equal to previous value")
            )
    # Tolerations: existing ones stay (their tolerationSeconds may change), new ones may be added.
    new_tols = ns.tolerations or []
    for t in os_.tolerations or ():
        if not any(_toleration_key(t) == _toleration_key(n) for n in new_tols):
            errs.append(
                forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            )
            break
    # Scheduling gates can only be removed.
    old_gates = {g.name for g in os_.scheduling_gates or ()}
    for i, g in enumerate(ns.scheduling_gates or ()):
        if g.name not in old_gates:
            errs.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{g.name}'",
                )
            )
    gated = bool(os_.scheduling_gates)
    if gated:
        errs.extend(_gated_selector_errors(ns, os_))
    # Everything else must be unchanged: compare with the mutable fields set to the old values.
    for key in ("containers", "initContainers"):
        for nc, oc in zip(new_b.get(key) or [], old_b.get(key) or [], strict=True):
            if "image" in oc:
                nc["image"] = oc["image"]
            else:
                nc.pop("image", None)
    skip = ["activeDeadlineSeconds", "tolerations", "schedulingGates"]
    if gated:
        skip += ["nodeSelector", "affinity"]  # checked above: additions only
    for key in skip:
        new_b.pop(key, None)
        old_b.pop(key, None)
    ogp, ngp = os_.termination_grace_period_seconds, ns.termination_grace_period_seconds
    if ogp is not None and ogp < 0 and ngp == 1:
        new_b["terminationGracePeriodSeconds"] = ogp
    new_s, old_s = _semantic(new_b), _semantic(old_b)
    if new_s != old_s:
        changed: list[str] = []
        _diff_paths(old_s or {}, new_s or {}, "spec", changed)
        detail = POD_UPDATE_FORBIDDEN
        if changed:
            detail += "\n  changed: " + ", ".join(changed[:10])
        errs.append(forbidden("spec", detail))
    return errs


_TERMINAL = ("Succeeded", "Failed")


def validate_pod_status_update(new: core.Pod, old: core.Pod) -> list[FieldError]:
    """ValidatePodStatusUpdate (the spec of `new` is ignored: a status write keeps the old spec)."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(pod_status_errors(new, old))
    return errs


def pod_status_errors(new: core.Pod, old: core.Pod) -> list[FieldError]:
    """The status rules of ValidatePodStatusUpdate, without the metadata rules."""
    errs: list[FieldError] = []
    if new.spec.node_name != old.spec.node_name:
        errs.append(forbidden("status.nodeName", "may not be changed directly"))
    status = new.status or core.PodStatus()
    old_status = old.status or core.PodStatus()
    if status.nominated_node_name and status.nominated_node_name != old_status.nominated_node_name:
        errs.extend(
            invalid("status.nominatedNodeName", status.nominated_node_name, m)
            for m in is_dns1123_subdomain(status.nominated_node_name)
        )
    if old_status.phase in _TERMINAL and status.phase != old_status.phase:
        errs.append(
            forbidden(
                "status.phase", f"may not be changed from terminal phase {old_status.phase} to {status.phase}"
            )
        )
    for i, cond in enumerate(status.conditions or ()):
        if not cond.type:
            errs.append(required(f"status.conditions[{i}].type"))
        if cond.status not in ("True", "False", "Unknown"):
            errs.append(
                not_supported(f"status.conditions[{i}].status", cond.status, ("False", "True", "Unknown"))
            )
    for field, statuses in (
        ("containerStatuses", status.container_statuses),
        ("initContainerStatuses", status.init_container_statuses),
    ):
        for i, cs in enumerate(statuses or ()):
            if not cs.name:
                errs.append(required(f"status.{field}[{i}].name"))
            if cs.restart_count < 0:
                errs.append(invalid(f"status.{field}[{i}].restartCount", cs.restart_count, _NON_NEGATIVE))
    # A container that will not restart may not leave the terminated state.
    old_by_name = {cs.name: cs for cs in old_status.container_statuses or ()}
    policy = old.spec.restart_policy
    for i, cs in enumerate(status.container_statuses or ()):
        prev = old_by_name.get(cs.name)
        if prev is None or prev.state is None or prev.state.terminated is None:
            continue
        if cs.state is not None and cs.state.terminated is not None:
            continue
        if policy == "Never" or (policy == "OnFailure" and prev.state.terminated.exit_code == 0):
            errs.append(
                forbidden(
                    f"status.containerStatuses[{i}].state", "may not be transitioned to non-terminated state"
                )
            )
    for field in ("podIP", "hostIP"):
        value = status.pod_ip if field == "podIP" else status.host_ip
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                errs.append(invalid(f"status.{field}", value, "must be a valid IP address"))
    return errs


def validate_binding(b: core.Binding) -> list[FieldError]:
    errs: list[FieldError] = []
    if b.target.kind and b.target.kind != "Node":
        errs.append(not_supported("target.kind", b.target.kind, ("Node", "<empty>")))
    if not b.target.name:
        errs.append(required("target.name"))
    return errs


# ------------------------------------------------------------------------------- nodes


def validate_node(node: core.Node) -> list[FieldError]:
    errs = validate_object_meta(node.metadata, False, is_dns1123_subdomain)
    spec = node.spec
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(spec.taints or ()):
        tp = f"spec.taints[{i}]"
        if not t.key:
            errs.append(required(f"{tp}.key"))
        else:
            errs.extend(invalid(f"{tp}.key", t.key, m) for m in is_qualified_name(t.key))
        if t.value:
            errs.extend(invalid(f"{tp}.value", t.value, m) for m in is_valid_label_value(t.value))
        if not t.effect:
            errs.append(required(f"{tp}.effect"))
        elif t.effect not in _TAINT_EFFECTS:
            errs.append(not_supported(f"{tp}.effect", t.effect, _TAINT_EFFECTS))
        key = (t.key, t.effect)
        if key in seen:
            errs.append(duplicate(tp, f"{t.key}:{t.effect}"))
        seen.add(key)
    cidrs = list(spec.pod_cidrs or ())
    if spec.pod_cidr and spec.pod_cidr not in cidrs:
        cidrs.insert(0, spec.pod_cidr)
    for i, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errs.append(invalid(f"spec.podCIDRs[{i}]", cidr, "must be a valid CIDR"))
    status = node.status
    if status is not None:
        for field, rl in (("capacity", status.capacity), ("allocatable", status.allocatable)):
            for name, value in (rl or {}).items():
                _quantity(value, f"status.{field}[{name}]", errs)
        for i, cond in enumerate(status.conditions or ()):
            if not cond.type:
                errs.append(required(f"status.conditions[{i}].type"))
        for i, addr in enumerate(status.addresses or ()):
            if not addr.type:
                errs.append(required(f"status.addresses[{i}].type"))
    return errs


def validate_node_update(new: core.Node, old: core.Node) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(e for e in validate_node(new) if not e.field.startswith("metadata."))
    if old.spec.pod_cidr and new.spec.pod_cidr != old.spec.pod_cidr:
        errs.append(forbidden("spec.podCIDR", 'node updates may not change podCIDR except from "" to valid'))
    if old.spec.provider_id and new.spec.provider_id != old.spec.provider_id:
        errs.append(
            forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid')
        )
    return errs


# ------------------------------------------------------------------------------- namespaces


def validate_namespace(ns: core.Namespace) -> list[FieldError]:
    errs = validate_object_meta(ns.metadata, False, is_dns1123_label)
    for i, f in enumerate((ns.spec.finalizers if ns.spec else None) or ()):
        if "/" not in f and f != "kubernetes":
            errs.append(
                invalid(
                    f"spec.finalizers[{i}]",
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
        else:
            errs.extend(invalid(f"spec.finalizers[{i}]", f, m) for m in is_qualified_name(f))
    return errs


def validate_namespace_update(new: core.Namespace, old: core.Namespace) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(e for e in validate_namespace(new) if not e.field.startswith("metadata."))
    return errs


# ------------------------------------------------------------------------------- leases


def validate_lease(lease: coordination.Lease) -> list[FieldError]:
    errs = validate_object_meta(lease.metadata, True, is_dns1123_subdomain)
    spec = lease.spec
    if spec.lease_duration_seconds is not None and spec.lease_duration_seconds <= 0:
        errs.append(
            invalid("spec.leaseDurationSeconds", spec.lease_duration_seconds, "must be greater than 0")
        )
    if spec.lease_transitions is not None and spec.lease_transitions < 0:
        errs.append(invalid("spec.leaseTransitions", spec.lease_transitions, _NON_NEGATIVE))
    if spec.strategy is not None and spec.strategy not in ("OldestEmulationVersion",):
        errs.append(not_supported("spec.strategy", spec.strategy, ("OldestEmulationVersion",)))
    if spec.preferred_holder and not spec.strategy:
        errs.append(forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    for field, value in (("acquireTime", spec.acquire_time), ("renewTime", spec.renew_time)):
        if value is not None and not is_valid_time(value):
            errs.append(invalid(f"spec.{field}", value, "must be an RFC 3339 time"))
    return errs


def validate_lease_update(new: coordination.Lease, old: coordination.Lease) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(e for e in validate_lease(new) if not e.field.startswith("metadata."))
    return errs


# ------------------------------------------------------------------------------- service accounts


def validate_service_account(sa: core.ServiceAccount) -> list[FieldError]:
    return validate_object_meta(sa.metadata, True, is_dns1123_subdomain)


def validate_service_account_update(new: core.ServiceAccount, old: core.ServiceAccount) -> list[FieldError]:
    return validate_object_meta_update(new.metadata, old.metadata)


# ------------------------------------------------------------------------------- priority classes


def validate_priority_class(pc: scheduling.PriorityClass) -> list[FieldError]:
    errs = validate_object_meta(pc.metadata, False, is_dns1123_subdomain)
    name = pc.metadata.name or ""
    system = {c.metadata.name: c.value for c in scheduling.system_priority_classes()}
    if name.startswith("system-"):
        if name not in system:
            errs.append(forbidden("metadata.name", "priority class names with 'system-' prefix are reserved"))
        elif pc.value != system[name]:
            errs.append(forbidden("value", f"value of {name} must be {system[name]}"))
    elif pc.value > scheduling.HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(
            forbidden(
                "value",
                "maximum allowed value of a user defined priority is "
                f"{scheduling.HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        )
    if pc.preemption_policy is not None and pc.preemption_policy not in _PREEMPTION_POLICIES:
        errs.append(not_supported("preemptionPolicy", pc.preemption_policy, _PREEMPTION_POLICIES))
    return errs


def validate_priority_class_update(
    new: scheduling.PriorityClass, old: scheduling.PriorityClass
) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    if new.value != old.value:
        errs.append(forbidden("value", "may not be changed in an update."))
    if new.preemption_policy != old.preemption_policy:
        errs.append(invalid("preemptionPolicy", new.preemption_policy, "field is immutable"))
    return errs


# ------------------------------------------------------------------------------- events

_EVENT_TYPES = ("Normal", "Warning")
_MAX_EVENT_FIELD = 128
_MAX_NOTE = 1024


def _legacy_event_errors(
    namespace: str,
    involved_namespace: str,
    event_time: str | None,
    controller: str | None,
    instance: str | None,
    action: str | None,
    reason: str | None,
    note: str | None,
    controller_field: str,
    note_field: str,
) -> list[FieldError]:
    """Kubernetes' legacy event rules, which every event passes (both APIs)."""
    errs: list[FieldError] = []
    if not event_time:
        # Old-style event: its namespace and the involved object's must agree.
        if not involved_namespace:
            if namespace not in ("", "default"):
                errs.append(
                    invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace")
                )
        elif namespace != involved_namespace:
            errs.append(
                invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace")
            )
    else:
        if not involved_namespace and namespace not in ("default", "kube-system"):
            errs.append(
                invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace")
            )
        if not is_valid_time(event_time):
            errs.append(invalid("eventTime", event_time, "must be an RFC 3339 time"))
        if not controller:
            errs.append(required(controller_field))
        else:
            errs.extend(invalid(controller_field, controller, m) for m in is_qualified_name(controller))
        if not instance:
            errs.append(required("reportingInstance"))
        elif len(instance) > _MAX_EVENT_FIELD:
            errs.append(invalid("reportingInstance", "", f"can have at most {_MAX_EVENT_FIELD} characters"))
        if not action:
            errs.append(required("action"))
        elif len(action) > _MAX_EVENT_FIELD:
            errs.append(invalid("action", "", f"can have at most {_MAX_EVENT_FIELD} characters"))
        if not reason:
            errs.append(required("reason"))
        elif len(reason) > _MAX_EVENT_FIELD:
            errs.append(invalid("reason", "", f"can have at most {_MAX_EVENT_FIELD} characters"))
        if note is not None and len(note) > _MAX_NOTE:
            errs.append(invalid(note_field, "", f"can have at most {_MAX_NOTE} characters"))
    return errs


def validate_event(ev: core.Event) -> list[FieldError]:
    """core/v1 Event: Kubernetes' legacy rules (stricter once eventTime is set)."""
    errs = validate_object_meta(ev.metadata, True, is_dns1123_subdomain)
    errs.extend(
        _legacy_event_errors(
            ev.metadata.namespace or "",
            ev.involved_object.namespace or "",
            ev.event_time,
            ev.reporting_component,
            ev.reporting_instance,
            ev.action,
            ev.reason,
            ev.message,
            "reportingComponent",
            "message",
        )
    )
    for field, value in (("firstTimestamp", ev.first_timestamp), ("lastTimestamp", ev.last_timestamp)):
        if value and not is_valid_time(value):
            errs.append(invalid(field, value, "must be an RFC 3339 time"))
    return errs


def validate_events_v1(ev: events.Event) -> list[FieldError]:
    """events.k8s.io/v1 Event: the legacy rules plus the strict ones of the new API."""
    errs = validate_object_meta(ev.metadata, True, is_dns1123_subdomain)
    if ev.event_time:
        errs.extend(
            _legacy_event_errors(
                ev.metadata.namespace or "",
                (ev.regarding.namespace if ev.regarding else None) or "",
                ev.event_time,
                ev.reporting_controller,
                ev.reporting_instance,
                ev.action,
                ev.reason,
                ev.note,
                "reportingController",
                "note",
            )
        )
    else:
        errs.append(required("eventTime"))
    if ev.series is not None:
        if ev.series.count < 2:
            errs.append(invalid("series.count", "", "should be at least 2"))
        if not ev.series.last_observed_time:
            errs.append(required("series.lastObservedTime"))
    if ev.type not in _EVENT_TYPES:
        errs.append(invalid("type", "", f"has invalid value: {ev.type or ''}"))
    for field, value in (
        ("deprecatedFirstTimestamp", ev.deprecated_first_timestamp),
        ("deprecatedLastTimestamp", ev.deprecated_last_timestamp),
        ("deprecatedCount", ev.deprecated_count),
        ("deprecatedSource", ev.deprecated_source),
    ):
        if value:
            errs.append(invalid(field, "", "needs to be unset"))
    return errs


def validate_event_update(new: core.Event, old: core.Event) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(e for e in validate_event(new) if not e.field.startswith("metadata."))
    return errs


def validate_events_v1_update(new: events.Event, old: events.Event) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs.extend(e for e in validate_events_v1(new) if not e.field.startswith("metadata."))
    return errs


# ------------------------------------------------------------------------------- dispatch

_CREATE: dict[type, Callable[[Any], list[FieldError]]] = {
    core.Pod: validate_pod,
    core.Node: validate_node,
    core.Namespace: validate_namespace,
    core.Event: validate_event,
    core.Binding: validate_binding,
    events.Event: validate_events_v1,
    coordination.Lease: validate_lease,
    scheduling.PriorityClass: validate_priority_class,
    core.ServiceAccount: validate_service_account,
}

_UPDATE: dict[type, Callable[[Any, Any], list[FieldError]]] = {
    core.Pod: validate_pod_update,
    core.Node: validate_node_update,
    core.Namespace: validate_namespace_update,
    core.Event: validate_event_update,
    events.Event: validate_events_v1_update,
    coordination.Lease: validate_lease_update,
    scheduling.PriorityClass: validate_priority_class_update,
    core.ServiceAccount: validate_service_account_update,
}


def validate(obj: Any) -> list[FieldError]:
    """Validation for creating obj (its kind's rules; kinds without rules get none)."""
    fn = _CREATE.get(type(obj))
    return fn(obj) if fn is not None else []


def validate_update(new: Any, old: Any) -> list[FieldError]:
    """Validation for replacing old with new."""
    fn = _UPDATE.get(type(new))
    return fn(new, old) if fn is not None else []


def validate_dict(
    api_version: str,
    kind: str,
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    subresource: str | None = None,
) -> list[dict[str, str]]:
    """Validate a JSON object (as builtins) of a served kind; causes as dicts (reason, message, field).

    For servers that work on dicts: the object is read into its Struct and defaulted (a copy: `obj`
    is not changed) before the kind's rules run, as Kubernetes defaults before it validates. `old`
    selects the update rules; subresource="status" the status-update rules. A body whose fields have
    the wrong JSON types gives one FieldValueInvalid cause naming the field. Unknown kinds: no causes.
    """
    k = kinds.by_kind(api_version, kind)
    if k is None:
        return []
    try:
        new_obj = from_builtins(k.type, obj)
    except DecodeError as e:
        return [{"reason": INVALID, "message": f"Invalid value: {e.message}", "field": e.field or ""}]
    defaults.apply(new_obj)
    if old is None:
        errs = validate(new_obj)
    else:
        try:
            old_obj = from_builtins(k.type, old)
        except DecodeError:
            errs = validate(new_obj)
        else:
            defaults.apply(old_obj)
            if subresource == "status" and isinstance(new_obj, core.Pod) and isinstance(old_obj, core.Pod):
                errs = validate_pod_status_update(new_obj, old_obj)
            else:
                errs = validate_update(new_obj, old_obj)
                if (
                    isinstance(new_obj, core.Pod)
                    and isinstance(old_obj, core.Pod)
                    and new_obj.status != old_obj.status
                ):
                    # A server that resets status on spec writes (and spec on status writes) sends
                    # status changes only from status writes: apply the status rules to them.
                    errs.extend(pod_status_errors(new_obj, old_obj))
    return [e.cause_dict() for e in errs]


# The RBAC kinds' rules live in their own module, which uses the helpers above.
from . import validation_rbac  # noqa: E402

_CREATE.update(validation_rbac.CREATE)
_UPDATE.update(validation_rbac.UPDATE)
