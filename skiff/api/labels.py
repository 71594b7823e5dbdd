"""Label selectors: the string form (`app=web,tier in (a,b),!canary`) and metav1.LabelSelector.

Parsing follows Kubernetes' selector grammar: comma-separated requirements, each `key`, `!key`,
`key=value`, `key==value`, `key!=value`, `key in (v1,v2)`, `key notin (v1,v2)`, `key>n`, `key<n`.
Keys and values are validated as label keys and values. A parsed Selector matches a label dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .core import LabelSelector
from .names import is_qualified_name, is_valid_label_value

IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_OPS_ONE_VALUE = (EQUALS, DOUBLE_EQUALS, NOT_EQUALS)


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        op = self.operator
        has = labels is not None and self.key in labels
        if op == EXISTS:
            return has
        if op == DOES_NOT_EXIST:
            return not has
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return has and labels[self.key] in self.values  # type: ignore[index]
        if op in (NOT_IN, NOT_EQUALS):
            return not has or labels[self.key] not in self.values  # type: ignore[index]
        if op in (GREATER_THAN, LESS_THAN):
            if not has:
                return False
            try:
                v = int(labels[self.key])  # type: ignore[index]
                bound = int(self.values[0])
            except ValueError:
                return False
            return v > bound if op == GREATER_THAN else v < bound
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(self.values)})"
        if op == GREATER_THAN:
            return f"{self.key}>{self.values[0]}"
        if op == LESS_THAN:
            return f"{self.key}<{self.values[0]}"
        return f"{self.key}{op}{self.values[0]}"


def new_requirement(key: str, operator: str, values: Sequence[str] = ()) -> Requirement:
    """A validated requirement (SelectorError with Kubernetes' wording when invalid)."""
    errs = is_qualified_name(key)
    if errs:
        raise SelectorError(f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(errs)}')
    vals = tuple(values)
    if operator in (IN, NOT_IN):
        if not vals:
            raise SelectorError(
                "unable to parse requirement: values: Invalid value: []: "
                "for 'in', 'notin' operators, values set can't be empty"
            )
        vals = tuple(sorted(set(vals)))
    elif operator in _OPS_ONE_VALUE:
        if len(vals) != 1:
            raise SelectorError(
                f"unable to parse requirement: values: Invalid value: {list(vals)}: "
                "exact-match compatibility requires one single value"
            )
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            raise SelectorError(
                f"unable to parse requirement: values: Invalid value: {list(vals)}: "
                "values set must be empty for exists and does not exist"
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            raise SelectorError(
                f"unable to parse requirement: values: Invalid value: {list(vals)}: "
                "for 'Gt', 'Lt' operators, exactly one value is required"
            )
        try:
            int(vals[0])
        except ValueError:
            raise SelectorError(
                f'unable to parse requirement: values[0]: Invalid value: "{vals[0]}": '
                "for 'Gt', 'Lt' operators, the value must be an integer"
            ) from None
    else:
        raise SelectorError(f'unable to parse requirement: operator: Unsupported value: "{operator}"')
    for v in vals:
        verrs = is_valid_label_value(v)
        if verrs:
            raise SelectorError(
                f'unable to parse requirement: values[0][{key}]: Invalid value: "{v}": {"; ".join(verrs)}'
            )
    return Requirement(key, operator, vals)


class Selector:
    """A conjunction of requirements. Empty matches everything; `nothing()` matches nothing."""

    __slots__ = ("_nothing", "requirements")

    def __init__(self, requirements: Sequence[Requirement] = (), nothing: bool = False) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls((), nothing=True)

    def empty(self) -> bool:
        return not self.requirements and not self._nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)

    def requires_exact(self, key: str) -> str | None:
        """The value `key` must equal for a match, if the selector pins it (for indexing)."""
        for r in self.requirements:
            if r.key == key and (
                r.operator in (EQUALS, DOUBLE_EQUALS) or (r.operator == IN and len(r.values) == 1)
            ):
                return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Selector)
            and self.requirements == other.requirements
            and self._nothing == other._nothing
        )

    def __hash__(self) -> int:
        return hash((self.requirements, self._nothing))


# ------------------------------------------------------------------------------------ parsing

_SPECIAL = frozenset("!=,()<>")


def _tokenize(s: str) -> list[tuple[str, str]]:
    """Tokens as (kind, text): kind is 'id', 'op' ('!', '=', '==', '!=', '<', '>'), '(', ')', ','."""
    toks: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            toks.append((c, c))
            i += 1
        elif c == "=":
            if i + 1 < n and s[i + 1] == "=":
                toks.append(("op", "=="))
                i += 2
            else:
                toks.append(("op", "="))
                i += 1
        elif c == "!":
            if i + 1 < n and s[i + 1] == "=":
                toks.append(("op", "!="))
                i += 2
            else:
                toks.append(("op", "!"))
                i += 1
        elif c in "<>":
            toks.append(("op", c))
            i += 1
        else:
            j = i
            while j < n and not s[j].isspace() and s[j] not in _SPECIAL:
                j += 1
            toks.append(("id", s[i:j]))
            i = j
    return toks


