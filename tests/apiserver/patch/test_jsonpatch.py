"""JSON patch: the RFC 6902 appendix A examples, Kubernetes' error wording, and properties."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.apiserver.patch import PatchError, apply_json_patch
from skiff.apiserver.patch.jsonpatch import escape_token, parse_pointer

# RFC 6902 appendix A: (name, document, patch, result).
RFC6902_OK = [
    (
        "A.1 add object member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    (
        "A.2 add array element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    (
        "A.3 remove object member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    (
        "A.4 remove array element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        "A.5 replace",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6 move value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7 move array element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8 test success",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        "A.10 add nested member",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11 ignore unknown members",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    (
        "A.14 ~ escape ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    (
        "A.16 add array value",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    (
        "copy",
        {"a": {"b": [1]}},
        [{"op": "copy", "from": "/a", "path": "/c"}],
        {"a": {"b": [1]}, "c": {"b": [1]}},
    ),
    ("replace whole document", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    ("add to the end with -", {"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}], {"a": [1, 2, 3]}),
    ("add at the length", {"a": [1, 2]}, [{"op": "add", "path": "/a/2", "value": 3}], {"a": [1, 2, 3]}),
    (
        "~1 in a label key",
        {"metadata": {"labels": {}}},
        [{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"}],
        {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}},
    ),
    ("test number equality 1 == 1.0", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
    ("test null value", {"a": None}, [{"op": "test", "path": "/a", "value": None}], {"a": None}),
    ("negative index like Kubernetes", {"a": [1, 2, 3]}, [{"op": "remove", "path": "/a/-1"}], {"a": [1, 2]}),
]


@pytest.mark.parametrize(("name", "doc", "patch", "expected"), RFC6902_OK, ids=[c[0] for c in RFC6902_OK])
def test_rfc6902_examples(name: str, doc: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(doc)
    assert apply_json_patch(doc, patch) == expected
    assert doc == before


# (name, document, patch, message); every failure while applying is 422 Invalid.
FAILURES = [
    (
        "A.9 test failure",
        {"baz": "qux"},
        [{"op": "test", "path": "/baz", "value": "bar"}],
        "testing value /baz failed: test failed",
    ),
    (
        "A.12 add to nonexistent target",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        'add operation does not apply: doc is missing path: "/baz/bat": missing value',
    ),
    (
        "A.15 string is not number",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": "10"}],
        "testing value /~01 failed: test failed",
    ),
    (
        "test true is not 1",
        {"a": True},
        [{"op": "test", "path": "/a", "value": 1}],
        "testing value /a failed: test failed",
    ),
    (
        "test missing key",
        {"a": {}},
        [{"op": "test", "path": "/a/b", "value": "x"}],
        "testing value /a/b failed: test failed",
    ),
    (
        "test missing parent",
        {},
        [{"op": "test", "path": "/a/b", "value": "x"}],
        "test operation does not apply: is missing path: /a/b: missing value",
    ),
    (
        "remove missing key",
        {"metadata": {"labels": {}}},
        [{"op": "remove", "path": "/metadata/labels/app"}],
        "error in remove for path: '/metadata/labels/app': "
        "Unable to remove nonexistent key: app: missing value",
    ),
    (
        "remove missing parent",
        {},
        [{"op": "remove", "path": "/spec/x"}],
        'remove operation does not apply: doc is missing path: "/spec/x": missing value',
    ),
    (
        "replace missing key",
        {"spec": {}},
        [{"op": "replace", "path": "/spec/x", "value": 1}],
        "replace operation does not apply: doc is missing key: /spec/x: missing value",
    ),
    (
        "replace index out of range",
        {"a": [1]},
        [{"op": "replace", "path": "/a/5", "value": 1}],
        "error in replace for path: '/a/5': Unable to access invalid index: 5: invalid index referenced",
    ),
    (
        "add index out of range",
        {"a": [1]},
        [{"op": "add", "path": "/a/3", "value": 1}],
        "error in add for path: '/a/3': Unable to access invalid index: 3: invalid index referenced",
    ),
    (
        "add bad index",
        {"a": [1]},
        [{"op": "add", "path": "/a/x", "value": 1}],
        "error in add for path: '/a/x': value was not a proper array index: 'x'",
    ),
    (
        "move from missing",
        {},
        [{"op": "move", "from": "/a", "path": "/b"}],
        "move operation does not apply: doc is missing from path: /a: missing value",
    ),
    (
        "move into own child",
        {"a": {"b": 1}},
        [{"op": "move", "from": "/a", "path": "/a/b/c"}],
        "move operation does not apply: cannot move /a into its own child /a/b/c",
    ),
    (
        "copy from missing",
        {},
        [{"op": "copy", "from": "/a", "path": "/b"}],
        "copy operation does not apply: doc is missing from path: /a: missing value",
    ),
    ("unknown op", {}, [{"op": "frob", "path": "/a"}], "Unexpected kind: frob"),
    ("missing op", {}, [{"path": "/a"}], "Unexpected kind: unknown"),
    ("missing path", {}, [{"op": "add", "value": 1}], "add operation failed to decode path: missing value"),
    ("missing value", {}, [{"op": "add", "path": "/a"}], "add operation, missing value field: missing value"),
    (
        "pointer without slash",
        {"a": 1},
        [{"op": "remove", "path": "a"}],
        "JSON pointer must be empty or start with '/': 'a'",
    ),
]


@pytest.mark.parametrize(("name", "doc", "patch", "message"), FAILURES, ids=[c[0] for c in FAILURES])
def test_failures(name: str, doc: Any, patch: Any, message: str) -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(doc, patch)
    assert err.value.code == 422
    assert err.value.reason == "Invalid"
    assert err.value.message == message


def test_all_or_nothing() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(doc, [{"op": "replace", "path": "/a", "value": 2}, {"op": "remove", "path": "/zz"}])
    assert doc == {"a": 1}


@pytest.mark.parametrize(("body", "code"), [({"op": "add"}, 400), (["x"], 400), ("s", 400)])
def test_body_not_a_patch(body: Any, code: int) -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, body)
    assert err.value.code == code


def test_too_many_operations() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, [{"op": "test", "path": "", "value": {}}] * 10001)
    assert err.value.code == 413
    assert err.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"


def test_kubectl_style_test_then_replace() -> None:
    pod = {"metadata": {"labels": {"A": "true"}}}
    patch = [
        {"op": "test", "path": "/metadata/labels/A", "value": "true"},
        {"op": "replace", "path": "/metadata/labels/A", "value": "false"},
    ]
    assert apply_json_patch(pod, patch) == {"metadata": {"labels": {"A": "false"}}}
    with pytest.raises(PatchError):
        apply_json_patch({"metadata": {"labels": {"A": "no"}}}, patch)


keys = st.text(alphabet="ab~/c", min_size=1, max_size=4)
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


@settings(deadline=None, max_examples=40)
@given(st.lists(keys, max_size=5))
def test_pointer_escaping_round_trips(tokens: list[str]) -> None:
    pointer = "".join("/" + escape_token(t) for t in tokens)
    assert parse_pointer(pointer) == tokens


@settings(deadline=None, max_examples=40)
@given(st.dictionaries(keys, values, max_size=4), keys, values)
def test_add_then_remove_restores(doc: dict[str, Any], key: str, value: Any) -> None:
    if key in doc:
        return
    path = "/" + escape_token(key)
    added = apply_json_patch(doc, [{"op": "add", "path": path, "value": value}])
    assert apply_json_patch(added, [{"op": "test", "path": path, "value": value}]) == added
    assert apply_json_patch(added, [{"op": "remove", "path": path}]) == doc


@settings(deadline=None, max_examples=40)
@given(st.dictionaries(keys, values, min_size=1, max_size=4))
def test_test_whole_document_passes(doc: dict[str, Any]) -> None:
    assert apply_json_patch(doc, [{"op": "test", "path": "", "value": doc}]) == doc
