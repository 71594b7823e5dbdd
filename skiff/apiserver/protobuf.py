"""Decoding of the few protobuf bodies kubectl's typed clients send (create namespace, priorityclass
and serviceaccount, drain's evictions, create token, auth whoami): Kubernetes' envelope (``k8s\\0`` +
runtime.Unknown) around the object's protobuf encoding. Responses are always JSON (those clients
accept it).

Field numbers are Kubernetes' published protobuf schema (generated.proto), as facts.
"""

from __future__ import annotations

from typing import Any

MAGIC = b"k8s\x00"

# A schema maps field number -> (json name, type); type is "str", "int", "bool", "bytes", a nested
# schema dict, ("map", None), or ("list", T).
Schema = dict[int, tuple[str, Any]]

OWNER_REF: Schema = {
    1: ("kind", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
OBJECT_META: Schema = {
    1: ("name", "str"),
    2: ("generateName", "str"),
    3: ("namespace", "str"),
    5: ("uid", "str"),
    6: ("resourceVersion", "str"),
    7: ("generation", "int"),
    11: ("labels", ("map", None)),
    12: ("annotations", ("map", None)),
    13: ("ownerReferences", ("list", OWNER_REF)),
    14: ("finalizers", ("list", "str")),
}
NAMESPACE: Schema = {
    1: ("metadata", OBJECT_META),
    2: ("spec", {1: ("finalizers", ("list", "str"))}),
}
PRIORITY_CLASS: Schema = {
    1: ("metadata", OBJECT_META),
    2: ("value", "int"),
    3: ("globalDefault", "bool"),
    4: ("description", "str"),
    5: ("preemptionPolicy", "str"),
}
PRECONDITIONS: Schema = {1: ("uid", "str"), 2: ("resourceVersion", "str")}
DELETE_OPTIONS: Schema = {
    1: ("gracePeriodSeconds", "int"),
    2: ("preconditions", PRECONDITIONS),
    3: ("orphanDependents", "bool"),
    4: ("propagationPolicy", "str"),
    5: ("dryRun", ("list", "str")),
}
EVICTION: Schema = {1: ("metadata", OBJECT_META), 2: ("deleteOptions", DELETE_OPTIONS)}
BINDING: Schema = {
    1: ("metadata", OBJECT_META),
    2: ("target", {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str"), 4: ("uid", "str")}),
}

BOUND_OBJECT_REF: Schema = {
    1: ("kind", "str"),
    2: ("apiVersion", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
}
TOKEN_REQUEST: Schema = {
    1: ("metadata", OBJECT_META),
    2: (
        "spec",
        {
            1: ("audiences", ("list", "str")),
            3: ("boundObjectRef", BOUND_OBJECT_REF),
            4: ("expirationSeconds", "int"),
        },
    ),
}
# kubectl auth whoami sends an empty review; the answer is all in the status.
SELF_SUBJECT_REVIEW: Schema = {1: ("metadata", OBJECT_META)}

# `kubectl create serviceaccount` sends the metadata alone.
SERVICE_ACCOUNT: Schema = {1: ("metadata", OBJECT_META)}

# rbac.authorization.k8s.io/v1 (kubectl create role/clusterrole/rolebinding/clusterrolebinding)
POLICY_RULE: Schema = {
    1: ("verbs", ("list", "str")),
    2: ("apiGroups", ("list", "str")),
    3: ("resources", ("list", "str")),
    4: ("resourceNames", ("list", "str")),
    5: ("nonResourceURLs", ("list", "str")),
}
LABEL_SELECTOR: Schema = {
    1: ("matchLabels", ("map", None)),
    2: (
        "matchExpressions",
        ("list", {1: ("key", "str"), 2: ("operator", "str"), 3: ("values", ("list", "str"))}),
    ),
}
ROLE: Schema = {1: ("metadata", OBJECT_META), 2: ("rules", ("list", POLICY_RULE))}
CLUSTER_ROLE: Schema = {
    **ROLE,
    3: ("aggregationRule", {1: ("clusterRoleSelectors", ("list", LABEL_SELECTOR))}),
}
SUBJECT: Schema = {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"), 4: ("namespace", "str")}
ROLE_BINDING: Schema = {
    1: ("metadata", OBJECT_META),
    2: ("subjects", ("list", SUBJECT)),
    3: ("roleRef", {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}),
}
# authorization.k8s.io/v1 (kubectl auth can-i)
RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", "str"),
    2: ("verb", "str"),
    3: ("group", "str"),
    4: ("version", "str"),
    5: ("resource", "str"),
    6: ("subresource", "str"),
    7: ("name", "str"),
}
NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "str"), 2: ("verb", "str")}
ACCESS_REVIEW_SPEC: Schema = {
    1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
    2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
    3: ("user", "str"),
    4: ("groups", ("list", "str")),
    6: ("uid", "str"),
}
ACCESS_REVIEW: Schema = {1: ("metadata", OBJECT_META), 2: ("spec", ACCESS_REVIEW_SPEC)}
RULES_REVIEW: Schema = {1: ("metadata", OBJECT_META), 2: ("spec", {1: ("namespace", "str")})}

SCHEMAS: dict[str, Schema] = {
    "ServiceAccount": SERVICE_ACCOUNT,
    "TokenRequest": TOKEN_REQUEST,
    "SelfSubjectReview": SELF_SUBJECT_REVIEW,
    "Role": ROLE,
    "ClusterRole": CLUSTER_ROLE,
    "RoleBinding": ROLE_BINDING,
    "ClusterRoleBinding": ROLE_BINDING,
    "SubjectAccessReview": ACCESS_REVIEW,
    "LocalSubjectAccessReview": ACCESS_REVIEW,
    "SelfSubjectAccessReview": ACCESS_REVIEW,
    "SelfSubjectRulesReview": RULES_REVIEW,
    "Namespace": NAMESPACE,
    "PriorityClass": PRIORITY_CLASS,
    "Eviction": EVICTION,
    "DeleteOptions": DELETE_OPTIONS,
    "Binding": BINDING,
}


class ProtobufError(ValueError):
    pass


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = 0
    result = 0
    while True:
        if i >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = _varint(buf, i)
            out.append((num, wt, v))
        elif wt == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ProtobufError("truncated field")
            out.append((num, wt, buf[i : i + n]))
            i += n
        elif wt == 1:
            out.append((num, wt, buf[i : i + 8]))
            i += 8
        elif wt == 5:
            out.append((num, wt, buf[i : i + 4]))
            i += 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
    return out


def _scalar(t: Any, v: Any) -> Any:
    if t == "str":
        if not isinstance(v, bytes):
            raise ProtobufError("expected a string")
        return v.decode()
    if t == "int":
        if not isinstance(v, int):
            raise ProtobufError("expected an integer")
        return v - (1 << 64) if v >= 1 << 63 else v
    if t == "bool":
        return bool(v)
    if isinstance(t, dict):
        if not isinstance(v, bytes):
            raise ProtobufError("expected a message")
        return decode_message(v, t)
    return None


def decode_message(buf: bytes, schema: Schema) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for num, _, v in _fields(buf):
        spec = schema.get(num)
        if spec is None:
            continue
        name, t = spec
        if isinstance(t, tuple) and t[0] == "map":
            kv = {k: val for k, _, val in _fields(v)}
            key = kv.get(1, b"").decode()
            obj.setdefault(name, {})[key] = kv.get(2, b"").decode()
        elif isinstance(t, tuple) and t[0] == "list":
            obj.setdefault(name, []).append(_scalar(t[1], v))
        else:
            obj[name] = _scalar(t, v)
    return obj


def decode(data: bytes) -> dict[str, Any]:
    """A JSON-shaped dict from a protobuf request body; ProtobufError when it is not one we know."""
    if not data.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    unknown = {num: v for num, _, v in _fields(data[len(MAGIC) :])}
    type_meta = {num: v for num, _, v in _fields(unknown.get(1, b""))}
    api_version = type_meta.get(1, b"").decode()
    kind = type_meta.get(2, b"").decode()
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtobufError(f"protobuf bodies of kind {kind!r} are not supported; send JSON")
    obj = decode_message(unknown.get(2, b""), schema)
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    return obj
