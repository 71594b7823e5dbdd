"""Round trips of the object model through JSON, with Kubernetes' field names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skiff.api import codec, core, events, kinds
from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.meta import ObjectMeta, Status, parse_time
from skiff.api.scheduling import PriorityClass

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u1"}],
    },
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "nginx:1.25",
                "ports": [{"containerPort": 80, "hostIP": "0.0.0.0", "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "securityContext": {"runAsUser": 1000},
            }
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 10,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "web"}},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            },
        },
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "hostPID": False,
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}],
        "hostIP": "192.168.1.2",
        "qosClass": "Burstable",
        "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1}],
        "containerStatuses": [
            {
                "name": "c",
                "image": "nginx:1.25",
                "imageID": "docker://sha256:abc",
                "containerID": "docker://123",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}},
            }
        ],
    },
}


def test_pod_round_trip_keeps_every_field() -> None:
    data = json.dumps(POD).encode()
    pod = codec.decode_fast(core.Pod, data)
    assert pod.status is not None and pod.status.pod_ip == "10.0.0.5"
    assert pod.spec.containers[0].ports is not None
    assert pod.spec.containers[0].ports[0].host_ip == "0.0.0.0"
    assert pod.spec.host_pid is False
    assert json.loads(codec.encode(pod)) == POD


def test_kind_and_api_version_always_encoded() -> None:
    pod = core.Pod(metadata=ObjectMeta(name="x"))
    out = json.loads(codec.encode(pod))
    assert out["kind"] == "Pod" and out["apiVersion"] == "v1"
    assert out["metadata"] == {"name": "x"}
    lease = json.loads(codec.encode(Lease(spec=LeaseSpec(holder_identity="n1"))))
    assert lease["apiVersion"] == "coordination.k8s.io/v1"
    pc = json.loads(codec.encode(PriorityClass(value=0)))
    assert pc == {"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1", "metadata": {}, "value": 0}
    st = json.loads(codec.encode(Status(status="Failure", code=404)))
    assert st == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 404}


def test_fields_clients_require_are_always_encoded() -> None:
    cs = json.loads(codec.encode(core.ContainerStatus(name="c")))
    assert cs == {"name": "c", "ready": False, "restartCount": 0, "image": "", "imageID": ""}
    info = json.loads(codec.encode(core.NodeSystemInfo()))
    assert len(info) == 10 and set(info.values()) == {""}
    assert "Port" in json.loads(codec.encode(core.DaemonEndpoint(port=10250)))
    ev = json.loads(codec.encode(core.Event()))
    assert ev["involvedObject"] == {} and ev["metadata"] == {}


def test_lists_always_have_items_and_metadata() -> None:
    out = json.loads(codec.encode(core.PodList()))
    assert out == {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}
    lst = core.NodeList(items=[core.Node(metadata=ObjectMeta(name="n"))])
    lst.metadata.resource_version = "7"
    lst.metadata.continue_ = "tok"
    out = json.loads(codec.encode(lst))
    assert out["metadata"] == {"resourceVersion": "7", "continue": "tok"}
    assert out["items"][0]["kind"] == "Node"


def test_strict_decode_names_unknown_fields() -> None:
    bad = json.loads(json.dumps(POD))
    bad["spec"]["foo"] = 1
    bad["spec"]["containers"][0]["bar"] = {"x": 1}
    bad["spec"]["containers"][0]["securityContext"]["anything"] = 1  # loose: not reported
    bad["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ][0]["baz"] = True
    bad["extra"] = 1
    data = json.dumps(bad).encode()
    with pytest.raises(codec.UnknownFieldError) as e:
        codec.decode(core.Pod, data, strict=True)
    assert e.value.paths == [
        "spec.containers[0].bar",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].baz",
        "spec.foo",
        "extra",
    ]
    assert 'unknown field "spec.foo"' in str(e.value)
    pod, dropped = codec.decode(core.Pod, data, strict=False)
    assert "spec.foo" in dropped and pod.metadata.name == "web"
    assert codec.decode(core.Pod, json.dumps(POD).encode(), strict=True)[1] == []


def test_unknown_fields_fast_check_and_fallbacks() -> None:
    clean = json.loads(json.dumps(POD))
    assert codec.unknown_fields(core.Pod, clean) == []
    assert codec.unknown_fields(core.Pod, clean) == []  # cached checker
    wrong_shape = {"spec": {"containers": "x", "bogus": 1}}
    assert codec.unknown_fields(core.Pod, wrong_shape) == ["spec.bogus"]
    assert codec.unknown_fields(core.Pod, {"spec": {"containers": "x"}}) == []  # a type error, not unknown
    assert codec.unknown_fields(dict[str, Any], {"a": 1}) == []
    assert codec.unknown_fields(dict[str, Any], {"a": 1}) == []
    assert codec.unknown_fields(core.PodList, {"items": [{"spec": {"x": 1}}], "metadata": {"y": 2}}) == [
        "items[0].spec.x",
        "metadata.y",
    ]


def test_type_errors_name_the_field() -> None:
    with pytest.raises(codec.DecodeError) as e:
        codec.decode_fast(core.Pod, b'{"spec":{"containers":[{"name":5}]}}')
    assert e.value.field == "spec.containers[0].name"
    with pytest.raises(codec.DecodeError, match="invalid JSON"):
        codec.decode_fast(core.Pod, b'{"spec":')


def test_events_convert_both_ways() -> None:
    ev = events.Event(
        metadata=ObjectMeta(name="e1", namespace="default"),
        regarding=core.ObjectReference(kind="Pod", name="web", namespace="default"),
        note="hello",
        reason="Scheduled",
        reporting_controller="default-scheduler",
        event_time="2024-01-01T00:00:00.000000Z",
        series=events.EventSeries(count=2, last_observed_time="2024-01-01T00:00:01.000000Z"),
    )
    c = events.to_core(ev)
    assert c.involved_object.name == "web" and c.message == "hello"
    assert c.reporting_component == "default-scheduler"
    back = events.from_core(c)
    assert codec.encode(back) == codec.encode(ev)


def test_kinds_registry() -> None:
    pods = kinds.by_resource("", "v1", "pods")
    assert pods is not None and pods.type is core.Pod and pods.namespaced
    assert "po" in pods.short_names and pods.categories == ("all",)
    assert pods.subresource("binding") is not None
    assert kinds.by_kind("scheduling.k8s.io/v1", "PriorityClass") is not None
    ev2 = kinds.by_resource("events.k8s.io", "v1", "events")
    assert ev2 is not None and ev2.storage_key == ("", "events")
    assert [k.plural for k in kinds.resolve("no")] == ["nodes"]
    assert ("coordination.k8s.io", "v1") in kinds.group_versions()
    for k in kinds.KINDS:  # every kind and list encodes with its own kind and apiVersion
        obj = json.loads(codec.encode(k.type()))
        assert (obj["kind"], obj["apiVersion"]) == (k.kind, k.api_version)
        if k.list_type is not None:
            lst = json.loads(codec.encode(k.list_type()))
            assert (lst["kind"], lst["apiVersion"]) == (k.kind + "List", k.api_version)


def test_parse_time_accepts_z_and_offsets() -> None:
    a = parse_time("2024-01-02T03:04:05Z")
    assert parse_time("2024-01-02T03:04:05+00:00") == a
    assert parse_time("2024-01-02T05:04:05+02:00") == a
    assert parse_time("2024-01-02T03:04:05.123456789Z").microsecond == 123456
    for bad in ("2024-01-02", "2024-01-02T03:04:05", "nonsense-time-value!"):
        with pytest.raises(ValueError):
            parse_time(bad)
