"""Strategic merge patch (application/strategic-merge-patch+json) as Kubernetes applies it.

Objects merge key by key and null deletes a key. A list merges only when its field has the
`merge` patch strategy (see schema.py): lists of objects by their merge key, lists of scalars as
a set; every other list is replaced whole. Directives:

- `$patch: replace` in an object replaces the object; `$patch: delete` empties it.
- `{"<mergeKey>": v, "$patch": "delete"}` in a list removes the item with that key;
  `{"$patch": "replace"}` in a list replaces the list with the patch's other items.
- `$setElementOrder/<field>`: the order of the merged list (items not named keep their place).
- `$deleteFromPrimitiveList/<field>`: scalars to remove from a merged list of scalars.
- `$retainKeys`: the object keeps only the keys listed (used with the retainKeys strategy).

The server applies the patch with Kubernetes' options: parallel lists are merged and nulls
for absent keys are dropped. Result order of merged lists follows Kubernetes: the patch's items
in patch order interleaved with the items only the server has, in their original order; without
`$setElementOrder` an item new to the list goes before the server-only items that follow it
(so a lone new item comes first, as Kubernetes' own kubectl-patch tutorial shows).
"""

from __future__ import annotations

from typing import Any

from skiff.apiserver.patch.errors import PatchError, guard_depth
from skiff.apiserver.patch.jsonvalue import deep_copy, json_equal
from skiff.apiserver.patch.schema import NO_FIELD, Field, schema_for

CONTENT_TYPE = "application/strategic-merge-patch+json"

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"

# Kubernetes' messages (k8s.io/apimachinery mergepatch errors); 400 or 422 as the API server maps them.
ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_BAD_SET_ORDER = "invalid patch format of setElementOrder list"
ERR_NO_LIST_OF_LISTS = "lists of lists are not supported"
ERR_RETAIN_KEYS_MISMATCH = "patch content doesn't match retainKeys list"


@guard_depth
def apply_strategic_patch(obj: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of `kind`; neither input is modified."""
    return strategic_merge(obj, patch, schema_for(kind))


@guard_depth
def strategic_merge(obj: dict[str, Any], patch: Any, schema: Field) -> dict[str, Any]:
    """Apply a strategic merge patch with an explicit schema (see schema.Field)."""
    if not isinstance(patch, dict):
        raise PatchError("invalid JSON document: a strategic merge patch must be a JSON object", 400)
    if not isinstance(obj, dict):
        raise PatchError("invalid JSON document", 400)
    return _merge_map(deep_copy(obj), deep_copy(patch), schema)


def _show(value: Any) -> str:
    """A short rendering of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Field) -> dict[str, Any]:
    """Merge `patch` into `original` (both owned by this call and mutated)."""
    if PATCH in patch:
        directive = patch.pop(PATCH)
        if directive == "replace":
            return _merge_map({}, patch, schema)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {directive} in map: {_show(patch)}", 400)

    if RETAIN_KEYS in patch:
        _retain_keys(original, patch)

    # Lists that carry an order directive merge together with it.
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        name = key[len(SET_ORDER) :]
        _merge_with_order(original, patch, name, order, schema.child(name))

    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE):
            name = key[len(DELETE_PRIMITIVE) :]
            if not isinstance(value, list):
                raise PatchError(ERR_BAD_PRIMITIVE_LIST, 400)
            current = original.get(name)
            if isinstance(current, list):
                original[name] = [x for x in current if not any(json_equal(x, d) for d in value)]
            continue
        if key.startswith("$"):
            raise PatchError(f"unknown strategic merge patch directive: {key}", 400)
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(original.get(key), value, schema.child(key))
    return original


