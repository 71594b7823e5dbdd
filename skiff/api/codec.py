"""Encode and decode object-model Structs.

- `encode(obj)` -> JSON bytes; `decode_fast(T, data)` -> T, unknown fields silently dropped (fastest).
- `decode(T, data, strict)` -> (obj, dropped): strict raises UnknownFieldError naming every unknown
  field path (Kubernetes: `unknown field "spec.foo"`); non-strict returns the dropped paths so a
  server can warn (fieldValidation=Warn) or ignore them.
- `to_builtins` / `from_builtins` / `convert` for dict-level work (patches, YAML).
Malformed input raises DecodeError with a readable message and, when known, the field path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_raw_decoder = msgspec.json.Decoder()


class DecodeError(ValueError):
    """Input that does not decode into the requested type (bad JSON, wrong types, missing fields)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnknownFieldError(DecodeError):
    """Strict decoding met fields the type does not declare."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        msg = "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)
        super().__init__(msg, paths[0] if paths else None)


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


def encode_into(obj: Any, buf: bytearray, offset: int = 0) -> None:
    _encoder.encode_into(obj, buf, offset)


def _decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    dec = _decoders.get(tp)
    if dec is None:
        dec = _decoders[tp] = msgspec.json.Decoder(tp)
    return dec


def _translate(e: msgspec.MsgspecError) -> DecodeError:
    """msgspec's `Expected `str`, got `int` - at `$.spec.x`` as a message and a field path."""
    text = str(e)
    field = None
    marker = " - at `$"
    i = text.rfind(marker)
    if i != -1:
        field = text[i + len(marker) :].rstrip("`").lstrip(".")
        text = text[:i]
    text = text.replace("`", "")
    if isinstance(e, msgspec.DecodeError) and not isinstance(e, msgspec.ValidationError):
        return DecodeError(f"invalid JSON: {text}", field or None)
    if field:
        return DecodeError(f"{field}: {text}", field)
    return DecodeError(text, None)


def decode_fast(tp: type[T], data: bytes | str) -> T:
    """Typed decode; unknown fields are dropped without being reported."""
    try:
        return _decoder(tp).decode(data)
    except msgspec.MsgspecError as e:
        raise _translate(e) from None


def decode_raw(data: bytes | str) -> Any:
    """JSON to builtins (dicts, lists, ...)."""
    try:
        return _raw_decoder.decode(data)
    except msgspec.MsgspecError as e:
        raise _translate(e) from None


def decode(tp: type[T], data: bytes | str, strict: bool = False) -> tuple[T, list[str]]:
    """Decode and report unknown fields: strict raises UnknownFieldError, else returns their paths."""
    checker = _checker_for(tp)
    if checker is not Any:
        try:
            _decoder(checker).decode(data)
        except msgspec.ValidationError:
            pass  # unknown fields or wrong types: the slow path below names them
        except msgspec.MsgspecError as e:
            raise _translate(e) from None
        else:
            return decode_fast(tp, data), []
    raw = decode_raw(data)
    return convert(tp, raw, strict)


def convert(tp: type[T], raw: Any, strict: bool = False) -> tuple[T, list[str]]:
    """Builtins (e.g. a patched dict or parsed YAML) to T, reporting unknown fields like decode()."""
    unknown = unknown_fields(tp, raw)
    if unknown and strict:
        raise UnknownFieldError(unknown)
    return from_builtins(tp, raw), unknown


def from_builtins(tp: type[T], raw: Any) -> T:
    """Builtins to T; unknown fields dropped. Strings are not coerced to numbers (as in JSON)."""
    try:
        return msgspec.convert(raw, tp)
    except msgspec.MsgspecError as e:
        raise _translate(e) from None


def to_builtins(obj: Any) -> Any:
    """A Struct as JSON-ready builtins with Kubernetes' names (defaults omitted as in encode)."""
    return msgspec.to_builtins(obj)


def clone(obj: T) -> T:
    """A deep copy of a Struct (through its wire form, so it costs one encode and one decode)."""
    return decode_fast(type(obj), encode(obj))


# ------------------------------------------------------------------------------- unknown fields

# A walker checks one value against one declared type and appends unknown paths to `out`.
_Walker = Callable[[Any, str, list[str]], None]
_walkers: dict[Any, _Walker] = {}


