"""Query-string parameters as the API reads them (booleans case-insensitively, as Go's ParseBool)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from skiff.api import fields, labels
from skiff.apiserver import errors
from skiff.apiserver.resources import Obj

_TRUE = {"1", "t", "true", "y", "yes"}
_FALSE = {"0", "f", "false", "n", "no", ""}


def boolean(q: Mapping[str, str], name: str, default: bool = False) -> bool:
    v = q.get(name)
    if v is None:
        return default
    lv = v.strip().lower()
    if lv in _TRUE:
        return True
    if lv in _FALSE:
        return False
    raise errors.bad_request(f'invalid boolean value for "{name}": {v!r}')


def integer(q: Mapping[str, str], name: str, default: int | None = None, minimum: int = 0) -> int | None:
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise errors.bad_request(f'invalid value for "{name}": {v!r} is not an integer') from None
    if n < minimum:
        raise errors.bad_request(f'invalid value for "{name}": {n} must be at least {minimum}')
    return n


def resource_version(q: Mapping[str, str]) -> str:
    rv = q.get("resourceVersion", "")
    if rv and not rv.isdigit():
        raise errors.bad_request(f'invalid resourceVersion "{rv}": it must be a number')
    return rv


def matcher(
    q: Mapping[str, str], group: str, plural: str, fields_of: Callable[[Obj], dict[str, str]]
) -> Callable[[Obj], bool] | None:
    """The label and field selectors of a list or watch as one predicate (None: everything)."""
    try:
        ls = labels.parse(q.get("labelSelector", ""))
    except labels.SelectorError as e:
        raise errors.bad_request(f"unable to parse requirement: {e}") from None
    try:
        fs = fields.for_storage(fields.parse(q.get("fieldSelector", "")), group, plural)
    except fields.FieldSelectorError as e:
        raise errors.bad_request(str(e)) from None
    if ls.empty() and fs.empty():
        return None
    lmatch = None if ls.empty() else ls.matches
    fmatch = None if fs.empty() else fs.matches

    def match(obj: Obj) -> bool:
        if lmatch is not None and not lmatch((obj.get("metadata") or {}).get("labels")):
            return False
        return fmatch is None or fmatch(fields_of(obj))

    return match
