"""Server-side apply and managedFields: the behaviour kubectl exercises, with Kubernetes'
field-path formats and conflict messages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.apiserver.patch import PatchError
from skiff.apiserver.patch.apply import (
    apply_to_new,
    parse_apply_body,
    server_side_apply,
    update_managed_fields,
)
from skiff.apiserver.patch.fieldpath import (
    ABSENT,
    Path,
    decode_fields,
    diff_fields,
    dump,
    encode_fields,
    field_values,
    fields_v1_of,
    path_string,
)
from skiff.apiserver.patch.jsonvalue import json_equal
from skiff.apiserver.patch.schema import schema_for


def pod(image: str = "nginx:1.25", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}], **spec},
    }


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["metadata"].get("managedFields", []))


def by_manager(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in entries(obj)}


def live(obj: dict[str, Any]) -> dict[str, Any]:
    """What the server would store: server-filled metadata added."""
    out = copy.deepcopy(obj)
    out["metadata"].update(
        {"uid": "u-1", "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z"}
    )
    return out


WEB = 'k:{"name":"web"}'
PORT80 = 'k:{"containerPort":80,"protocol":"TCP"}'


def test_apply_creates_with_kubernetes_fieldsv1() -> None:
    obj = apply_to_new(pod(labels={"app": "web"}), "kubectl", now="2026-01-01T00:00:00Z")
    assert obj["spec"] == pod()["spec"]
    assert entries(obj) == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        WEB: {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {PORT80: {".": {}, "f:containerPort": {}}},
                        }
                    }
                },
            },
        }
    ]


def test_apply_twice_with_changed_image() -> None:
    first = live(apply_to_new(pod(), "kubectl", now="t1"))
    second = server_side_apply(first, pod("nginx:1.26"), "kubectl", now="t2")
    assert second["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert second["metadata"]["uid"] == "u-1"
    (entry,) = entries(second)
    assert entry["time"] == "t2"
    assert entry["fieldsV1"] == entries(first)[0]["fieldsV1"]


def test_apply_same_config_changes_nothing() -> None:
    first = live(apply_to_new(pod(labels={"a": "b"}), "kubectl", now="t1"))
    assert server_side_apply(first, pod(labels={"a": "b"}), "kubectl", now="t2") == first


def test_apply_removes_what_the_manager_stopped_applying() -> None:
    first = live(
        apply_to_new(pod(labels={"app": "web", "tier": "x"}, nodeSelector={"disk": "ssd"}), "kubectl")
    )
    second = server_side_apply(first, pod(labels={"app": "web"}), "kubectl")
    assert second["metadata"]["labels"] == {"app": "web"}
    assert "nodeSelector" not in second["spec"]
    third = server_side_apply(second, pod(), "kubectl")
    assert "labels" not in third["metadata"]  # emptied map is dropped
    fields = entries(third)[0]["fieldsV1"]
    assert "f:metadata" not in fields


def test_removed_container_goes_but_fields_others_own_stay() -> None:
    two = pod()
    two["spec"]["containers"].append({"name": "side", "image": "busybox"})
    first = live(apply_to_new(two, "kubectl"))
    # another manager labels the pod and owns the label
    labelled = copy.deepcopy(first)
    labelled["metadata"]["labels"] = {"team": "a"}
    labelled = update_managed_fields(first, labelled, "kubectl-label")
    second = server_side_apply(labelled, pod(), "kubectl")
    assert [c["name"] for c in second["spec"]["containers"]] == ["web"]
    assert second["metadata"]["labels"] == {"team": "a"}


def test_conflict_after_an_edit_by_another_manager() -> None:
    first = live(apply_to_new(pod(), "kubectl"))
    edited = copy.deepcopy(first)
    edited["spec"]["containers"][0]["image"] = "nginx:edited"
    edited = update_managed_fields(first, edited, "kubectl-edit", now="t3")
    assert by_manager(edited)["kubectl-edit"]["fieldsV1"] == {
        "f:spec": {"f:containers": {WEB: {"f:image": {}}}}
    }
    assert "f:image" not in by_manager(edited)["kubectl"]["fieldsV1"]["f:spec"]["f:containers"][WEB]

    with pytest.raises(PatchError) as err:
        server_side_apply(edited, pod("nginx:1.26"), "kubectl")
    assert err.value.code == 409
    assert err.value.reason == "Conflict"
    assert err.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: '
        '.spec.containers[name="web"].image'
    )
    assert err.value.causes == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl-edit" using v1',
            "field": '.spec.containers[name="web"].image',
        }
    ]
    assert err.value.status()["details"]["causes"] == err.value.causes

    # Applying the value the other manager set is no conflict: ownership is shared.
    shared = server_side_apply(edited, pod("nginx:edited"), "kubectl")
    assert "f:image" in by_manager(shared)["kubectl"]["fieldsV1"]["f:spec"]["f:containers"][WEB]
    assert "kubectl-edit" in by_manager(shared)

    # force=true takes the field; the other manager's entry, now empty, goes.
    forced = server_side_apply(edited, pod("nginx:1.26"), "kubectl", force=True)
    assert forced["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert set(by_manager(forced)) == {"kubectl"}


def test_conflicts_with_several_managers() -> None:
    first = live(apply_to_new(pod(labels={"a": "1", "b": "2"}), "other-manager"))
    with pytest.raises(PatchError) as err:
        server_side_apply(first, pod("x", labels={"a": "9", "b": "9"}), "mine")
    assert err.value.message == (
        'Apply failed with 3 conflicts: conflicts with "other-manager":\n'
        "- .metadata.labels.a\n"
        "- .metadata.labels.b\n"
        '- .spec.containers[name="web"].image'
    )
    assert len(err.value.causes) == 3


def test_two_appliers_share_a_list() -> None:
    first = live(apply_to_new(pod(), "alice"))
    side = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "side", "image": "busybox"}]},
    }
    both = server_side_apply(first, side, "bob")
    assert [c["name"] for c in both["spec"]["containers"]] == ["web", "side"]
    # alice re-applies without knowing of side: bob's container stays
    again = server_side_apply(both, pod("nginx:1.27"), "alice")
    assert [(c["name"], c["image"]) for c in again["spec"]["containers"]] == [
        ("web", "nginx:1.27"),
        ("side", "busybox"),
    ]
    assert set(by_manager(again)) == {"alice", "bob"}


def test_object_without_managed_fields_is_attributed_before_first_apply() -> None:
    plain = live(pod())
    with pytest.raises(PatchError) as err:
        server_side_apply(plain, pod("nginx:2"), "kubectl")
    assert 'conflict with "before-first-apply" using v1' in err.value.message
    same = server_side_apply(plain, pod(), "kubectl")
    assert set(by_manager(same)) == {"before-first-apply", "kubectl"}


def test_sets_and_associative_lists() -> None:
    cfg = pod()
    cfg["metadata"]["finalizers"] = ["example.com/a"]
    cfg["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    cfg["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    obj = apply_to_new(cfg, "m")
    fields = entries(obj)[0]["fieldsV1"]
    assert fields["f:metadata"] == {"f:finalizers": {'v:"example.com/a"': {}}}
    assert fields["f:spec"]["f:tolerations"] == {}  # atomic
    assert fields["f:spec"]["f:containers"][WEB]["f:env"] == {
        'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}
    }
    mixed = copy.deepcopy(live(obj))
    mixed["metadata"]["finalizers"].append("example.com/b")
    mixed = update_managed_fields(live(obj), mixed, "controller")
    again = server_side_apply(mixed, cfg, "m")
    assert again["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]


def test_update_records_what_a_create_and_updates_set() -> None:
    created = update_managed_fields(None, live(pod(labels={"run": "web"})), "kubectl-create", now="t1")
    (entry,) = entries(created)
    assert entry["operation"] == "Update"
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
        "f:spec": {
            "f:containers": {
                WEB: {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {PORT80: {".": {}, "f:containerPort": {}}},
                }
            }
        },
    }
    # an update that changes nothing keeps the entry as it was
    assert update_managed_fields(created, copy.deepcopy(created), "kubectl-create", now="t2") == created
    # the kubelet's status write is recorded for the status subresource; spec is not its
    status = copy.deepcopy(created)
    status["status"] = {"phase": "Running"}
    status["spec"]["containers"][0]["image"] = "ignored-by-status"
    after = update_managed_fields(created, status, "kubelet", subresource="status", now="t3")
    kubelet = by_manager(after)["kubelet"]
    assert kubelet["subresource"] == "status"
    assert kubelet["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_status_is_not_owned_through_the_main_resource() -> None:
    cfg = pod()
    cfg["status"] = {"phase": "Running"}
    assert "f:status" not in entries(apply_to_new(cfg, "m"))[0]["fieldsV1"]


# (description, configuration, code, message fragment)
BAD = [
    ("no kind", {"apiVersion": "v1", "metadata": {"name": "x"}}, 400, "Object 'Kind' is missing"),
    ("no apiVersion", {"kind": "Pod", "metadata": {"name": "x"}}, 400, "Object 'ApiVersion' is missing"),
    (
        "managedFields set",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "managedFields": []}},
        400,
        "metadata.managedFields must be nil",
    ),
    (
        "container without name",
        {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "x"}]}},
        422,
        '.spec.containers: associative list with keys has an element that omits key field "name"',
    ),
    (
        "duplicate container",
        {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}, {"name": "a"}]}},
        422,
        '.spec.containers: duplicate entries for key [name="a"]',
    ),
]


@pytest.mark.parametrize(("description", "cfg", "code", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_configurations(description: str, cfg: dict[str, Any], code: int, message: str) -> None:
    for call in (lambda: apply_to_new(cfg, "m"), lambda: server_side_apply(live(pod()), cfg, "m")):
        with pytest.raises(PatchError) as err:
            call()
        assert err.value.code == code
        assert message in err.value.message


def test_parse_apply_body() -> None:
    body = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    when: 2024-01-01\n"
    assert parse_apply_body(body)["metadata"]["annotations"]["when"] == "2024-01-01"
    assert parse_apply_body(json.dumps(pod()).encode()) == pod()
    for bad in (b"[1, 2]", b"a: [", b"", b"1: x", b"a: .nan"):
        with pytest.raises(PatchError) as err:
            parse_apply_body(bad)
        assert err.value.code == 400


def test_path_strings() -> None:
    path: Path = (("f", "spec"), ("f", "ports"), ("k", '{"port":80,"protocol":"TCP"}'), ("f", "name"))
    assert path_string(path) == '.spec.ports[port=80,protocol="TCP"].name'
    assert path_string((("f", "metadata"), ("f", "finalizers"), ("v", '"a"'))) == '.metadata.finalizers[="a"]'


elements = st.one_of(
    st.builds(lambda s: ("f", s), st.text(min_size=1, max_size=4)),
    st.builds(lambda s: ("k", dump({"name": s})), st.text(max_size=3)),
    st.builds(lambda n: ("v", str(n)), st.integers(0, 3)),
)
path_sets = st.sets(st.lists(elements, min_size=1, max_size=4).map(tuple), max_size=8)


@settings(deadline=None, max_examples=40)
@given(path_sets)
def test_fieldsv1_round_trips(paths: set[Path]) -> None:
    assert decode_fields(encode_fields(paths)) == paths


labels = st.dictionaries(st.sampled_from("abcd"), st.sampled_from(["1", "2"]), max_size=4)


@settings(deadline=None, max_examples=60)
@given(labels, labels)
def test_apply_sequence_keeps_exactly_the_applied_labels(
    first: dict[str, str], second: dict[str, str]
) -> None:
    obj = live(apply_to_new(pod(labels=first), "m"))
    out = server_side_apply(obj, pod(labels=second), "m")
    assert out["metadata"].get("labels", {}) == second
    assert server_side_apply(out, pod(labels=second), "m", now="later")["metadata"] == out["metadata"]


def test_called_as_the_api_server_does() -> None:
    # skiff.apiserver.patching calls with keywords, and with {} when the object is absent.
    created = server_side_apply({}, pod(), manager="kubectl", force=False, kind="Pod")
    assert created["spec"] == pod()["spec"]
    assert entries(created)[0]["manager"] == "kubectl"
    assert (
        entries(created)[0]["fieldsV1"] == entries(apply_to_new(pod(), "kubectl", kind="Pod"))[0]["fieldsV1"]
    )
    updated = server_side_apply(live(created), pod("nginx:2"), manager="kubectl", force=False, kind="Pod")
    assert updated["spec"]["containers"][0]["image"] == "nginx:2"


containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["a", "b", "c"]), "image": st.sampled_from(["i1", "i2"])},
        optional={
            "env": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["X", "Y"]), "value": st.sampled_from(["1", "2"])}
                ),
                max_size=2,
                unique_by=lambda e: e["name"],
            ),
            "args": st.lists(st.sampled_from(["-v", "-q"]), max_size=2),
        },
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda c: c["name"],
)
configs = st.builds(
    lambda labels, cs, fin: {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": labels, "finalizers": fin},
        "spec": {"containers": cs},
    },
    labels,
    containers,
    st.lists(st.sampled_from(["f/1", "f/2"]), unique=True, max_size=2),
)
steps = st.lists(
    st.tuples(st.sampled_from(["m1", "m2", "m3"]), configs, st.booleans()), min_size=1, max_size=5
)


@settings(deadline=None, max_examples=40)
@given(steps)
def test_random_apply_sequences(sequence: list[tuple[str, dict[str, Any], bool]]) -> None:
    obj: dict[str, Any] = {}
    for manager, cfg, force in sequence:
        try:
            obj = live(server_side_apply(obj, cfg, manager, force=force))
        except PatchError as err:
            assert err.code == 409 and not force
            assert err.message.startswith("Apply failed with")
            continue
        # what was just applied is in the object
        for c in cfg["spec"]["containers"]:
            (got,) = [x for x in obj["spec"]["containers"] if x["name"] == c["name"]]
            assert got["image"] == c["image"]
            if c.get("args"):
                assert got["args"] == c["args"]
            for e in c.get("env", []):
                assert e in got.get("env", [])
        for k, v in cfg["metadata"]["labels"].items():
            assert obj["metadata"]["labels"][k] == v
        assert set(cfg["metadata"]["finalizers"]) <= set(obj["metadata"].get("finalizers", []))
        mine = by_manager(obj)[manager]
        assert decode_fields(mine["fieldsV1"]) == decode_fields(
            entries(apply_to_new(cfg, manager))[0]["fieldsV1"]
        )
        # every entry is well formed and names no field twice for one manager
        assert len({(e["manager"], e["operation"]) for e in entries(obj)}) == len(entries(obj))


def _full_diff(old: Any, new: Any, members: bool) -> tuple[set[Path], set[Path]]:
    schema = schema_for("Pod")
    before = field_values(old, schema, map_members=members)
    after = field_values(new, schema, map_members=members)
    changed = {p for p, v in after.items() if p not in before or not json_equal(before[p], v)}
    return changed, set(before) - set(after)


odd_values = st.none() | st.just({}) | st.just([]) | st.sampled_from(["x", 1])


@settings(deadline=None, max_examples=80)
@given(configs, configs, st.booleans(), odd_values, odd_values)
def test_diff_matches_a_full_comparison(a: Any, b: Any, members: bool, x: Any, y: Any) -> None:
    a["spec"]["extra"], b["spec"]["extra"] = x, y
    a["metadata"]["annotations"] = {"k": x} if x is not None else {}
    assert diff_fields(a, b, schema_for("Pod"), map_members=members) == _full_diff(a, b, members)
    assert diff_fields(ABSENT, b, schema_for("Pod"), map_members=members) == _full_diff({}, b, members)


def test_update_managers_are_capped_at_ten() -> None:
    obj = live(update_managed_fields(None, live(pod()), "creator", now="t00"))
    for i in range(1, 13):
        new = copy.deepcopy(obj)
        new["metadata"].setdefault("labels", {})[f"l{i}"] = "x"
        obj = update_managed_fields(obj, new, f"m{i:02}", now=f"t{i:02}")
    names = [e["manager"] for e in entries(obj)]
    assert len(names) == 10
    assert "ancient-changes" in names and "creator" not in names and "m01" not in names
    ancient = by_manager(obj)["ancient-changes"]["fieldsV1"]
    assert "f:spec" in ancient and "f:l1" in ancient["f:metadata"]["f:labels"]


def test_managed_fields_set_by_the_writer() -> None:
    first = live(apply_to_new(pod(), "kubectl"))
    # [{}] strips them, as Kubernetes documents
    stripped = copy.deepcopy(first)
    stripped["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in update_managed_fields(first, stripped, "kubectl-patch")["metadata"]
    # so does an empty list (TestClearManagedFieldsWithUpdateEmptyList) ...
    emptied = copy.deepcopy(first)
    emptied["metadata"]["managedFields"] = []
    untracked = update_managed_fields(first, emptied, "x")
    assert "managedFields" not in untracked["metadata"]
    # ... and later updates of the object do not start tracking again
    relabelled = copy.deepcopy(untracked)
    relabelled["metadata"]["labels"] = {"test-label": "v1"}
    assert "managedFields" not in update_managed_fields(untracked, relabelled, "kubectl-patch")["metadata"]
    # leaving managedFields out keeps the stored ones
    kept = copy.deepcopy(first)
    del kept["metadata"]["managedFields"]
    assert entries(update_managed_fields(first, kept, "x")) == entries(first)
    # explicit entries replace them
    mine = copy.deepcopy(first)
    mine["metadata"]["managedFields"] = [
        {"manager": "other", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:containers": {WEB: {"f:image": {}}}}}}
    ]  # fmt: skip
    assert set(by_manager(update_managed_fields(first, mine, "x"))) == {"other"}


def test_kubectl_server_side_apply_takes_over_client_side_apply() -> None:
    # created by client-side apply: an Update manager and the last-applied annotation
    cfg = pod("nginx:1")
    created = copy.deepcopy(cfg)
    created["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(cfg)}
    obj = live(update_managed_fields(None, live(created), "kubectl-client-side-apply"))
    # `kubectl apply --server-side` (manager "kubectl") may change what the annotation set ...
    out = server_side_apply(obj, pod("nginx:2"), "kubectl")
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    # ... and keeps the annotation in step, so a later client-side apply sees nginx:2
    note = out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(note) == pod("nginx:2")
    assert (
        json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]) == cfg
    )
    # ... but another manager name gets the conflict, as does a field changed since
    with pytest.raises(PatchError) as err:
        server_side_apply(obj, pod("nginx:2"), "my-tool")
    assert 'conflict with "kubectl-client-side-apply" using v1' in err.value.message
    edited = copy.deepcopy(obj)
    edited["spec"]["containers"][0]["image"] = "nginx:edited"
    edited = update_managed_fields(obj, edited, "kubectl-client-side-apply")
    with pytest.raises(PatchError):
        server_side_apply(edited, pod("nginx:2"), "kubectl")


def test_kubernetes_apply_managed_fields_case() -> None:
    # Kubernetes' integration test TestApplyManagedFields: an apply, then two merge patches by
    # "updater"; the updater's entry groups both and takes data.key from the applier.
    from skiff.apiserver.patch import apply_merge_patch

    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "value"},
    }
    obj = live(apply_to_new(cm, "apply_test", now="t1"))
    for now, body in (("t2", {"data": {"new-key": "value"}}), ("t3", {"data": {"key": "new value"}})):
        obj = update_managed_fields(obj, apply_merge_patch(obj, body), "updater", now=now)
    assert obj["data"] == {"key": "new value", "new-key": "value"}
    assert entries(obj) == [
        {
            "manager": "apply_test",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": "t1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:test-label": {}}}},
        },
        {
            "manager": "updater",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "t3",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}, "f:new-key": {}}},
        },
    ]
    # TestClearManagedFieldsWithMergePatch: [{}] clears them
    cleared = update_managed_fields(obj, apply_merge_patch(obj, {"metadata": {"managedFields": [{}]}}), "x")
    assert "managedFields" not in cleared["metadata"]


def test_kubernetes_apply_removes_empty_managed_fields_and_ports() -> None:
    # TestApplyRemovesEmptyManagedFields: applying nothing but the name leaves no managedFields
    bare = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm", "namespace": "default"}}
    first = apply_to_new(bare, "apply_test")
    assert "managedFields" not in first["metadata"]
    assert "managedFields" not in server_side_apply(live(first), bare, "apply_test")["metadata"]
    # TestApplyRemoveContainerPort: re-applying without the port removes it
    with_port = pod()
    with_port["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    obj = live(apply_to_new(with_port, "apply_test"))
    without = pod()
    del without["spec"]["containers"][0]["ports"]
    out = server_side_apply(obj, without, "apply_test")
    assert "ports" not in out["spec"]["containers"][0]


def test_kubernetes_apply_groups_many_separate_updates() -> None:
    # TestApplyGroupsManySeparateUpdates: 1 apply + 20 updaters -> 11 entries, the apply first,
    # then "ancient-changes"
    obj = live(apply_to_new(pod(labels={"applier": "true"}), "apply_test", now="t00"))
    for i in range(20):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"updater{i}"] = "new"
        obj = update_managed_fields(obj, new, f"updater{i}", now=f"t{i + 1:02}")
    names = [e["manager"] for e in entries(obj)]
    assert len(names) == 11
    assert names[:2] == ["apply_test", "ancient-changes"]


def test_uid_in_the_configuration_is_a_precondition() -> None:
    # TestCreateOnApplyFailsWithUID: creating through apply with a uid is a conflict
    cfg = pod()
    cfg["metadata"]["uid"] = "88e00824-7f0e-11e8-94a1-c8d3ffb15800"
    for call in (lambda: apply_to_new(cfg, "m"), lambda: server_side_apply({}, cfg, "m")):
        with pytest.raises(PatchError) as err:
            call()
        assert err.value.code == 409 and "no existing object was found" in err.value.message
    with pytest.raises(PatchError) as err:
        server_side_apply(live(pod()), cfg, "m")
    assert err.value.message == (
        "Precondition failed: UID in precondition: 88e00824-7f0e-11e8-94a1-c8d3ffb15800, "
        "UID in object meta: u-1"
    )
    cfg["metadata"]["uid"] = "u-1"
    assert server_side_apply(live(pod()), cfg, "m")["metadata"]["uid"] == "u-1"


def test_kubernetes_apply_removes_items_a_controller_contributed_to() -> None:
    # TestApplyCanRemoveMapItemsContributedToByControllers: a controller sets workingDir of the
    # applier's container; the applier drops the container: it goes, workingDir with it.
    obj = live(apply_to_new(pod(), "test_applier"))
    changed = copy.deepcopy(obj)
    changed["spec"]["containers"][0]["workingDir"] = "/home/replacement"
    obj = update_managed_fields(obj, changed, "test_updater")
    other = pod()
    other["spec"]["containers"] = [{"name": "other-container", "image": "nginx:latest"}]
    out = server_side_apply(obj, other, "test_applier")
    assert [c["name"] for c in out["spec"]["containers"]] == ["other-container"]
    assert set(by_manager(out)) == {"test_applier"}
    # ... whereas a field the controller took over stays when the applier omits it
    obj = live(apply_to_new(pod(hostname="h1"), "test_applier"))
    changed = copy.deepcopy(obj)
    changed["spec"]["hostname"] = "h2"
    obj = update_managed_fields(obj, changed, "test_updater")
    assert server_side_apply(obj, pod(), "test_applier")["spec"]["hostname"] == "h2"


def test_kubernetes_default_missing_keys() -> None:
    # TestDefaultMissingKeys: a port applied without protocol is keyed with the default TCP, so
    # another applier naming it with protocol TCP conflicts on exactly one field (its name).
    first = pod()
    first["spec"]["containers"][0]["ports"] = [{"name": "foo", "containerPort": 80}]
    obj = live(apply_to_new(first, "test_applier"))
    second = pod()
    second["spec"]["containers"][0]["ports"] = [{"name": "bar", "containerPort": 80, "protocol": "TCP"}]
    with pytest.raises(PatchError) as err:
        server_side_apply(obj, second, "test_applier_conflict")
    assert [c["field"] for c in err.value.causes] == [
        '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].name'
    ]


def test_kubernetes_renaming_managers_in_a_put() -> None:
    # TestRenamingAppliedFieldManagers / TestDroppingSubresourceField: entries renamed to the
    # same identity collapse, the later one winning.
    obj = live(apply_to_new(pod(labels={"a": "one"}), "multi_manager_one", now="t1"))
    labels_b = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"b": "two"}}}
    obj = live(server_side_apply(obj, labels_b, "multi_manager_two", now="t2"))
    assert obj["metadata"]["labels"] == {"a": "one", "b": "two"}
    put = copy.deepcopy(obj)
    for entry in put["metadata"]["managedFields"]:
        entry["manager"] = "multi_manager"
    (entry,) = entries(update_managed_fields(obj, put, "kubectl-replace"))
    assert (entry["manager"], entry["operation"]) == ("multi_manager", "Apply")
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:b": {}}}}


def test_kubernetes_upgrade_client_side_to_server_side_apply() -> None:
    # TestUpgradeClientSideToServerSideApply: a field changed since the last client-side apply
    # still conflicts; the fields that match the annotation move to kubectl.
    last = pod("my-image", labels={"app": "my-app"}, terminationGracePeriodSeconds=3)
    created = pod("my-image", labels={"app": "my-app"}, terminationGracePeriodSeconds=100000)
    created["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(last)
    }
    obj = live(update_managed_fields(None, live(created), "before"))
    with pytest.raises(PatchError) as err:
        server_side_apply(
            obj, pod("my-image", labels={"app": "new"}, terminationGracePeriodSeconds=3), "kubectl"
        )
    assert err.value.code == 409 and ".spec.terminationGracePeriodSeconds" in err.value.message
    out = server_side_apply(obj, pod("my-image-new", labels={"app": "new"}), "kubectl")
    assert out["spec"]["terminationGracePeriodSeconds"] == 100000
    assert out["spec"]["containers"][0]["image"] == "my-image-new"
    assert out["metadata"]["labels"] == {"app": "new"}


@settings(deadline=None, max_examples=60)
@given(configs, st.booleans(), odd_values)
def test_create_fast_path_matches_the_general_one(cfg: Any, members: bool, x: Any) -> None:
    cfg["spec"]["extra"] = x
    cfg["status"] = {"phase": "Running"}
    cfg["metadata"]["annotations"] = {"k": {"deep": x}}
    schema = schema_for("Pod")
    values = field_values(cfg, schema, map_members=members, skip=frozenset({(("f", "status"),)}))
    for path in [(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"), ("f", "name"))]:
        values.pop(path, None)
    fast = fields_v1_of(
        cfg,
        schema,
        map_members=members,
        skip=frozenset({(("f", "status"),)}),
        stripped=frozenset({(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"), ("f", "name"))}),
    )
    assert fast == encode_fields(values)
