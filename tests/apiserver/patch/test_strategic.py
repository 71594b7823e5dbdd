"""Strategic merge patch.

`data/strategic_merge_cases.json` holds the patch-application cases of Kubernetes' own
strategicpatch tests (k8s.io/apimachinery pkg/util/strategicpatch/patch_test.go: each case's
two-way patch applied to `original`, and three-way patch applied to `current`), run against the
same test type (`mergeItem`) described here with skiff's schema Fields. The rest are cases for the
kinds skiff serves, shaped like what kubectl sends.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.apiserver.patch import PatchError
from skiff.apiserver.patch.schema import Field
from skiff.apiserver.patch.strategic import apply_strategic_patch, strategic_merge

# Kubernetes' test type: MergeItem / RetainKeysMergeItem and their patch tags.
_ITEM: dict[str, Field] = {}
_RETAIN_ITEM: dict[str, Field] = {}
_ITEM.update(
    {
        "mergingList": Field(strategy="merge", merge_key="name", fields=_ITEM),
        "nonMergingList": Field(fields=_ITEM),
        "mergingIntList": Field(strategy="merge"),
        "mergeItemPtr": Field(strategy="merge", merge_key="name", fields=_ITEM),
        "replacingItem": Field(strategy="replace"),
        "retainKeysMap": Field(strategy="retainKeys", fields=_RETAIN_ITEM),
        "retainKeysMergingList": Field(strategy="merge,retainKeys", merge_key="name", fields=_ITEM),
    }
)
_RETAIN_ITEM.update(
    {
        "mergingIntList": Field(strategy="merge"),
        "mergingList": Field(strategy="merge", merge_key="name", fields=_ITEM),
        "nonMergingList": Field(fields=_ITEM),
    }
)
MERGE_ITEM = Field(fields=_ITEM)

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "strategic_merge_cases.json").read_text()
)


def _sorted(value: Any) -> Any:
    """Kubernetes compares some cases after sorting lists (by merge key `name`)."""
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted(v) for v in value]
        return sorted(items, key=lambda x: json.dumps(x.get("name") if isinstance(x, dict) else x))
    return value


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_kubernetes_strategicpatch_cases(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(PatchError) as err:
            strategic_merge(case["original"], case["patch"], MERGE_ITEM)
        assert case["error"] in err.value.message
        return
    before = copy.deepcopy(case["original"])
    out = strategic_merge(case["original"], case["patch"], MERGE_ITEM)
    assert case["original"] == before
    if case["order_matters"]:
        assert out == case["expected"]
    else:
        assert _sorted(out) == _sorted(case["expected"])


POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "finalizers": ["a/x", "b/y"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u1"}],
    },
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "args": ["--a", "--b"],
            },
            {"name": "side", "image": "busybox"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}],
        "imagePullSecrets": [{"name": "s1"}],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "False"},
        ],
        "containerStatuses": [{"name": "web", "ready": False}, {"name": "side", "ready": True}],
    },
}


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


# (description, patch, path into the result, expected value there)
POD_CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    (
        "kubectl apply changes one image; containers merge by name",
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                "containers": [{"name": "web", "image": "nginx:1.26"}],
            }
        },
        "spec.containers",
        [
            {**POD["spec"]["containers"][0], "image": "nginx:1.26"},
            {"name": "side", "image": "busybox"},
        ],
    ),
    (
        "without $setElementOrder a new container goes first (as in Kubernetes)",
        {"spec": {"containers": [{"name": "extra", "image": "x"}]}},
        "spec.containers.0",
        {"name": "extra", "image": "x"},
    ),
    (
        "$setElementOrder reorders containers",
        {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}},
        "spec.containers.0.name",
        "side",
    ),
    (
        "$patch: delete removes a container by name",
        {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
        "spec.containers",
        [POD["spec"]["containers"][0]],
    ),
    (
        "$patch: replace in a list replaces the list",
        {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "i"}]}},
        "spec.containers",
        [{"name": "only", "image": "i"}],
    ),
    (
        "ports merge by containerPort",
        {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 443}]}]}},
        "spec.containers.0.ports",
        [{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}],
    ),
    (
        "env merges by name; null deletes a key of an item",
        {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}, {"name": "C"}]}]}},
        "spec.containers.0.env",
        [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C"}],
    ),
    (
        "volumeMounts merge by mountPath",
        {"spec": {"containers": [{"name": "web", "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}]}},
        "spec.containers.0.volumeMounts",
        [{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"}],
    ),
    (
        "args (no strategy) are replaced whole",
        {"spec": {"containers": [{"name": "web", "args": ["--c"]}]}},
        "spec.containers.0.args",
        ["--c"],
    ),
    (
        "tolerations are atomic: replaced whole",
        {"spec": {"tolerations": [{"key": "k3", "operator": "Exists"}]}},
        "spec.tolerations",
        [{"key": "k3", "operator": "Exists"}],
    ),
    (
        "imagePullSecrets merge by name",
        {"spec": {"imagePullSecrets": [{"name": "s2"}]}},
        "spec.imagePullSecrets",
        [{"name": "s2"}, {"name": "s1"}],
    ),
    (
        "volumes merge by name with $retainKeys dropping the old source",
        {
            "spec": {
                "volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]
            }
        },
        "spec.volumes",
        [{"name": "data", "hostPath": {"path": "/x"}}],
    ),
    (
        "finalizers merge as a set",
        {"metadata": {"finalizers": ["c/z", "a/x"]}},
        "metadata.finalizers",
        ["c/z", "a/x", "b/y"],
    ),
    (
        "$deleteFromPrimitiveList removes a finalizer",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/x"]}},
        "metadata.finalizers",
        ["b/y"],
    ),
    (
        "ownerReferences merge by uid",
        {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n2", "uid": "u2"}]}},
        "metadata.ownerReferences.0.uid",
        "u2",
    ),
    (
        "null deletes a label, others merge",
        {"metadata": {"labels": {"app": None, "tier": "x"}}},
        "metadata.labels",
        {"tier": "x"},
    ),
    (
        "null for an absent key is dropped",
        {"metadata": {"labels": {"nothere": None}}},
        "metadata.labels",
        {"app": "web"},
    ),
    (
        "$patch: replace in a map replaces the map",
        {"metadata": {"labels": {"$patch": "replace", "only": "x"}}},
        "metadata.labels",
        {"only": "x"},
    ),
    (
        "$patch: delete in a map empties it",
        {"metadata": {"labels": {"$patch": "delete"}}},
        "metadata.labels",
        {},
    ),
    (
        "status.conditions merge by type (the kubelet's status patch)",
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "PodScheduled", "status": "True"},
                ]
            }
        },
        "status.conditions",
        [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True"},
            {"type": "PodScheduled", "status": "True"},
        ],
    ),
    (
        "status.containerStatuses are atomic",
        {"status": {"containerStatuses": [{"name": "web", "ready": True}]}},
        "status.containerStatuses",
        [{"name": "web", "ready": True}],
    ),
    (
        "new nested objects lose their nulls and directives",
        {
            "spec": {
                "securityContext": {"runAsUser": 1, "fsGroup": None, "seLinuxOptions": {"$patch": "replace"}}
            }
        },
        "spec.securityContext",
        {"runAsUser": 1, "seLinuxOptions": {}},
    ),
]


@pytest.mark.parametrize(
    ("description", "patch", "path", "expected"), POD_CASES, ids=[c[0] for c in POD_CASES]
)
def test_pod(description: str, patch: dict[str, Any], path: str, expected: Any) -> None:
    before = copy.deepcopy(POD)
    out = apply_strategic_patch(POD, patch, "Pod")
    assert _get(out, path) == expected
    assert before == POD


NODE: dict[str, Any] = {
    "kind": "Node",
    "metadata": {"name": "n1"},
    "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]},
    "status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "MemoryPressure", "status": "False"}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}],
        "capacity": {"cpu": "2", "pods": "110"},
    },
}

NODE_CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    (
        "node conditions merge by type",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        "status.conditions",
        [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}],
    ),
    (
        "addresses merge by type",
        {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}},
        "status.addresses",
        [{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}],
    ),
    (
        "taints are atomic (kubectl taint sends the whole list)",
        {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}},
        "spec.taints",
        [{"key": "b", "effect": "NoExecute"}],
    ),
    (
        "podCIDRs merge as a set",
        {"spec": {"podCIDRs": ["fd00::/64"]}},
        "spec.podCIDRs",
        ["fd00::/64", "10.0.0.0/24"],
    ),
    (
        "capacity merges as a map",
        {"status": {"capacity": {"cpu": "4"}}},
        "status.capacity",
        {"cpu": "4", "pods": "110"},
    ),
    ("kubectl cordon", {"spec": {"unschedulable": True}}, "spec.unschedulable", True),
]


@pytest.mark.parametrize(
    ("description", "patch", "path", "expected"), NODE_CASES, ids=[c[0] for c in NODE_CASES]
)
def test_node(description: str, patch: dict[str, Any], path: str, expected: Any) -> None:
    assert _get(apply_strategic_patch(NODE, patch, "Node"), path) == expected


def test_namespace_and_other_kinds_merge_metadata() -> None:
    ns = {
        "kind": "Namespace",
        "metadata": {"name": "x", "finalizers": ["f1"]},
        "spec": {"finalizers": ["kubernetes"]},
    }
    out = apply_strategic_patch(
        ns, {"metadata": {"finalizers": ["f2"]}, "spec": {"finalizers": ["other"]}}, "Namespace"
    )
    assert out["metadata"]["finalizers"] == ["f2", "f1"]
    assert out["spec"]["finalizers"] == ["other"]  # atomic
    lease = {"kind": "Lease", "spec": {"holderIdentity": "a", "renewTime": "t1"}}
    assert apply_strategic_patch(lease, {"spec": {"renewTime": "t2"}}, "Lease")["spec"] == {
        "holderIdentity": "a",
        "renewTime": "t2",
    }


# (description, patch, code, message fragment)
ERRORS: list[tuple[str, Any, int, str]] = [
    ("patch is not an object", ["x"], 400, "invalid JSON document"),
    (
        "list item without merge key",
        {"spec": {"containers": [{"image": "x"}]}},
        422,
        "does not contain declared merge key: name",
    ),
    (
        "unknown $patch in a map",
        {"metadata": {"labels": {"$patch": "frob"}}},
        400,
        "unknown patch type: frob",
    ),
    (
        "$patch: merge in a list",
        {"spec": {"containers": [{"$patch": "merge"}]}},
        400,
        "merging lists cannot yet",
    ),
    ("list of lists", {"metadata": {"finalizers": [["a"]]}}, 422, "lists of lists are not supported"),
    ("bad $setElementOrder", {"spec": {"$setElementOrder/containers": "web"}}, 400, "setElementOrder"),
    (
        "bad $deleteFromPrimitiveList",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
        400,
        "primitive",
    ),
    ("bad $retainKeys", {"spec": {"$retainKeys": "x"}}, 400, "retainKeys"),
    ("$retainKeys not covering the patch", {"spec": {"$retainKeys": ["a"], "b": 1}}, 400, "retainKeys"),
    ("unknown directive", {"spec": {"$frob": 1}}, 400, "unknown strategic merge patch directive"),
    (
        "$setElementOrder not matching the patch list",
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                "containers": [{"name": "side"}, {"name": "web"}],
            }
        },
        400,
        "doesn't match",
    ),
]


@pytest.mark.parametrize(("description", "patch", "code", "message"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(description: str, patch: Any, code: int, message: str) -> None:
    with pytest.raises(PatchError) as err:
        apply_strategic_patch(POD, patch, "Pod")
    assert err.value.code == code
    assert message in err.value.message


labels = st.dictionaries(st.sampled_from("abcde"), st.text(max_size=3), max_size=5)
names = st.lists(st.sampled_from(["web", "side", "a", "b"]), unique=True, max_size=4)


@settings(deadline=None, max_examples=60)
@given(labels, labels)
def test_labels_behave_like_merge_patch(current: dict[str, str], patch: dict[str, str]) -> None:
    out = apply_strategic_patch({"metadata": {"labels": current}}, {"metadata": {"labels": patch}}, "Pod")
    assert out["metadata"]["labels"] == {**current, **patch}


@settings(deadline=None, max_examples=60)
@given(names, names)
def test_containers_merge_keeps_every_name_once(current: list[str], patch: list[str]) -> None:
    obj = {"spec": {"containers": [{"name": n, "image": "old"} for n in current]}}
    body = {"spec": {"containers": [{"name": n, "image": "new"} for n in patch]}}
    out = apply_strategic_patch(obj, body, "Pod")["spec"]["containers"]
    assert sorted(c["name"] for c in out) == sorted(set(current) | set(patch))
    assert all(c["image"] == ("new" if c["name"] in patch else "old") for c in out)
    # the patch's containers keep the patch's relative order
    assert [c["name"] for c in out if c["name"] in patch] == patch


@settings(deadline=None, max_examples=60)
@given(names, names)
def test_set_element_order_gives_the_order(current: list[str], order: list[str]) -> None:
    obj = {"spec": {"containers": [{"name": n} for n in current]}}
    body = {"spec": {"$setElementOrder/containers": [{"name": n} for n in order]}}
    out = [c["name"] for c in apply_strategic_patch(obj, body, "Pod")["spec"]["containers"]]
    assert sorted(out) == sorted(current)
    assert [n for n in out if n in order] == [n for n in order if n in current]
