"""OpenAPI v3 component schemas generated from the object model's msgspec Structs.

Walks msgspec's type information (JSON names as the Structs encode them) rather than post-processing
msgspec.json.schema_components: that output wraps every optional field in anyOf [X, null], carries
defaults, and names clashing classes (core and events.k8s.io Event) after Python modules.

Names follow Kubernetes (io.k8s.api.core.v1.Pod, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta), as
`kubectl explain` prints the last part of a referenced schema's name as the field's type. Quantities
and int-or-string fields reference schemas without a `type`, so explain shows <Quantity> and
<IntOrString>. List-merge extensions come from the patch engines' own table (patch.schema).
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi

from skiff.apiserver import openapi_text
from skiff.apiserver.patch import schema as patch_schema

Schema = dict[str, Any]

REF = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

# skiff.api module -> Kubernetes package of the types it defines.
_PACKAGES = {
    "meta": META,
    "core": "io.k8s.api.core.v1",
    "coordination": "io.k8s.api.coordination.v1",
    "scheduling": "io.k8s.api.scheduling.v1",
    "events": "io.k8s.api.events.v1",
    "rbac": "io.k8s.api.rbac.v1",
    "authentication": "io.k8s.api.authentication.v1",
    "authorization": "io.k8s.api.authorization.v1",
    "policy": "io.k8s.api.policy.v1",
}
# Types skiff defines in core that Kubernetes keeps in meta/v1.
_IN_META = {"LabelSelector", "LabelSelectorRequirement"}

_SHARED: dict[str, Schema] = {
    QUANTITY: {
        "description": "A quantity such as 100m, 0.5, 128Mi or 2Gi (a string, or a plain number).",
        "anyOf": [{"type": "string"}, {"type": "number"}],
    },
    INT_OR_STRING: {
        "description": "An integer or a string (a port number or a port name).",
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    },
}


def schema_name(cls: type) -> str:
    module = cls.__module__.rsplit(".", 1)[-1]
    package = META if cls.__name__ in _IN_META else _PACKAGES.get(module, f"io.skiff.{module}")
    return f"{package}.{cls.__name__}"


def _ref(name: str) -> Schema:
    return {"$ref": REF + name}


class _Generator:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}
        self.infos: dict[type, mi.StructType] = {}

    def struct(self, info: mi.StructType) -> str:
        name = schema_name(info.cls)
        if name in self.schemas:
            return name
        self.infos[info.cls] = info
        out: Schema = {"type": "object"}
        self.schemas[name] = out  # before the fields: a Struct may (indirectly) contain itself
        cls_name = info.cls.__name__
        doc = openapi_text.TYPES.get(cls_name) or _first_line(info.cls.__doc__)
        if doc:
            out["description"] = doc
        props: Schema = {}
        for f in info.fields:
            prop = self.type(f.type)
            text = openapi_text.FIELDS.get((cls_name, f.encode_name)) or openapi_text.FIELDS.get(
                ("*", f.encode_name)
            )
            if text:
                # a $ref takes no siblings in OpenAPI 3.0: wrap it the way Kubernetes does
                prop = (
                    {"allOf": [prop], "description": text}
                    if "$ref" in prop
                    else {**prop, "description": text}
                )
            props[f.encode_name] = prop
        out["properties"] = props
        required = [n for n in openapi_text.REQUIRED.get(cls_name, ()) if n in props]
        if required:
            out["required"] = required
        return name

    def type(self, t: mi.Type) -> Schema:
        if isinstance(t, mi.Metadata):
            return self.type(t.type)
        if isinstance(t, mi.StructType):
            return _ref(self.struct(t))
        if isinstance(t, mi.UnionType):
            options = [o for o in t.types if not isinstance(o, mi.NoneType)]
            kinds = {type(o) for o in options}
            if kinds == {mi.StrType, mi.IntType, mi.FloatType}:
                return _ref(QUANTITY)
            if kinds == {mi.StrType, mi.IntType}:
                return _ref(INT_OR_STRING)
            if len(options) == 1:
                return self.type(options[0])
            return {"anyOf": [self.type(o) for o in options]}
        if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
            return {"type": "array", "items": self.type(t.item_type)}
        if isinstance(t, mi.DictType):
            value = self.type(t.value_type)
            return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
        if isinstance(t, mi.LiteralType):
            return {"type": "string", "enum": list(t.values)}
        simple = _SIMPLE.get(type(t))
        if simple is not None:
            return dict(simple)
        return {}  # Any, object: arbitrary JSON


_SIMPLE: dict[type, Schema] = {
    mi.StrType: {"type": "string"},
    mi.IntType: {"type": "integer", "format": "int64"},
    mi.FloatType: {"type": "number", "format": "double"},
    mi.BoolType: {"type": "boolean"},
}


def _first_line(doc: str | None) -> str:
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ") if doc else ""


def _add_list_extensions(gen: _Generator, cls: type, field: patch_schema.Field, seen: set[type]) -> None:
    """Put the patch table's merge keys and list types on the properties of `cls` and below."""
    info = gen.infos.get(cls)
    if info is None or cls in seen:
        return
    seen.add(cls)
    props = gen.schemas[schema_name(cls)]["properties"]
    for f in info.fields:
        child = field.child(f.encode_name)
        if child is patch_schema.NO_FIELD:
            continue
        prop = props[f.encode_name]
        if child.merge_key:
            prop["x-kubernetes-patch-merge-key"] = child.merge_key
        if child.strategy:
            prop["x-kubernetes-patch-strategy"] = child.strategy
        if child.list_type:
            prop["x-kubernetes-list-type"] = child.list_type
            if child.list_type == "map":
                prop["x-kubernetes-list-map-keys"] = list(child.list_keys)
        inner = _struct_of(f.type)
        if inner is not None and child.fields:
            _add_list_extensions(gen, inner, child, seen)