def _merge_value(current: Any, value: Any, field: Field) -> Any:
    """The merged value of one key; an absent or differently typed current value is replaced."""
    if isinstance(value, dict):
        if field.strategy == "replace":
            return _merge_map({}, value, field)
        return _merge_map(current if isinstance(current, dict) else {}, value, field)
    if isinstance(value, list):
        if field.merges_list:
            return _merge_list(current if isinstance(current, list) else [], value, field)
        return _strip_list_directives(value, field)
    return value


def _strip_list_directives(items: list[Any], field: Field) -> list[Any]:
    """A replaced list, cleaned of `$patch` items; object items merged into nothing."""
    out = []
    for item in items:
        if isinstance(item, dict):
            if PATCH in item and len(item) == 1:
                continue
            out.append(_merge_map({}, item, field))
        else:
            out.append(item)
    return out


def _check_elements(original: list[Any], patch: list[Any]) -> bool:
    """True when the items are objects, False for scalars; mixed or nested lists are refused."""
    kinds = set()
    for item in (*original, *patch):
        if isinstance(item, list):
            raise PatchError(ERR_NO_LIST_OF_LISTS, 422)
        kinds.add("map" if isinstance(item, dict) else "scalar")
    if len(kinds) > 1:
        raise PatchError(f"mismatched element types in list: {_show(original)} and {_show(patch)}", 400)
    return kinds == {"map"}


def _key_of(item: dict[str, Any], merge_key: str) -> Any:
    if merge_key not in item:
        raise PatchError(f"map: {_show(item)} does not contain declared merge key: {merge_key}", 422)
    return item[merge_key]


def _find(items: list[Any], item: Any, merge_key: str) -> int:
    """Index of `item` in `items` (by merge key for objects), or -1."""
    if merge_key:
        want = item.get(merge_key) if isinstance(item, dict) else None
        for i, other in enumerate(items):
            if isinstance(other, dict) and merge_key in other and json_equal(other[merge_key], want):
                return i
        return -1
    for i, other in enumerate(items):
        if json_equal(other, item):
            return i
    return -1


def _merge_list(original: list[Any], patch: list[Any], field: Field) -> list[Any]:
    """Merge a list with the merge strategy and order the result as Kubernetes does."""
    if not original and not patch:
        return original
    if not _check_elements(original, patch):
        merged: list[Any] = []
        for item in (*original, *patch):
            if _find(merged, item, "") < 0:
                merged.append(item)
        return _order(merged, patch, original, "")

    merged, server_order, rest, _ = _merge_object_items(original, patch, field)
    return _order(merged, rest, server_order, field.merge_key)


