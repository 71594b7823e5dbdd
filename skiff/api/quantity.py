"""Kubernetes resource.Quantity: parsing, canonical form, values, comparison.

Grammar (Kubernetes'): an optional sign, digits with an optional point, then a suffix that is a binary
SI unit (Ki Mi Gi Ti Pi Ei), a decimal SI unit (n u m "" k M G T P E) or a decimal exponent (e3, E-3).
Values are held exactly as an integer count of nano-units; anything finer is rounded up (away from zero),
as Kubernetes does. A BinarySI value above 2^63-1 is capped, as Kubernetes does.

The canonical string (what Kubernetes stores and returns): "1000m" -> "1", "1.5Gi" -> "1536Mi",
"0.1" -> "100m", "1e3" -> "1e3", "1024Mi" -> "1Gi".
"""

from __future__ import annotations

from functools import lru_cache

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

_NANO = 10**9
_MAX_INT64 = 2**63 - 1
# Beyond this many decimal digits a quantity is refused rather than materialised (Kubernetes would keep
# it symbolically; no resource is that large, and a huge exponent must not cost memory).
_MAX_EXP10 = 1000

_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX_BY_EXP = {v: k for k, v in _DEC_SUFFIX.items()}
_BIN_SUFFIX = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_BIN_SUFFIX_BY_EXP = {v: k for k, v in _BIN_SUFFIX.items()}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


class QuantityError(ValueError):
    pass


def _ceil_div_away(n: int, d: int) -> int:
    """n / d rounded away from zero (d > 0)."""
    q, r = divmod(abs(n), d)
    if r:
        q += 1
    return q if n >= 0 else -q


