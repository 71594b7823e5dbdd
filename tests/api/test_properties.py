"""Properties (hypothesis): round trips of quantities, selectors and objects; nothing crashes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.api import codec, core, fields, labels
from skiff.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    Quantity,
    QuantityError,
    parse_quantity,
)

# derandomize: the same examples every run, so a full `make test` never flakes on a new draw.
FAST = settings(max_examples=150, deadline=None, derandomize=True)


@FAST
@given(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT]),
)
def test_canonical_string_parses_back_to_the_same_value(nanos: int, fmt: str) -> None:
    q = Quantity(nanos, fmt)
    text = str(q)
    back = parse_quantity(text)
    if fmt == BINARY_SI and back.format == BINARY_SI and abs(nanos) > (2**63 - 1) * 10**9:
        return  # binary values past int64 are capped on parse, as Kubernetes does
    assert back == q
    # Canonical form is a fixed point once parsed (a suffix-less binary value reads back as decimal).
    assert str(parse_quantity(str(back))) == str(back)


@FAST
@given(st.text(max_size=12))
def test_quantity_parse_never_crashes(text: str) -> None:
    try:
        parse_quantity(text)
    except QuantityError:
        pass


_key = st.from_regex(
    r"([a-z]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z]{1,4})?/)?[a-z]([a-z0-9_.-]{0,8}[a-z0-9])?", fullmatch=True
)
_value = st.from_regex(r"([a-z0-9]([a-z0-9_.-]{0,6}[a-z0-9])?)?", fullmatch=True)


@st.composite
def _requirement(draw: st.DrawFn) -> str:
    key = draw(_key)
    kind = draw(st.sampled_from(["exists", "!", "=", "==", "!=", "in", "notin"]))
    if kind == "exists":
        return key
    if kind == "!":
        return "!" + key
    if kind in ("in", "notin"):
        values = draw(st.lists(_value, min_size=1, max_size=3))
        return f"{key} {kind} ({','.join(values)})"
    return f"{key}{kind}{draw(_value)}"


@FAST
@given(st.lists(_requirement(), max_size=4), st.dictionaries(_key, _value, max_size=4))
def test_label_selector_string_round_trip(reqs: list[str], lbls: dict[str, str]) -> None:
    sel = labels.parse(",".join(reqs))
    again = labels.parse(str(sel))
    assert str(again) == str(sel)
    assert again.matches(lbls) == sel.matches(lbls)


@FAST
@given(st.text(max_size=30))
def test_selector_parsers_never_crash(text: str) -> None:
    try:
        labels.parse(text)
    except labels.SelectorError:
        pass
    try:
        fields.parse(text)
    except fields.FieldSelectorError:
        pass


@FAST
@given(st.dictionaries(st.sampled_from(["a", "b.c", "x"]), st.text(max_size=8), max_size=3))
def test_field_selector_escaping_round_trip(values: dict[str, str]) -> None:
    sel = fields.from_set(values)
    again = fields.parse(str(sel))
    assert [(r.field, r.value) for r in again.requirements] == sorted(values.items())


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


@FAST
@given(st.dictionaries(st.sampled_from(["metadata", "spec", "status", "kind", "junk"]), _json, max_size=4))
def test_decoding_arbitrary_json_gives_a_pod_or_a_decode_error(body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    try:
        pod, unknown = codec.decode(core.Pod, data, strict=False)
    except codec.DecodeError as e:
        assert e.message
        return
    assert json.loads(codec.encode(pod))["kind"] in ("Pod", body.get("kind"))
    assert ("junk" in body) == ("junk" in unknown)


def _paths(obj: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _set(obj: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    cur: object = obj
    for key in path[:-1]:
        cur = cur[key]  # type: ignore[index]
    cur[path[-1]] = value  # type: ignore[index]
    return obj


@FAST
@given(st.data())
def test_defaults_and_validation_never_crash_on_mutated_pods(data: st.DataObject) -> None:
    from skiff.api import defaults, validation
    from tests.api.test_types import POD

    body = json.loads(json.dumps(POD))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(body)
        path = data.draw(st.sampled_from(paths))
        body = _set(body, path, data.draw(_json))  # type: ignore[assignment]
    if not isinstance(body, dict):
        return
    try:
        pod = codec.from_builtins(core.Pod, body)
    except codec.DecodeError:
        return
    defaults.apply(pod)
    defaults.add_default_tolerations(pod)
    defaults.prepare_pod_for_create(pod)
    validation.validate(pod)
    validation.validate_update(pod, codec.from_builtins(core.Pod, POD))
    validation.validate_dict("v1", "Pod", body, old=POD)
    defaults.prepare_create_dict("v1", "Pod", body)
