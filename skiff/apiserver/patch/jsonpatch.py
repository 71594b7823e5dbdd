"""JSON patch (RFC 6902), content type application/json-patch+json.

Error messages follow the ones Kubernetes' API server passes on from its JSON patch library
(`testing value /x failed: test failed`, `add operation does not apply: doc is missing path: "/x":
missing value`, ...). Failures while applying are 422 Invalid; a body that is not a patch is 400.
Like Kubernetes, array indexes may be negative (counted from the end).
"""

from __future__ import annotations

from typing import Any

from skiff.apiserver.patch.errors import PatchError, guard_depth
from skiff.apiserver.patch.jsonvalue import deep_copy, json_equal, type_name

CONTENT_TYPE = "application/json-patch+json"

# Kubernetes refuses longer patches (413 RequestEntityTooLarge).
MAX_OPERATIONS = 10000

_MISSING = "missing value"
_BAD_INDEX = "invalid index referenced"


class _Fail(Exception):
    """A failure inside one operation, turned into a PatchError with the operation's wording."""


def escape_token(token: str) -> str:
    """Escape one reference token for a JSON pointer (~ -> ~0, / -> ~1)."""
    return token.replace("~", "~0").replace("/", "~1")


def parse_pointer(pointer: str) -> list[str]:
    """Split a JSON pointer into unescaped reference tokens ("" is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _Fail(f"JSON pointer must be empty or start with '/': {pointer!r}")
    tokens = []
    for raw in pointer[1:].split("/"):
        if "~" in raw.replace("~0", "").replace("~1", ""):
            raise _Fail(f"invalid escape in JSON pointer: {pointer!r}")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _index(token: str, length: int, *, for_add: bool) -> int:
    """The list position a token names; for add, `length` itself (and `-`) appends."""
    if for_add and token == "-":
        return length
    try:
        idx = int(token)
    except ValueError:
        raise _Fail(f"value was not a proper array index: '{token}'") from None
    if token.strip() != token or (token.lstrip("-").startswith("0") and token.lstrip("-") != "0"):
        raise _Fail(f"value was not a proper array index: '{token}'")
    limit = length + 1 if for_add else length
    if idx < 0:
        if idx < -limit:
            raise _Fail(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
        idx += limit
    if idx >= limit:
        raise _Fail(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
    return idx


def _parent(doc: Any, tokens: list[str]) -> Any | None:
    """The container holding the last token, or None when some step on the way is missing."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                return None
            node = node[token]
        elif isinstance(node, list):
            try:
                node = node[_index(token, len(node), for_add=False)]
            except _Fail:
                return None
        else:
            return None
    return node if isinstance(node, dict | list) else None


def _get(doc: Any, tokens: list[str]) -> tuple[bool, Any]:
    """(found, value) at a pointer."""
    if not tokens:
        return True, doc
    parent = _parent(doc, tokens)
    if parent is None:
        return False, None
    key = tokens[-1]
    if isinstance(parent, dict):
        return (key in parent), parent.get(key)
    try:
        return True, parent[_index(key, len(parent), for_add=False)]
    except _Fail:
        return False, None


