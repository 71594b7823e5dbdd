"""JSON merge patch: the RFC 7386 appendix A table, Kubernetes-shaped cases, and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.apiserver.patch import PatchError, apply_merge_patch, merge_patch

# RFC 7386, appendix A: (original, patch, result).
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386)
def test_rfc7386_examples(original: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(original, patch) == expected


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]},
}

KUBE_CASES = [
    # kubectl label pod web env=prod --type=merge style
    ({"metadata": {"labels": {"env": "prod"}}}, {"app": "web", "tier": "front", "env": "prod"}, None),
    # removing a label
    ({"metadata": {"labels": {"tier": None}}}, {"app": "web"}, None),
    # lists are replaced whole: the second container is gone
    (
        {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}},
        None,
        [{"name": "web", "image": "nginx:1.26"}],
    ),
]


@pytest.mark.parametrize(("patch", "labels", "containers"), KUBE_CASES)
def test_kubernetes_object(patch: dict[str, Any], labels: Any, containers: Any) -> None:
    out = apply_merge_patch(POD, patch)
    if labels is not None:
        assert out["metadata"]["labels"] == labels
    if containers is not None:
        assert out["spec"]["containers"] == containers
    assert POD["metadata"]["labels"] == {"app": "web", "tier": "front"}  # input untouched


def test_result_shares_nothing_with_input() -> None:
    out = apply_merge_patch(POD, {"metadata": {"labels": {"x": "y"}}})
    out["spec"]["containers"][0]["image"] = "changed"
    assert POD["spec"]["containers"][0]["image"] == "nginx:1.25"


@pytest.mark.parametrize("patch", [["a"], "x", 3, None])
def test_non_object_patch_is_bad_request(patch: Any) -> None:
    with pytest.raises(PatchError) as err:
        apply_merge_patch(POD, patch)
    assert err.value.code == 400


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=10,
)
json_docs = st.dictionaries(st.text(max_size=4), json_values, max_size=5)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


@settings(deadline=None, max_examples=40)
@given(json_docs)
def test_patch_with_itself_is_identity_without_nulls(doc: dict[str, Any]) -> None:
    # Merging a document with itself yields the document, minus the keys whose value is null.
    assert merge_patch(doc, doc) == _without_nulls(doc)


@settings(deadline=None, max_examples=40)
@given(json_docs, json_docs)
def test_patch_keys_win_and_is_idempotent(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_patch(doc, patch)
    assert merge_patch(once, patch) == once
    for key, value in patch.items():
        if value is None:
            assert key not in once
        elif not isinstance(value, dict):
            assert once[key] == value


@settings(deadline=None, max_examples=40)
@given(json_docs, json_docs)
def test_inputs_not_modified(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    import copy

    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    merge_patch(doc, patch)
    assert doc == doc_before
    assert patch == patch_before