class _Parser:
    def __init__(self, s: str) -> None:
        self.s = s
        self.toks = _tokenize(s)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("end", "")

    def next(self) -> tuple[str, str]:
        t = self.peek()
        self.pos += 1
        return t

    def error(self, found: str, expected: str) -> SelectorError:
        return SelectorError(f"found '{found}', expected: {expected}")

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        if not self.toks:
            return reqs
        while True:
            reqs.append(self.requirement())
            kind, text = self.next()
            if kind == "end":
                return reqs
            if kind != ",":
                raise self.error(text, "',' or 'end of string'")

    def requirement(self) -> Requirement:
        kind, text = self.next()
        if kind == "op" and text == "!":
            kind, key = self.next()
            if kind != "id":
                raise self.error(key, "identifier after '!'")
            nk, _ = self.peek()
            if nk not in ("end", ","):
                raise self.error(self.peek()[1], "',' or 'end of string'")
            return new_requirement(key, DOES_NOT_EXIST)
        if kind != "id":
            raise self.error(text, "!, identifier, or 'end of string'")
        key = text
        kind, text = self.peek()
        if kind in ("end", ","):
            return new_requirement(key, EXISTS)
        self.next()
        if kind == "id" and text in (IN, NOT_IN):
            return new_requirement(key, text, self.value_set())
        if kind == "op" and text in ("=", "==", "!=", "<", ">"):
            value = ""
            nk, nt = self.peek()
            if nk == "id":
                self.next()
                value = nt
            elif nk not in ("end", ","):
                raise self.error(nt, "identifier")
            if text in ("<", ">"):
                return new_requirement(key, GREATER_THAN if text == ">" else LESS_THAN, [value])
            return new_requirement(key, text, [value])
        raise self.error(text, "in, notin, =, ==, !=, gt, lt")

    def value_set(self) -> list[str]:
        kind, text = self.next()
        if kind != "(":
            raise self.error(text, "'('")
        values: list[str] = []
        expect_value = True
        while True:
            kind, text = self.next()
            if kind == ")":
                if expect_value:
                    values.append("")  # `()` and `(a,)` hold an empty value, as Kubernetes reads them
                return values
            if kind == "id" and expect_value:
                values.append(text)
                expect_value = False
            elif kind == ",":
                if expect_value:
                    values.append("")
                expect_value = True
            else:
                raise self.error(text, "',', ')' or identifier")


def parse(s: str) -> Selector:
    """Parse a label selector string; SelectorError when malformed or invalid."""
    return Selector(_Parser(s).parse())


def from_set(labels: Mapping[str, str] | None) -> Selector:
    """A selector requiring every label in the mapping (like nodeSelector, matchLabels)."""
    if not labels:
        return Selector()
    return Selector([Requirement(k, EQUALS, (v,)) for k, v in labels.items()])


_LS_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(ls: LabelSelector | None) -> Selector:
    """metav1.LabelSelector as a Selector: None matches nothing, an empty one matches everything."""
    if ls is None:
        return Selector.nothing()
    reqs: list[Requirement] = []
    for k, v in (ls.match_labels or {}).items():
        reqs.append(new_requirement(k, EQUALS, [v]))
    for expr in ls.match_expressions or ():
        op = _LS_OPS.get(expr.operator)
        if op is None:
            raise SelectorError(f'"{expr.operator}" is not a valid label selector operator')
        values = expr.values or []
        if op in (IN, NOT_IN) and not values:
            raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
        if op in (EXISTS, DOES_NOT_EXIST) and values:
            raise SelectorError("for 'exists', 'doesnotexist' operators, values set must be empty")
        reqs.append(new_requirement(expr.key, op, values))
    return Selector(reqs)


def matches_label_selector(ls: LabelSelector | None, labels: Mapping[str, str] | None) -> bool:
    """Does a metav1.LabelSelector select these labels (None selects nothing)? Invalid -> False."""
    if ls is None:
        return False
    if ls.match_labels:
        if labels is None:
            return False
        for k, v in ls.match_labels.items():
            if labels.get(k) != v:
                return False
    for expr in ls.match_expressions or ():
        has = labels is not None and expr.key in labels
        op = expr.operator
        if op == "In":
            if not has or labels[expr.key] not in (expr.values or ()):  # type: ignore[index]
                return False
        elif op == "NotIn":
            if has and labels[expr.key] in (expr.values or ()):  # type: ignore[index]
                return False
        elif op == "Exists":
            if not has:
                return False
        elif op == "DoesNotExist":
            if has:
                return False
        else:
            return False
    return True