def _merge_object_items(
    original: list[Any], patch: list[Any], field: Field
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Merge a list of objects by merge key, unordered.

    Returns (merged, the original after `$patch: delete` items, the patch without directive
    items, the "window"). Kubernetes deletes and appends in place in the original list's
    storage, so when a `$setElementOrder` follows, the server order it sees is the first
    len(original) entries of (the original after deletions + the appended new items).
    """
    key = field.merge_key
    if not key:
        raise PatchError("cannot merge lists without merge key", 400)
    size = len(original)
    before = list(original)
    original, rest, replaced = _special_items(original, patch, field)
    after_delete = list(original)
    for item in rest:
        i = _find(original, {key: _key_of(item, key)}, key)
        if i >= 0:
            original[i] = _merge_map(original[i], item, field)
        else:
            original.append(_merge_map({}, item, field))
    window = before if replaced else original[:size]
    return original, after_delete, rest, window


def _special_items(original: list[Any], patch: list[Any], field: Field) -> tuple[list[Any], list[Any], bool]:
    """Handle `$patch` items of a list of objects: (original after deletions, rest, replaced)."""
    key = field.merge_key
    rest = []
    replace = False
    for item in patch:
        if PATCH not in item:
            rest.append(item)
            continue
        directive = item[PATCH]
        if directive == "delete":
            value = _key_of(item, key)
            original = [o for o in original if not (key in o and json_equal(o[key], value))]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch", 400)
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {_show(item)}", 400)
    if replace:
        return [_merge_map({}, item, field) for item in rest], [], True
    return original, rest, False


def _order(merged: list[Any], patch: list[Any], server_order: list[Any], key: str) -> list[Any]:
    """Kubernetes' element order: patch items in patch order, server-only items where they were."""
    patch_items = [x for x in merged if _find(patch, x, key) >= 0]
    server_only = [x for x in merged if _find(patch, x, key) < 0]
    patch_items.sort(key=lambda x: _find(patch, x, key))
    return _interleave(server_only, patch_items, server_order, key)


def _interleave(
    server_only: list[Any], patch_items: list[Any], server_order: list[Any], key: str
) -> list[Any]:
    """Merge two sorted lists: a server-only item goes first when the server had it earlier."""
    out = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            left = _find(server_order, server_only[i], key)
            right = _find(server_order, patch_items[j], key)
            if 0 <= left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def _merge_with_order(
    original: dict[str, Any], patch: dict[str, Any], name: str, order: Any, field: Field
) -> None:
    """Merge the list `name` and put it in the order `$setElementOrder/<name>` gives."""
    if not isinstance(order, list):
        raise PatchError(ERR_BAD_SET_ORDER, 400)
    current = original.get(name)
    has_current = isinstance(current, list)
    cur: list[Any] = current if isinstance(current, list) else []
    has_patch = name in patch
    value = patch.pop(name, None)
    if has_patch and value is None:
        original.pop(name, None)
        return
    if has_patch and not isinstance(value, list):
        raise PatchError(ERR_BAD_SET_ORDER, 400)
    val: list[Any] = value if isinstance(value, list) else []
    is_maps = any(isinstance(x, dict) for x in (*order, *val, *cur))
    key = field.merge_key if is_maps else ""
    if is_maps and not key:
        raise PatchError(ERR_BAD_SET_ORDER, 400)
    if is_maps:
        for item in order:
            if not isinstance(item, dict):
                raise PatchError(ERR_BAD_SET_ORDER, 400)
            _key_of(item, key)
    _check_order(val, order, key)
    server_order = list(cur)
    merged: list[Any]
    if has_current and has_patch and is_maps and field.merges_list:
        _check_elements(cur, val)
        merged, _, _, server_order = _merge_object_items(cur, val, field)
    elif has_patch:
        merged = _merge_value(cur, val, field)
    elif has_current:
        merged = list(cur)
    else:
        return
    patch_items = [x for x in merged if _find(order, x, key) >= 0]
    server_only = [x for x in merged if _find(order, x, key) < 0]
    patch_items.sort(key=lambda x: _find(order, x, key))
    server_only.sort(key=lambda x: (_find(server_order, x, key) < 0, _find(server_order, x, key)))
    original[name] = _interleave(server_only, patch_items, server_order, key)


def _check_order(items: list[Any], order: list[Any], key: str) -> None:
    """Every patch item must appear in the order list, in the same relative order."""
    last = -1
    for item in items:
        if isinstance(item, dict) and item.get(PATCH) is not None:
            continue
        at = _find(order, item, key)
        if at < 0 or at < last:
            raise PatchError(
                f"The order in patch list: {_show(items)} "
                f"doesn't match $setElementOrder list: {_show(order)}",
                400,
            )
        last = at


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: drop the original's keys not listed; the patch may only set listed keys."""
    keys = patch.pop(RETAIN_KEYS)
    if not isinstance(keys, list):
        raise PatchError(ERR_BAD_RETAIN_KEYS, 400)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PRIMITIVE, SET_ORDER)) or key == PATCH:
            continue
        if key not in keys:
            raise PatchError(ERR_BAD_RETAIN_KEYS, 400)
    for key in list(original):
        if key not in keys:
            del original[key]


__all__ = ["CONTENT_TYPE", "NO_FIELD", "apply_strategic_patch", "strategic_merge"]