class Quantity:
    """An exact quantity: `nanos` (value * 10^9) and the format its string keeps."""

    __slots__ = ("_s", "format", "nanos")

    def __init__(self, nanos: int = 0, format: str = DECIMAL_SI) -> None:
        self.nanos = nanos
        self.format = format
        self._s: str | None = None

    # ---- construction

    @classmethod
    def parse(cls, s: str) -> Quantity:
        return _parse_cached(s)

    @classmethod
    def from_milli(cls, milli: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(milli * 10**6, format)

    @classmethod
    def from_int(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(value * _NANO, format)

    # ---- values

    def value(self) -> int:
        """The value rounded up (away from zero) to an integer: bytes, counts."""
        return _ceil_div_away(self.nanos, _NANO)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (away from zero): milli-cpu."""
        return _ceil_div_away(self.nanos, 10**6)

    def is_zero(self) -> bool:
        return self.nanos == 0

    def sign(self) -> int:
        return (self.nanos > 0) - (self.nanos < 0)

    def as_float(self) -> float:
        return self.nanos / _NANO

    # ---- arithmetic and comparison

    def cmp(self, other: Quantity) -> int:
        return (self.nanos > other.nanos) - (self.nanos < other.nanos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)

    def __lt__(self, other: Quantity) -> bool:
        return self.nanos < other.nanos

    def __le__(self, other: Quantity) -> bool:
        return self.nanos <= other.nanos

    def __gt__(self, other: Quantity) -> bool:
        return self.nanos > other.nanos

    def __ge__(self, other: Quantity) -> bool:
        return self.nanos >= other.nanos

    def _fmt_with(self, other: Quantity) -> str:
        # Kubernetes keeps the format of the non-zero operand when one side is zero.
        return other.format if self.nanos == 0 and other.nanos != 0 else self.format

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.nanos + other.nanos, self._fmt_with(other))

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.nanos - other.nanos, self._fmt_with(other))

    def __neg__(self) -> Quantity:
        return Quantity(-self.nanos, self.format)

    # ---- formatting

    def __str__(self) -> str:
        if self._s is None:
            self._s = _canonical(self.nanos, self.format)
        return self._s

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def _canonical(nanos: int, fmt: str) -> str:
    if nanos == 0:
        return "0"
    sign = "-" if nanos < 0 else ""
    mag = abs(nanos)
    if fmt == BINARY_SI and mag >= 1024 * _NANO and mag % _NANO == 0:
        # Integer values of 1024 or more: the largest binary suffix that divides exactly.
        v = mag // _NANO
        exp = 0
        while exp < 6 and v % 1024 == 0:
            v //= 1024
            exp += 1
        if exp < 6 or v % 1024 != 0:
            return f"{sign}{v}{_BIN_SUFFIX_BY_EXP.get(exp, '')}"
        # Past Ei there is no binary suffix: fall back to an exact decimal form below.
        fmt = DECIMAL_EXPONENT
    elif fmt == BINARY_SI:
        fmt = DECIMAL_SI  # small or fractional binary values print as decimal SI
    # Decimal: mantissa * 10^exp with exp a multiple of 3 and as large as exactness allows.
    coef, exp = mag, -9
    while coef % 1000 == 0:
        coef //= 1000
        exp += 3
    if fmt == DECIMAL_SI:
        suffix = _DEC_SUFFIX_BY_EXP.get(exp)
        if suffix is not None:
            return f"{sign}{coef}{suffix}"
        # No SI suffix beyond E: exponent notation keeps the magnitude.
    return f"{sign}{coef}" if exp == 0 else f"{sign}{coef}e{exp}"


def _split(s: str) -> tuple[bool, str, str, str]:
    """(positive, integer digits, fraction digits, suffix) or QuantityError (Kubernetes' scanner)."""
    pos, end = 0, len(s)
    positive = True
    if pos < end and s[pos] in "+-":
        positive = s[pos] == "+"
        pos += 1
    start = pos
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    num = s[start:pos]
    denom = ""
    if pos < end and s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos] in _DIGITS:
            pos += 1
        denom = s[start:pos]
    suffix_start = pos
    while pos < end and s[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos != end:
        raise QuantityError(ERR_FORMAT)
    return positive, num or "0", denom, s[suffix_start:]


def _interpret_suffix(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix: base 10 or 2 (exponent in powers of 1024 for base 2)."""
    if suffix in _DEC_SUFFIX:
        return 10, _DEC_SUFFIX[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIX:
        return 2, _BIN_SUFFIX[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        body = suffix[1:]
        digits = body[1:] if body[0] in "+-" else body
        if digits and all(c in _DIGITS for c in digits):
            exp = int(body)
            if -(2**31 - 1) <= exp <= 2**31 - 1:
                return 10, exp, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def parse_quantity(s: str) -> Quantity:
    """Parse a quantity string; QuantityError (Kubernetes' messages) when it is not one."""
    if not isinstance(s, str) or not s:
        raise QuantityError(ERR_FORMAT)
    positive, num, denom, suffix = _split(s)
    base, exp, fmt = _interpret_suffix(suffix)
    coef = int(num + denom)  # value = coef * 10^-len(denom) * (10^exp | 1024^exp)
    exp10 = -len(denom)
    if base == 10:
        exp10 += exp
    else:
        coef *= 1024**exp
    nanos: int
    if coef == 0:
        nanos = 0
    else:
        shift = exp10 + 9  # nanos = coef * 10^shift
        if shift >= 0:
            if shift + len(str(coef)) > _MAX_EXP10:
                raise QuantityError(ERR_NUMERIC + ": value too large")
            nanos = coef * 10**shift
        elif -shift > len(str(coef)) + 1:
            nanos = 1  # far below a nano: rounds up to the smallest non-zero amount
        else:
            nanos = _ceil_div_away(coef, 10**-shift)
        if fmt == BINARY_SI and nanos > _MAX_INT64 * _NANO:
            nanos = _MAX_INT64 * _NANO
        if fmt == BINARY_SI and nanos < _NANO:
            fmt = DECIMAL_SI  # between 0 and 1: binary makes no sense
    if not positive:
        nanos = -nanos
    return Quantity(nanos, fmt)


@lru_cache(maxsize=4096)
def _parse_cached(s: str) -> Quantity:
    return parse_quantity(s)


def parse(s: str | int | float) -> Quantity:
    """Parse with a cache (quantities repeat a lot); numbers are read as JSON numbers."""
    if not isinstance(s, str):
        s = number_to_string(s)
    return _parse_cached(s)


def number_to_string(v: int | float) -> str:
    """A JSON number (as Kubernetes reads `cpu: 1` or `cpu: 0.5`) as quantity text."""
    if isinstance(v, bool):
        raise QuantityError(ERR_FORMAT)
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    if text in ("inf", "-inf", "nan"):
        raise QuantityError(ERR_FORMAT)
    return text


def is_valid(s: str) -> bool:
    try:
        parse(s)
    except QuantityError:
        return False
    return True


def canonical(s: str | int | float) -> str:
    """The canonical form Kubernetes stores for a quantity string."""
    return str(parse(s))


def milli_value(s: str | int | float) -> int:
    return parse(s).milli_value()


def value(s: str | int | float) -> int:
    return parse(s).value()