def _noop(value: Any, path: str, out: list[str]) -> None:
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _build_walker(t: msgspec.inspect.Type, seen: dict[Any, _Walker]) -> _Walker:
    if isinstance(t, msgspec.inspect.StructType):
        cls = t.cls
        if cls in seen:
            return seen[cls]
        fields: dict[str, _Walker] = {}

        def walk_struct(value: Any, path: str, out: list[str]) -> None:
            if not isinstance(value, dict):
                return
            for key, sub in value.items():
                w = fields.get(key)
                if w is None:
                    out.append(_join(path, str(key)))
                elif w is not _noop and sub is not None:
                    w(sub, _join(path, key), out)

        seen[cls] = walk_struct
        for f in t.fields:
            fields[f.encode_name] = _build_walker(f.type, seen)
        return walk_struct
    if isinstance(t, msgspec.inspect.ListType | msgspec.inspect.VarTupleType | msgspec.inspect.SetType):
        item = _build_walker(t.item_type, seen)
        if item is _noop:
            return _noop

        def walk_list(value: Any, path: str, out: list[str]) -> None:
            if isinstance(value, list):
                for i, sub in enumerate(value):
                    if sub is not None:
                        item(sub, f"{path}[{i}]", out)

        return walk_list
    if isinstance(t, msgspec.inspect.DictType):
        val = _build_walker(t.value_type, seen)
        if val is _noop:
            return _noop

        def walk_dict(value: Any, path: str, out: list[str]) -> None:
            if isinstance(value, dict):
                for k, sub in value.items():
                    if sub is not None:
                        val(sub, _join(path, str(k)), out)

        return walk_dict
    if isinstance(t, msgspec.inspect.UnionType):
        # Only `X | None` style unions carry structure here; pick the structured member by shape.
        obj_w: _Walker = _noop
        arr_w: _Walker = _noop
        for member in t.types:
            if isinstance(member, msgspec.inspect.StructType | msgspec.inspect.DictType):
                obj_w = _build_walker(member, seen)
            elif isinstance(member, msgspec.inspect.ListType):
                arr_w = _build_walker(member, seen)
        if obj_w is _noop and arr_w is _noop:
            return _noop

        def walk_union(value: Any, path: str, out: list[str]) -> None:
            if isinstance(value, dict):
                obj_w(value, path, out)
            elif isinstance(value, list):
                arr_w(value, path, out)

        return walk_union
    return _noop


def _walker_for(tp: Any) -> _Walker:
    w = _walkers.get(tp)
    if w is None:
        w = _walkers[tp] = _build_walker(msgspec.inspect.type_info(tp), {})
    return w


def unknown_fields(tp: Any, raw: Any) -> list[str]:
    """Paths of fields in `raw` (builtins) that `tp` does not declare, e.g. `spec.containers[0].foo`."""
    checker = _checker_for(tp)
    if checker is not Any:
        try:
            msgspec.convert(raw, checker)
            return []  # the common case, found without walking the object in Python
        except msgspec.ValidationError:
            pass  # an unknown field (or a type error, which decoding reports): walk to name them all
    out: list[str] = []
    _walker_for(tp)(raw, "", out)
    return out


# A "checker" mirrors a Struct type with forbid_unknown_fields=True and every leaf typed Any: converting
# builtins into it fails exactly when a field is unknown (or a structure has the wrong JSON type).
_checkers: dict[Any, Any] = {}
_building = object()


def _checker_type(t: msgspec.inspect.Type) -> Any:
    if isinstance(t, msgspec.inspect.StructType):
        return _checker_for(t.cls)
    if isinstance(t, msgspec.inspect.ListType | msgspec.inspect.VarTupleType | msgspec.inspect.SetType):
        item = _checker_type(t.item_type)
        return Any if item is Any else list[item]  # type: ignore[valid-type]
    if isinstance(t, msgspec.inspect.DictType):
        val = _checker_type(t.value_type)
        return Any if val is Any else dict[str, val]  # type: ignore[valid-type]
    if isinstance(t, msgspec.inspect.UnionType):
        structured = [
            m
            for m in t.types
            if isinstance(m, msgspec.inspect.StructType | msgspec.inspect.ListType | msgspec.inspect.DictType)
        ]
        return _checker_type(structured[0]) if len(structured) == 1 else Any
    return Any


def _checker_for(cls: Any) -> Any:
    """The checker Struct for a Struct class (Any when it cannot be built, e.g. recursive types)."""
    found = _checkers.get(cls)
    if found is _building:
        return Any
    if found is not None:
        return found
    _checkers[cls] = _building
    try:
        info = msgspec.inspect.type_info(cls)
        if not isinstance(info, msgspec.inspect.StructType):
            checker: Any = Any
        else:
            fields = []
            for i, f in enumerate(info.fields):
                sub = _checker_type(f.type)
                fields.append((f"f{i}", sub | None, msgspec.field(default=None, name=f.encode_name)))
            checker = msgspec.defstruct(
                "Check" + cls.__name__, fields, kw_only=True, forbid_unknown_fields=True
            )
    except (TypeError, ValueError):
        checker = Any
    _checkers[cls] = checker
    return checker
