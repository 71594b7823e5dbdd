"""Field paths and sets for server-side apply, in Kubernetes' managedFields format (FieldsV1).

A path is a tuple of elements: ("f", name) a field, ("k", '{"name":"web"}') a list item by its
keys, ("v", '"x"') a set member by value, ("i", "0") a list item by position. FieldsV1 nests them
as `f:name`, `k:{...}`, `v:...`, `i:N`, with "." marking a path that is owned and has children.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from skiff.apiserver.patch.errors import PatchError
from skiff.apiserver.patch.schema import KEY_DEFAULTS, NO_FIELD, Field

Element = tuple[str, str]
Path = tuple[Element, ...]

MEMBER = object()  # the value recorded for a list item (its own value is its children)

_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def canonical(value: Any) -> Any:
    """A JSON value with integral floats as ints (keys compare as Kubernetes compares them)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def dump(value: Any) -> str:
    """Compact JSON with sorted keys, the form used inside `k:` and `v:` elements."""
    value = canonical(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # out-of-range integers and the like
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def list_kind(field: Field) -> str:
    """How server-side apply treats a list field: "map" (keyed items), "set" or "atomic"."""
    if field.list_type:
        return field.list_type
    if field.merges_list:
        return "map" if field.merge_key else "set"
    return "atomic"


def item_key(item: Any, field: Field, where: Path, strict: bool) -> Element | None:
    """The `k:` element of a list item; None when it lacks a key (tolerated in live objects)."""
    keys = field.list_keys or (field.merge_key,)
    if not isinstance(item, dict):
        if strict:
            raise PatchError(f"{path_string(where)}: expected an object in an associative list", 422)
        return None
    found: dict[str, Any] = {}
    for key in keys:
        if key in item and item[key] is not None:
            found[key] = item[key]
        elif key in KEY_DEFAULTS:
            found[key] = KEY_DEFAULTS[key]
        else:
            if strict:
                raise PatchError(
                    f"{path_string(where)}: associative list with keys has an element that omits key field "
                    f'"{key}" (and doesn\'t have default value)',
                    422,
                )
            return None
    return ("k", dump(found))


def field_values(
    obj: Any,
    schema: Field,
    *,
    strict: bool = False,
    map_members: bool = False,
    skip: frozenset[Path] = frozenset(),
) -> dict[Path, Any]:
    """Every path a manager can own in `obj`, with the value there (MEMBER for list items).

    Leaves are scalars, nulls, empty objects, atomic lists and set members; list items and the
    entries of free-form maps (labels) are paths of their own. `map_members` also records a
    non-empty free-form map itself, as Kubernetes does for fields an Update added.
    `strict` refuses items without keys and duplicate keys (an apply configuration). Fields
    whose path is in `skip` are left out with everything inside them.
    """
    out: dict[Path, Any] = {}
    _walk(obj, schema, (), out, strict, map_members, skip)
    return out


def _walk(
    value: Any,
    field: Field,
    path: Path,
    out: dict[Path, Any],
    strict: bool,
    members: bool,
    skip: frozenset[Path] = frozenset(),
) -> None:
    if isinstance(value, dict):
        if path and (not value or (members and field.free_map)):
            out[path] = value if not value else MEMBER
        fields, free = field.fields, field.free_map
        for name, child in value.items():
            child_path = (*path, ("f", name))
            if skip and child_path in skip:
                continue
            if child is None or isinstance(child, str | bool | int | float):
                out[child_path] = child  # the common case, without a call
                continue
            _walk(child, fields.get(name, NO_FIELD), child_path, out, strict, members, skip)
            if free and child_path not in out:
                out[child_path] = MEMBER
        return
    if isinstance(value, list):
        kind = list_kind(field)
        if kind != "atomic" and not value:
            return  # an empty associative list or set owns nothing (as in Kubernetes)
        if kind == "map":
            seen: set[Element] = set()
            for i, item in enumerate(value):
                elem = item_key(item, field, path, strict) or ("i", str(i))
                if elem in seen:
                    if strict:
                        raise PatchError(
                            f"{path_string(path)}: duplicate entries for key {path_string(((elem),))}", 422
                        )
                    continue
                seen.add(elem)
                item_path = (*path, elem)
                out[item_path] = MEMBER
                _walk(item, field, item_path, out, strict, members, skip)
                out[item_path] = MEMBER
            return
        if kind == "set":
            for item in value:
                out[(*path, ("v", dump(item)))] = item
            return
        if path:
            out[path] = value
        return
    if path:
        out[path] = value


def path_string(path: Iterable[Element]) -> str:
    """Kubernetes' rendering: .spec.containers[name="web"].image"""
    parts = []
    for kind, text in path:
        if kind == "f":
            parts.append("." + text)
        elif kind == "k":
            obj = json.loads(text)
            parts.append("[" + ",".join(f"{k}={json.dumps(obj[k])}" for k in sorted(obj)) + "]")
        elif kind == "v":
            parts.append("[=" + text + "]")
        else:
            parts.append("[" + text + "]")
    return "".join(parts)


def encode_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """A set of paths as a FieldsV1 object."""
    root: dict[str, Any] = {}
    owned: list[Path] = []
    for path in paths:
        node = root
        for kind, text in path:
            node = node.setdefault(f"{kind}:{text}", {})
        owned.append(path)
    for path in owned:
        node = root
        for kind, text in path:
            node = node[f"{kind}:{text}"]
        if node and "." not in node:
            node["."] = {}
    return _sorted_node(root)


def _sorted_node(node: dict[str, Any]) -> dict[str, Any]:
    def order(key: str) -> tuple[int, int, str]:
        if key == ".":
            return (0, 0, "")
        return (1, _KIND_ORDER.get(key[0], 9), key)

    return {key: _sorted_node(node[key]) for key in sorted(node, key=order)}


def decode_fields(fields: Any) -> set[Path]:
    """The set of paths in a FieldsV1 object (malformed entries are skipped)."""
    out: set[Path] = set()
    if isinstance(fields, dict):
        _decode(fields, (), out)
    return out


def _decode(node: dict[str, Any], path: Path, out: set[Path]) -> None:
    for key, child in node.items():
        if key == ".":
            if path:
                out.add(path)
            continue
        kind, sep, text = key.partition(":")
        if not sep or kind not in _KIND_ORDER:
            continue
        if kind in ("k", "v"):
            try:
                text = dump(json.loads(text))
            except ValueError:
                continue
        child_path = (*path, (kind, text))
        if isinstance(child, dict) and child:
            _decode(child, child_path, out)
        else:
            out.add(child_path)


ABSENT = object()


def diff_fields(
    old: Any,
    new: Any,
    schema: Field,
    *,
    map_members: bool = False,
    skip: frozenset[Path] = frozenset(),
) -> tuple[set[Path], set[Path]]:
    """(changed, removed): the paths of `field_values` added or changed from `old` to `new`, and
    the paths only `old` has. Equal subtrees are not walked, so small writes to big objects are
    cheap. `old` may be ABSENT (a create)."""
    changed: set[Path] = set()
    removed: set[Path] = set()
    _diff(old, new, schema, (), False, map_members, skip, changed, removed)
    return changed, removed


def _diff(
    old: Any,
    new: Any,
    field: Field,
    path: Path,
    in_free_map: bool,
    members: bool,
    skip: frozenset[Path],
    changed: set[Path],
    removed: set[Path],
) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and old and new:
        for name in old.keys() | new.keys():
            child_path = (*path, ("f", name))
            if skip and child_path in skip:
                continue
            o = old.get(name, ABSENT)
            n = new.get(name, ABSENT)
            if o is n or (type(o) is type(n) and o == n):
                continue
            _diff(o, n, field.child(name), child_path, field.free_map, members, skip, changed, removed)
        return
    before = _values_at(old, field, path, in_free_map, members, skip)
    after = _values_at(new, field, path, in_free_map, members, skip)
    for p, v in after.items():
        if p not in before:
            changed.add(p)
        else:
            w = before[p]
            if not (v is w or (type(v) is type(w) and v == w)):
                changed.add(p)
    removed.update(p for p in before if p not in after)


def _values_at(
    value: Any, field: Field, path: Path, in_free_map: bool, members: bool, skip: frozenset[Path]
) -> dict[Path, Any]:
    out: dict[Path, Any] = {}
    if value is ABSENT:
        return out
    _walk(value, field, path, out, False, members, skip)
    if in_free_map and path and path not in out:
        out[path] = MEMBER
    return out


def fields_v1_of(
    obj: Any,
    schema: Field,
    *,
    map_members: bool = False,
    skip: frozenset[Path] = frozenset(),
    stripped: frozenset[Path] = frozenset(),
) -> dict[str, Any]:
    """encode_fields(field_values(obj) - stripped) in one walk, without building path tuples
    for leaves (a create records every field of the object: this is its fast path)."""
    node, _ = _fv1(obj, schema, (), map_members, skip, stripped)
    return _sorted_node(node)


def _fv1(
    value: Any, field: Field, path: Path, members: bool, skip: frozenset[Path], stripped: frozenset[Path]
) -> tuple[dict[str, Any], bool]:
    """(the FieldsV1 node below `path`, whether `path` itself is owned)."""
    if isinstance(value, dict):
        node: dict[str, Any] = {}
        fields, free = field.fields, field.free_map
        for name, child in value.items():
            child_path = (*path, ("f", name))
            if child_path in skip:
                continue
            key = "f:" + name
            if child is None or isinstance(child, str | bool | int | float):
                if child_path not in stripped:
                    node[key] = {}
                continue
            sub, owned = _fv1(child, fields.get(name, NO_FIELD), child_path, members, skip, stripped)
            owned = (owned or free) and child_path not in stripped
            if sub:
                if owned:
                    sub = {".": {}, **sub}
                node[key] = sub
            elif owned:
                node[key] = {}
        owned_self = bool(path) and (not value or (members and free))
        return node, owned_self
    if isinstance(value, list):
        kind = list_kind(field)
        if kind == "atomic":
            return {}, bool(path)
        node = {}
        if kind == "set":
            for item in value:
                node["v:" + dump(item)] = {}
            return node, False
        for i, item in enumerate(value):
            elem = item_key(item, field, path, False) or ("i", str(i))
            key = f"{elem[0]}:{elem[1]}"
            if key in node:
                continue
            sub, _ = _fv1(item, field, (*path, elem), members, skip, stripped)
            node[key] = {".": {}, **sub} if sub else {}
        return node, False
    return {}, bool(path)
