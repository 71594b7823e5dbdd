"""Arbitrary input never escapes as anything but PatchError (the server answers a Status)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.apiserver.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_patch,
    apply_to_new,
    server_side_apply,
    update_managed_fields,
)

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"a": "b"}, "finalizers": ["x"]},
    "spec": {
        "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}], "env": [{"name": "E"}]}],
        "tolerations": [{"key": "k"}],
        "volumes": [{"name": "v", "emptyDir": {}}],
    },
    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
}

keys = st.sampled_from(
    [
        "metadata", "spec", "status", "labels", "finalizers", "containers", "name", "image", "ports",
        "containerPort", "env", "conditions", "type", "volumes", "tolerations", "$patch", "$retainKeys",
        "$setElementOrder/containers", "$deleteFromPrimitiveList/finalizers", "$setElementOrder/finalizers",
        "apiVersion", "kind", "managedFields", "x",
    ]
)  # fmt: skip
scalars = (
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["replace", "delete", "merge", "c", "v"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)
bodies = st.dictionaries(keys, values, max_size=4)


def _only_patch_errors(fn: Any, *args: Any, **kw: Any) -> None:
    try:
        fn(*args, **kw)
    except PatchError as err:
        assert err.code in (400, 409, 413, 422)
        assert err.message


@settings(deadline=None, max_examples=100)
@given(bodies)
def test_strategic_and_merge(body: dict[str, Any]) -> None:
    _only_patch_errors(apply_strategic_patch, POD, body, "Pod")
    _only_patch_errors(apply_strategic_patch, POD, body, "Node")
    _only_patch_errors(apply_merge_patch, POD, body)


pointers = st.lists(keys | st.sampled_from(["0", "1", "-", "~1", ""]), max_size=4).map(
    lambda parts: "".join("/" + p for p in parts)
)
ops = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"]), "path": pointers},
    optional={"value": values, "from": pointers},
)


@settings(deadline=None, max_examples=100)
@given(st.lists(ops, max_size=4))
def test_json_patch(patch: list[dict[str, Any]]) -> None:
    _only_patch_errors(apply_json_patch, POD, patch)


@settings(deadline=None, max_examples=100)
@given(bodies, st.booleans())
def test_apply_and_update(body: dict[str, Any], force: bool) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", **body}
    _only_patch_errors(server_side_apply, POD, body, "m", force=force)
    _only_patch_errors(apply_to_new, body, "m")
    _only_patch_errors(update_managed_fields, POD, body, "m")
    _only_patch_errors(update_managed_fields, None, body, "m")


def test_deeply_nested_documents_are_refused_cleanly() -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(5000):
        cur["a"] = {}
        cur = cur["a"]
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": deep}
    for fn, args in (
        (apply_merge_patch, (POD, deep)),
        (apply_strategic_patch, (POD, deep, "Pod")),
        (apply_json_patch, (POD, [{"op": "add", "path": "/x", "value": deep}])),
        (server_side_apply, (POD, body, "m")),
        (apply_to_new, (body, "m")),
        (update_managed_fields, (None, body, "m")),
    ):
        _only_patch_errors(fn, *args)
