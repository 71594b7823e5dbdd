"""Query-string parameters as the API reads them (booleans case-insensitively, as Go's ParseBool)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from skiff.apiserver import errors
from skiff.apiserver.resources import Obj
from skiff.apiserver.selectors import parse_fields, parse_labels

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
    q: Mapping[str, str], known_fields: set[str], fields_of: Callable[[Obj], dict[str, str]]
) -> Callable[[Obj], bool] | None:
    """The label and field selectors of a list or watch as one predicate (None: everything)."""
    try:
        lp = parse_labels(q.get("labelSelector", ""))
    except ValueError as e:
        raise errors.bad_request(
            f"unable to parse requirement: {e}".replace("unable to parse requirement: unable", "unable")
        ) from None
    try:
        freqs = parse_fields(q.get("fieldSelector", ""))
    except ValueError as e:
        raise errors.bad_request(str(e)) from None
    for f, _, _ in freqs:
        if f not in known_fields:
            raise errors.bad_request(
                f'"{f}" is not a known field selector: only "' + '", "'.join(sorted(known_fields)) + '"'
            )
    if lp is None and not freqs:
        return None

    def match(obj: Obj) -> bool:
        if lp is not None:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if not lp(labels):
                return False
        if freqs:
            fs = fields_of(obj)
            for f, v, eq in freqs:
                if (fs.get(f, "") == v) != eq:
                    return False
        return True

    return match