def _struct_of(t: mi.Type) -> type | None:
    """The Struct a field holds, directly or as list items (None for anything else)."""
    if isinstance(t, mi.Metadata):
        return _struct_of(t.type)
    if isinstance(t, mi.StructType):
        return t.cls
    if isinstance(t, mi.UnionType):
        for o in t.types:
            found = _struct_of(o)
            if found is not None:
                return found
    if isinstance(t, mi.ListType):
        return _struct_of(t.item_type)
    return None


def build(
    kinds: list[tuple[type, str, str, str]],
) -> tuple[dict[str, Schema], dict[tuple[str, str, str], str]]:
    """Schemas for (Struct, group, version, kind) tuples: every schema by name, and each kind's name."""
    gen = _Generator()
    gen.schemas.update({k: dict(v) for k, v in _SHARED.items()})
    infos = mi.multi_type_info([k[0] for k in kinds])
    top: dict[tuple[str, str, str], str] = {}
    for (_cls, group, version, kind), info in zip(kinds, infos, strict=True):
        assert isinstance(info, mi.StructType)
        name = gen.struct(info)
        top[(group, version, kind)] = name
        gvk = gen.schemas[name].setdefault("x-kubernetes-group-version-kind", [])
        entry = {"group": group, "kind": kind, "version": version}
        if entry not in gvk:
            gvk.append(entry)
    for cls, _group, _version, kind in kinds:
        _add_list_extensions(gen, cls, patch_schema.schema_for(kind), set())
    return gen.schemas, top


def closure(schemas: dict[str, Schema], roots: list[str]) -> dict[str, Schema]:
    """The named schemas and every schema they reference, transitively."""
    out: dict[str, Schema] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = schemas[name]
        todo.extend(_refs(schemas[name]))
    return dict(sorted(out.items()))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"][len(REF) :]] if "$ref" in node else []
        for v in node.values():
            found.extend(_refs(v))
        return found
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
