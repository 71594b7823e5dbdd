"""Validation: field paths, reasons and messages (cases after Kubernetes' validation tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skiff.api import codec, coordination, core, defaults, events, scheduling, validation
from skiff.api.meta import ObjectMeta


def make_pod(**spec: Any) -> core.Pod:
    body: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], **spec},
    }
    pod = codec.decode_fast(core.Pod, json.dumps(body).encode())
    defaults.apply(pod)
    return pod


def errors(errs: list[validation.FieldError]) -> list[str]:
    return [str(e) for e in errs]


def test_valid_pod() -> None:
    assert validation.validate(make_pod()) == []


def test_required_image_message_and_cause() -> None:
    pod = make_pod(containers=[{"name": "c"}])
    errs = validation.validate(pod)
    assert errors(errs) == ["spec.containers[0].image: Required value"]
    cause = errs[0].cause()
    assert (cause.reason, cause.message, cause.field) == (
        "FieldValueRequired",
        "Required value",
        "spec.containers[0].image",
    )
    status = validation.invalid_status("Pod", "web", errs)
    assert status.code == 422 and status.reason == "Invalid"
    assert status.message == 'Pod "web" is invalid: spec.containers[0].image: Required value'
    body = json.loads(codec.encode(status))
    assert body["details"]["causes"][0]["reason"] == "FieldValueRequired"
    assert body["kind"] == "Status"


def test_several_errors_in_brackets() -> None:
    pod = make_pod(containers=[{"name": "c"}], restartPolicy="Sometimes")
    msg = validation.invalid_message("Pod", "web", validation.validate(pod))
    assert msg == (
        'Pod "web" is invalid: [spec.containers[0].image: Required value, '
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "OnFailure", "Never"]'
    )


@pytest.mark.parametrize(
    ("name", "ok"),
    [("web", True), ("web-1.a", True), ("Web", False), ("web_1", False), ("-web", False), ("a" * 254, False)],
)
def test_pod_names(name: str, ok: bool) -> None:
    pod = make_pod()
    pod.metadata.name = name
    errs = validation.validate(pod)
    assert (errs == []) is ok
    if not ok:
        assert errs[0].field == "metadata.name" and errs[0].type == validation.INVALID


def test_name_or_generate_name() -> None:
    pod = make_pod()
    pod.metadata.name = None
    assert errors(validation.validate(pod)) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    pod.metadata.generate_name = "web-"
    assert validation.validate(pod) == []
    pod.metadata.namespace = None
    assert errors(validation.validate(pod)) == ["metadata.namespace: Required value"]


def test_container_rules() -> None:
    pod = make_pod(
        containers=[
            {"name": "c", "image": "x:1", "ports": [{"containerPort": 80, "hostPort": 8080}]},
            {"name": "c", "image": "x:1", "ports": [{"containerPort": 70000, "hostPort": 8080}]},
            {"name": "Bad_Name", "image": " x", "imagePullPolicy": "Sometimes"},
        ]
    )
    got = errors(validation.validate(pod))
    assert 'spec.containers[1].name: Duplicate value: "c"' in got
    assert (
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive" in got
    )
    assert 'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"' in got
    assert (
        'spec.containers[2].image: Invalid value: " x": must not have leading or trailing whitespace' in got
    )
    assert any(
        e.startswith('spec.containers[2].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label')
        for e in got
    )
    assert (
        'spec.containers[2].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "IfNotPresent", "Never"' in got
    )


def test_resources() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "c",
                "image": "x:1",
                "resources": {
                    "requests": {"cpu": "2", "memory": "-1", "example.com/gpu": "1"},
                    "limits": {"cpu": "1", "bogus": "1"},
                },
            }
        ]
    )
    got = errors(validation.validate(pod))
    assert (
        'spec.containers[0].resources.requests[cpu]: Invalid value: "2": '
        "must be less than or equal to cpu limit of 1" in got
    )
    assert (
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1": '
        "must be greater than or equal to 0" in got
    )
    assert (
        'spec.containers[0].resources.limits[bogus]: Invalid value: "bogus": '
        "must be a standard resource for containers" in got
    )
    assert any(e.startswith("spec.containers[0].resources.requests[example.com/gpu]: Forbidden") for e in got)
    bad = make_pod(containers=[{"name": "c", "image": "x:1", "resources": {"requests": {"cpu": "abc"}}}])
    assert validation.validate(bad)[0].field == "spec.containers[0].resources.requests[cpu]"


def test_probes() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "c",
                "image": "x:1",
                "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 0}},
                "readinessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}},
                "startupProbe": {},
            }
        ]
    )
    got = errors(validation.validate(pod))
    assert "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1" in got
    assert (
        "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: "
        "must be between 1 and 65535, inclusive" in got
    )
    assert (
        "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"
        in got
    )
    assert "spec.containers[0].startupProbe: Required value: must specify a handler type" in got


def test_tolerations() -> None:
    pod = make_pod(
        tolerations=[
            {"operator": "Equal", "value": "x"},
            {"key": "a", "operator": "Exists", "value": "x"},
            {"key": "a", "operator": "Sometimes"},
            {"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5},
            {"key": "a", "effect": "Never"},
        ]
    )
    got = errors(validation.validate(pod))
    assert (
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, '
        'which means "match all values and all keys"' in got
    )
    assert any(e.startswith("spec.tolerations[1].operator: Invalid value: {") for e in got)
    assert (
        'spec.tolerations[2].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists"'
        in got
    )
    assert (
        "spec.tolerations[3].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
        "`tolerationSeconds` is set" in got
    )
    assert any(e.startswith('spec.tolerations[4].effect: Unsupported value: "Never"') for e in got)


def test_affinity_and_spread() -> None:
    na = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    pod = make_pod(
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In"},
                                {"key": "zone", "operator": "Exists", "values": ["a"]},
                                {"key": "n", "operator": "Gt", "values": ["1", "2"]},
                                {"key": "zone", "operator": "Near", "values": ["a"]},
                            ],
                            "matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["a"]}],
                        }
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {}}],
            },
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"a": "b"}}}
                ]
            },
        },
        topologySpreadConstraints=[
            {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 0},
            {"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "Maybe"},
        ],
    )
    got = errors(validation.validate(pod))
    t = f"{na}.nodeSelectorTerms[0]"
    assert (
        f"{t}.matchExpressions[0].values: Required value: "
        "must be specified when `operator` is 'In' or 'NotIn'" in got
    )
    assert (
        f"{t}.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or "
        "'DoesNotExist'" in got
    )
    assert (
        f"{t}.matchExpressions[2].values: Required value: must be specified single value when `operator` is "
        "'Lt' or 'Gt'" in got
    )
    assert f'{t}.matchExpressions[3].operator: Invalid value: "Near": not a valid selector operator' in got
    assert f'{t}.matchFields[0].key: Invalid value: "metadata.labels": not a valid field selector key' in got
    assert (
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
        "Invalid value: 0: "
        "must be in the range 1-100" in got
    )
    assert (
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: "
        "Required value: can not be empty" in got
    )
    assert "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero" in got
    assert "spec.topologySpreadConstraints[1].minDomains: Invalid value: 0: must be greater than 0" in got
    assert 'spec.topologySpreadConstraints[1]: Duplicate value: "{zone, DoNotSchedule}"' in got
    assert "spec.topologySpreadConstraints[2].topologyKey: Required value: can not be empty" in got
    assert any(
        e.startswith('spec.topologySpreadConstraints[2].whenUnsatisfiable: Unsupported value: "Maybe"')
        for e in got
    )


def test_volumes() -> None:
    pod = make_pod(
        volumes=[{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}],
        containers=[
            {
                "name": "c",
                "image": "x:1",
                "volumeMounts": [{"name": "nope", "mountPath": "/d"}, {"name": "data"}],
            }
        ],
    )
    got = errors(validation.validate(pod))
    assert 'spec.volumes[1].name: Duplicate value: "data"' in got
    assert 'spec.containers[0].volumeMounts[0].name: Not found: "nope"' in got
    assert "spec.containers[0].volumeMounts[1].mountPath: Required value" in got


def test_misc_spec_fields() -> None:
    pod = make_pod(
        activeDeadlineSeconds=0, dnsPolicy="Sometimes", schedulingGates=[{"name": "g"}, {"name": "g"}]
    )
    got = errors(validation.validate(pod))
    assert "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive" in got
    assert any(e.startswith('spec.dnsPolicy: Unsupported value: "Sometimes"') for e in got)
    assert 'spec.schedulingGates[1]: Duplicate value: "g"' in got
    labelled = make_pod()
    labelled.metadata.labels = {"bad key": "v", "ok": "-bad"}
    got = errors(validation.validate(labelled))
    assert any(e.startswith('metadata.labels: Invalid value: "bad key"') for e in got)
    assert any(e.startswith('metadata.labels: Invalid value: "-bad"') for e in got)


def test_pod_update_rules() -> None:
    old = make_pod(
        activeDeadlineSeconds=100,
        tolerations=[{"key": "a", "operator": "Exists"}],
        schedulingGates=[{"name": "g"}],
    )
    new = codec.clone(old)
    new.spec.containers[0].image = "nginx:1.26"
    new.spec.active_deadline_seconds = 50
    new.spec.tolerations = [*(new.spec.tolerations or []), core.Toleration(key="b", operator="Exists")]
    new.spec.scheduling_gates = []
    assert validation.validate_update(new, old) == []
    bad = codec.clone(old)
    bad.spec.containers[0].ports = [core.ContainerPort(container_port=80, protocol="TCP")]
    errs = validation.validate_update(bad, old)
    assert len(errs) == 1 and errs[0].field == "spec" and errs[0].type == validation.FORBIDDEN
    assert (
        errs[0]
        .body()
        .startswith(
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
            "(only additions to "
            "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
            "previously negative)"
        )
    )
    assert "spec.containers[0].ports" in errs[0].detail
    raised = codec.clone(old)
    raised.spec.active_deadline_seconds = 200
    assert errors(validation.validate_update(raised, old)) == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    ]
    gated = codec.clone(old)
    gated.spec.scheduling_gates = [core.PodSchedulingGate(name="g"), core.PodSchedulingGate(name="h")]
    assert errors(validation.validate_update(gated, old)) == [
        "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'h'"
    ]
    more = codec.clone(old)
    more.spec.containers.append(core.Container(name="d", image="x:1"))
    defaults.apply(more)
    assert errors(validation.validate_update(more, old)) == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]
    huge = codec.clone(old)
    huge.spec.active_deadline_seconds = 3_000_000_000
    assert (
        "spec.activeDeadlineSeconds: Invalid value: 3000000000: must be between 0 and 2147483647, inclusive"
        in (errors(validation.validate_update(huge, old)))
    )
    empty_lists = codec.clone(old)
    empty_lists.spec.node_selector = {}
    empty_lists.spec.readiness_gates = []
    assert validation.validate_update(empty_lists, old) == []  # empty equals absent
    renamed = codec.clone(old)
    renamed.metadata.name = "other"
    assert errors(validation.validate_update(renamed, old)) == [
        'metadata.name: Invalid value: "other": field is immutable'
    ]
    node_set = codec.clone(old)
    node_set.spec.node_name = "n1"
    assert validation.validate_update(node_set, old)[0].field == "spec"


def test_gated_pods_may_extend_selectors() -> None:
    a = {"key": "a", "operator": "In", "values": ["x"]}
    b = {"key": "b", "operator": "Exists"}

    def aff(*terms: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": t} for t in terms]
                }
            }
        }

    gate = [{"name": "g"}]
    old = make_pod(schedulingGates=gate, nodeSelector={"a": "b"}, affinity=aff([a]))
    ok = make_pod(schedulingGates=gate, nodeSelector={"a": "b", "c": "d"}, affinity=aff([a, b]))
    assert validation.validate_update(ok, old) == []
    changed = make_pod(schedulingGates=gate, nodeSelector={"a": "z"}, affinity=aff([b]))
    got = errors(validation.validate_update(changed, old))
    assert got[0] == (
        'spec.nodeSelector: Invalid value: {"a":"z"}: only additions to spec.nodeSelector are allowed '
        "(no mutations or deletions)"
    )
    assert got[1].startswith(
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]: "
        "Invalid value: "
    )
    assert got[1].endswith("only additions are allowed (no mutations or deletions)")
    two = make_pod(schedulingGates=gate, nodeSelector={"a": "b"}, affinity=aff([a], [b]))
    assert errors(validation.validate_update(two, old))[0].endswith(
        "no additions/deletions to non-empty NodeSelectorTerms list are allowed"
    )
    ungated = make_pod(nodeSelector={"a": "b"})
    assert errors(validation.validate_update(make_pod(nodeSelector={"a": "b", "c": "d"}), ungated))[
        0
    ].startswith("spec: Forbidden: pod updates may not change fields")


def test_pod_status_update() -> None:
    old = make_pod(restartPolicy="Never")
    old.status = core.PodStatus(
        phase="Failed",
        container_statuses=[
            core.ContainerStatus(
                name="c", state=core.ContainerState(terminated=core.ContainerStateTerminated(exit_code=1))
            )
        ],
    )
    new = codec.clone(old)
    assert new.status is not None and new.status.container_statuses is not None
    new.status.phase = "Running"
    new.status.container_statuses[0].state = core.ContainerState(running=core.ContainerStateRunning())
    got = errors(validation.validate_pod_status_update(new, old))
    assert "status.phase: Forbidden: may not be changed from terminal phase Failed to Running" in got
    assert (
        "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state" in got
    )
    moved = codec.clone(old)
    moved.spec.node_name = "n2"
    assert "status.nodeName: Forbidden: may not be changed directly" in errors(
        validation.validate_pod_status_update(moved, old)
    )


def test_binding() -> None:
    assert errors(validation.validate(core.Binding(target=core.ObjectReference(kind="Pod")))) == [
        'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
        "target.name: Required value",
    ]
    assert validation.validate(core.Binding(target=core.ObjectReference(name="n1"))) == []


def test_node() -> None:
    node = core.Node(
        metadata=ObjectMeta(name="n1"),
        spec=core.NodeSpec(
            pod_cidr="10.0.0.0/33",
            taints=[
                core.Taint(key="a", effect="NoSchedule"),
                core.Taint(key="a", effect="NoSchedule"),
                core.Taint(key="b", effect="Sometimes"),
                core.Taint(key="c"),
            ],
        ),
        status=core.NodeStatus(capacity={"cpu": "x"}),
    )
    got = errors(validation.validate(node))
    assert 'spec.taints[1]: Duplicate value: "a:NoSchedule"' in got
    assert any(e.startswith('spec.taints[2].effect: Unsupported value: "Sometimes"') for e in got)
    assert "spec.taints[3].effect: Required value" in got
    assert 'spec.podCIDRs[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR' in got
    assert any(e.startswith("status.capacity[cpu]: Invalid value") for e in got)
    ns_node = core.Node(metadata=ObjectMeta(name="n1", namespace="default"))
    assert errors(validation.validate(ns_node)) == ["metadata.namespace: Forbidden: not allowed on this type"]
    old = core.Node(metadata=ObjectMeta(name="n1"), spec=core.NodeSpec(pod_cidr="10.0.0.0/24"))
    new = core.Node(metadata=ObjectMeta(name="n1"), spec=core.NodeSpec(pod_cidr="10.0.1.0/24"))
    assert errors(validation.validate_update(new, old)) == [
        'spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid'
    ]


def test_namespace_lease_priority_class_event() -> None:
    assert validation.validate(core.Namespace(metadata=ObjectMeta(name="ok"))) == []
    got = errors(validation.validate(core.Namespace(metadata=ObjectMeta(name="a.b"))))
    assert got and got[0].startswith('metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label')
    lease = coordination.Lease(
        metadata=ObjectMeta(name="n1", namespace="kube-node-lease"),
        spec=coordination.LeaseSpec(lease_duration_seconds=0, lease_transitions=-1, renew_time="yesterday"),
    )
    got = errors(validation.validate(lease))
    assert "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0" in got
    assert "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0" in got
    assert any(e.startswith('spec.renewTime: Invalid value: "yesterday"') for e in got)
    pc = scheduling.PriorityClass(metadata=ObjectMeta(name="system-mine"), value=2_000_000_001)
    assert errors(validation.validate(pc)) == [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved"
    ]
    big = scheduling.PriorityClass(metadata=ObjectMeta(name="big"), value=2_000_000_001)
    assert errors(validation.validate(big)) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    ]
    for sys_pc in scheduling.system_priority_classes():
        assert validation.validate(sys_pc) == []
    changed = scheduling.PriorityClass(metadata=ObjectMeta(name="big"), value=5)
    assert errors(
        validation.validate_update(
            changed, scheduling.PriorityClass(metadata=ObjectMeta(name="big"), value=4)
        )
    ) == ["value: Forbidden: may not be changed in an update."]
    ev = core.Event(
        metadata=ObjectMeta(name="web.1", namespace="default"),
        involved_object=core.ObjectReference(kind="Pod", name="web", namespace="other"),
    )
    assert errors(validation.validate(ev)) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]
    node_event = core.Event(
        metadata=ObjectMeta(name="n1.1", namespace="default"),
        involved_object=core.ObjectReference(kind="Node", name="n1"),
    )
    assert validation.validate(node_event) == []
    new_style = core.Event(
        metadata=ObjectMeta(name="web.3", namespace="default"),
        involved_object=core.ObjectReference(kind="Pod", name="web", namespace="default"),
        event_time="2024-01-01T00:00:00.000000Z",
    )
    assert errors(validation.validate(new_style)) == [
        "reportingComponent: Required value",
        "reportingInstance: Required value",
        "action: Required value",
        "reason: Required value",
    ]
    ev2 = events.Event(metadata=ObjectMeta(name="web.2", namespace="default"), type="Normal")
    assert errors(validation.validate(ev2)) == ["eventTime: Required value"]
    ev3 = events.Event(
        metadata=ObjectMeta(name="web.4", namespace="default"),
        event_time="2024-01-01T00:00:00.000000Z",
        type="Info",
        reporting_controller="skiff.io/kubelet",
        reporting_instance="kubelet-n1",
        action="Started",
        reason="Started",
        regarding=core.ObjectReference(kind="Pod", name="web", namespace="default"),
        deprecated_count=3,
    )
    assert errors(validation.validate(ev3)) == [
        'type: Invalid value: "": has invalid value: Info',
        'deprecatedCount: Invalid value: "": needs to be unset',
    ]


def test_validate_dict() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    assert validation.validate_dict("v1", "Pod", pod) == []  # defaults are applied to a copy first
    no_image = {**pod, "spec": {"containers": [{"name": "c"}]}}
    assert validation.validate_dict("v1", "Pod", no_image) == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
    ]
    wrong_type = {**pod, "spec": {"containers": [{"name": 5}]}}
    causes = validation.validate_dict("v1", "Pod", wrong_type)
    assert len(causes) == 1 and causes[0]["field"] == "spec.containers[0].name"
    assert causes[0]["reason"] == "FieldValueInvalid"
    changed = {
        **pod,
        "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]},
    }
    causes = validation.validate_dict("v1", "Pod", changed, old=pod)
    assert [c["field"] for c in causes] == ["spec"]
    assert validation.validate_dict("v1", "Pod", pod, old=pod, subresource="status") == []
    assert validation.validate_dict("example.com/v1", "Widget", {}) == []
    lease = {"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}}
    assert validation.validate_dict("coordination.k8s.io/v1", "Lease", lease)[0]["field"] == (
        "spec.leaseDurationSeconds"
    )
    no_uid = {**pod, "metadata": {"name": "web", "namespace": "default"}}
    with_uid = {**pod, "metadata": {"name": "web", "namespace": "default", "uid": "u1"}}
    assert validation.validate_dict("v1", "Pod", no_uid, old=with_uid) == []  # empty means "not given"


def test_validate_dict_applies_status_rules_to_status_changes() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Succeeded"},
    }
    new = {**old, "status": {"phase": "Running"}}
    assert validation.validate_dict("v1", "Pod", new, old=old) == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: may not be changed from terminal phase Succeeded to Running",
            "field": "status.phase",
        }
    ]
    relabelled = {**old, "metadata": {**old["metadata"], "labels": {"a": "b"}}}
    assert validation.validate_dict("v1", "Pod", relabelled, old=old) == []


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        ("http", []),
        ("web-1", []),
        ("-http", ["must not begin or end with a hyphen"]),
        ("Http", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
        ("a--b", ["must not contain consecutive hyphens"]),
        ("1234", ["must contain at least one letter (a-z)"]),
        ("abcdefghijklmnop", ["must be no more than 15 characters"]),
    ],
)
def test_port_names(name: str, problems: list[str]) -> None:
    assert validation.port_name_errors(name) == problems
