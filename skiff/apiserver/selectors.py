"""Label and field selectors as the API takes them in query strings.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
``a>1``, ``a<1``, comma-separated (all must hold). Field selectors: ``f=v``, ``f==v``, ``f!=v``.
A parse error raises ValueError with a message for a 400 Status.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Labels = dict[str, str]
Pred = Callable[[Labels], bool]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unable to parse requirement: unbalanced parenthesis in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ValueError(f"unable to parse requirement: unbalanced parenthesis in {text!r}")
    parts.append("".join(cur))
    return parts


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > 316 or not _KEY.match(key):
        raise ValueError(f"unable to parse requirement: invalid label key {key!r}")
    return key


def _check_value(v: str) -> str:
    v = v.strip()
    if len(v) > 63 or not _VALUE.match(v):
        raise ValueError(f"unable to parse requirement: invalid label value: {v!r}")
    return v


def parse_labels(text: str) -> Pred | None:
    """A predicate over labels, or None for the empty selector (everything)."""
    text = text.strip()
    if not text:
        return None
    preds: list[Pred] = []
    for raw in _split_top(text):
        req = raw.strip()
        if not req:
            raise ValueError(f"unable to parse requirement: empty requirement in {text!r}")
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", req)
        if m:
            key = _check_key(m.group(1))
            values = {_check_value(v) for v in m.group(3).split(",")} if m.group(3).strip() else set()
            if m.group(2) == "in":
                if not values:
                    raise ValueError(
                        "unable to parse requirement: for 'in' operator, values set can't be empty"
                    )
                preds.append(_in(key, values, True))
            else:
                preds.append(_in(key, values, False))
            continue
        for op in ("!=", "==", "=", ">", "<"):
            if op in req:
                key, _, value = req.partition(op)
                key = _check_key(key)
                if op in (">", "<"):
                    try:
                        num = int(value.strip())
                    except ValueError:
                        raise ValueError(
                            f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                            f"integer: {value.strip()!r}"
                        ) from None
                    preds.append(_num(key, num, op))
                    break
                value = _check_value(value)
                preds.append(_eq(key, value, op != "!="))
                break
        else:
            if req.startswith("!"):
                key = _check_key(req[1:])
                preds.append(_exists(key, False))
            else:
                key = _check_key(req)
                preds.append(_exists(key, True))
    if len(preds) == 1:
        return preds[0]
    return lambda lb: all(p(lb) for p in preds)


def _in(key: str, values: set[str], want: bool) -> Pred:
    def pred(lb: Labels) -> bool:
        return (lb.get(key) in values) == want

    return pred


def _eq(key: str, value: str, want: bool) -> Pred:
    def pred(lb: Labels) -> bool:
        return (lb.get(key) == value) == want

    return pred


def _exists(key: str, want: bool) -> Pred:
    def pred(lb: Labels) -> bool:
        return (key in lb) == want

    return pred


def _num(key: str, n: int, op: str) -> Pred:
    def pred(lb: Labels) -> bool:
        return _cmp(lb.get(key), n, op)

    return pred


def _cmp(value: str | None, n: int, op: str) -> bool:
    if value is None:
        return False
    try:
        v = int(value)
    except ValueError:
        return False
    return v > n if op == ">" else v < n


def _unescape_split(text: str, sep: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


FieldReq = tuple[str, str, bool]  # (field, value, equal)


def parse_fields(text: str) -> list[FieldReq]:
    text = text.strip()
    if not text:
        return []
    reqs: list[FieldReq] = []
    for part in _split_escaped_commas(text):
        part = part.strip()
        if not part:
            raise ValueError(f"invalid selector: {text!r}")
        for op in ("!=", "==", "="):
            idx = _find_unescaped(part, op)
            if idx >= 0:
                field = part[:idx].strip()
                value = "".join(_unescape_split(part[idx + len(op) :], "\x00"))
                if not field:
                    raise ValueError(f"invalid selector: {text!r}")
                reqs.append((field, value, op != "!="))
                break
        else:
            raise ValueError(f"invalid selector: {part!r}; can't understand {part!r}")
    return reqs


def _find_unescaped(text: str, op: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(op, i):
            return i
        i += 1
    return -1


def _split_escaped_commas(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == ",":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out