class _Applier:
    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def add(self, path: str, value: Any) -> None:
        tokens = parse_pointer(path)
        if not tokens:
            self.doc = value
            return
        parent = _parent(self.doc, tokens)
        if parent is None:
            raise _Fail(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
        key = tokens[-1]
        if isinstance(parent, dict):
            parent[key] = value
            return
        try:
            parent.insert(_index(key, len(parent), for_add=True), value)
        except _Fail as exc:
            raise _Fail(f"error in add for path: '{path}': {exc}") from None

    def remove(self, path: str) -> Any:
        tokens = parse_pointer(path)
        if not tokens:
            raise _Fail("remove operation does not apply: cannot remove the whole document")
        parent = _parent(self.doc, tokens)
        if parent is None:
            raise _Fail(f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}')
        key = tokens[-1]
        if isinstance(parent, dict):
            if key not in parent:
                raise _Fail(
                    f"error in remove for path: '{path}': Unable to remove nonexistent key: {key}: {_MISSING}"
                )
            return parent.pop(key)
        try:
            return parent.pop(_index(key, len(parent), for_add=False))
        except _Fail as exc:
            raise _Fail(f"error in remove for path: '{path}': {exc}") from None

    def replace(self, path: str, value: Any) -> None:
        tokens = parse_pointer(path)
        if not tokens:
            self.doc = value
            return
        parent = _parent(self.doc, tokens)
        if parent is None:
            raise _Fail(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
        key = tokens[-1]
        if isinstance(parent, dict):
            if key not in parent:
                raise _Fail(f"replace operation does not apply: doc is missing key: {path}: {_MISSING}")
            parent[key] = value
            return
        try:
            parent[_index(key, len(parent), for_add=False)] = value
        except _Fail as exc:
            raise _Fail(f"error in replace for path: '{path}': {exc}") from None

    def move(self, src: str, path: str) -> None:
        if src == path:
            return
        src_tokens, dst_tokens = parse_pointer(src), parse_pointer(path)
        if dst_tokens[: len(src_tokens)] == src_tokens:
            raise _Fail(f"move operation does not apply: cannot move {src} into its own child {path}")
        found, _ = _get(self.doc, src_tokens)
        if not found:
            raise _Fail(f"move operation does not apply: doc is missing from path: {src}: {_MISSING}")
        value = self.remove(src)
        if dst_tokens and _parent(self.doc, dst_tokens) is None:
            raise _Fail(f"move operation does not apply: doc is missing destination path: {path}: {_MISSING}")
        self.add(path, value)

    def copy(self, src: str, path: str) -> None:
        found, value = _get(self.doc, parse_pointer(src))
        if not found:
            raise _Fail(f"copy operation does not apply: doc is missing from path: {src}: {_MISSING}")
        dst_tokens = parse_pointer(path)
        if dst_tokens and _parent(self.doc, dst_tokens) is None:
            raise _Fail(f"copy operation does not apply: doc is missing destination path: {path}: {_MISSING}")
        self.add(path, deep_copy(value))

    def test(self, path: str, value: Any) -> None:
        tokens = parse_pointer(path)
        if tokens and _parent(self.doc, tokens) is None:
            raise _Fail(f"test operation does not apply: is missing path: {path}: {_MISSING}")
        found, current = _get(self.doc, tokens)
        if not found or not json_equal(current, value):
            raise _Fail(f"testing value {path} failed: test failed")


def _field(op: dict[str, Any], name: str, kind: str) -> Any:
    if name not in op:
        if name == "value":
            raise _Fail(f"{kind} operation, missing value field: {_MISSING}")
        raise _Fail(f"{kind} operation failed to decode {name}: {_MISSING}")
    value = op[name]
    if name in ("path", "from") and not isinstance(value, str):
        raise _Fail(f"{kind} operation failed to decode {name}: expected a string, got {type_name(value)}")
    return value


def validate_json_patch(patch: Any) -> list[dict[str, Any]]:
    """Check the shape of a decoded JSON patch body (400/413 when it is not a patch)."""
    if not isinstance(patch, list):
        raise PatchError(
            f"json: cannot unmarshal {type_name(patch)} into Go value of type jsonpatch.Patch", 400
        )
    if len(patch) > MAX_OPERATIONS:
        raise PatchError(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(patch)}", 413
        )
    for op in patch:
        if not isinstance(op, dict):
            raise PatchError(
                f"json: cannot unmarshal {type_name(op)} into Go value of type jsonpatch.Operation", 400
            )
    return patch


@guard_depth
def apply_json_patch(doc: Any, patch: Any) -> Any:
    """Apply a JSON patch (a list of operations) to a JSON document; the input is not modified.

    The operations apply in order and all or nothing: the first failing one raises PatchError (422).
    """
    ops = validate_json_patch(patch)
    applier = _Applier(deep_copy(doc))
    for op in ops:
        kind = op.get("op")
        try:
            if kind == "add":
                applier.add(_field(op, "path", kind), deep_copy(_field(op, "value", kind)))
            elif kind == "remove":
                applier.remove(_field(op, "path", kind))
            elif kind == "replace":
                applier.replace(_field(op, "path", kind), deep_copy(_field(op, "value", kind)))
            elif kind == "move":
                applier.move(_field(op, "from", kind), _field(op, "path", kind))
            elif kind == "copy":
                applier.copy(_field(op, "from", kind), _field(op, "path", kind))
            elif kind == "test":
                applier.test(_field(op, "path", kind), _field(op, "value", kind))
            else:
                raise _Fail(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
        except _Fail as exc:
            raise PatchError(str(exc), 422) from None
    return applier.doc
