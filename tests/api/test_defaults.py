"""Kubernetes' defaulting for the served kinds."""

from __future__ import annotations

import json

import pytest

from skiff.api import codec, core, defaults, scheduling
from skiff.api.meta import ObjectMeta


def decode_pod(obj: dict) -> core.Pod:
    return codec.decode_fast(core.Pod, json.dumps(obj).encode())


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        ("localhost:5000/nginx:v1", "IfNotPresent"),
        ("nginx@sha256:abcd", "IfNotPresent"),
        ("registry.example.com:443/team/app:latest", "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert defaults.image_pull_policy_for(image) == policy


def test_pod_defaults() -> None:
    pod = decode_pod(
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "nginx",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}},
                        "livenessProbe": {"httpGet": {"port": 80}},
                        "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    }
                ],
                "volumes": [{"name": "a", "configMap": {"name": "cm"}}, {"name": "b"}],
            },
        }
    )
    defaults.apply(pod)
    defaults.prepare_pod_for_create(pod)
    defaults.add_default_tolerations(pod)
    defaults.apply_priority(pod, lambda name: None)
    spec = pod.spec
    assert spec.restart_policy == "Always"
    assert spec.termination_grace_period_seconds == 30
    assert spec.dns_policy == "ClusterFirst"
    assert spec.scheduler_name == "default-scheduler"
    assert spec.enable_service_links is True
    assert spec.security_context == {}
    assert spec.priority == 0 and spec.preemption_policy == "PreemptLowerPriority"
    c = spec.containers[0]
    assert c.image_pull_policy == "Always"
    assert c.termination_message_path == "/dev/termination-log" and c.termination_message_policy == "File"
    assert c.ports is not None and c.ports[0].protocol == "TCP"
    assert c.resources is not None
    assert c.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert c.resources.requests == {"cpu": "1", "memory": "1Gi"}
    probe = c.liveness_probe
    assert probe is not None and probe.http_get is not None
    assert (
        probe.timeout_seconds,
        probe.period_seconds,
        probe.success_threshold,
        probe.failure_threshold,
    ) == (
        1,
        10,
        1,
        3,
    )
    assert (probe.http_get.path, probe.http_get.scheme) == ("/", "HTTP")
    assert c.env is not None and c.env[0].value_from == {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}
    }
    assert spec.volumes == [
        {"name": "a", "configMap": {"name": "cm", "defaultMode": 420}},
        {"name": "b", "emptyDir": {}},
    ]
    assert pod.status is not None
    assert pod.status.phase == "Pending" and pod.status.qos_class == "Guaranteed"
    tols = [(t.key, t.operator, t.effect, t.toleration_seconds) for t in spec.tolerations or ()]
    assert tols == [
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "Exists", "NoExecute", 300),
    ]


def test_default_tolerations_respect_existing() -> None:
    pod = core.Pod(
        spec=core.PodSpec(
            tolerations=[
                core.Toleration(
                    key="node.kubernetes.io/not-ready",
                    operator="Exists",
                    effect="NoExecute",
                    toleration_seconds=5,
                )
            ]
        )
    )
    defaults.add_default_tolerations(pod)
    assert [t.toleration_seconds for t in pod.spec.tolerations or ()] == [5, 300]
    everything = core.Pod(spec=core.PodSpec(tolerations=[core.Toleration(operator="Exists")]))
    defaults.add_default_tolerations(everything)
    assert len(everything.spec.tolerations or ()) == 1


def test_priority_from_class() -> None:
    high = scheduling.PriorityClass(metadata=ObjectMeta(name="high"), value=1000, preemption_policy="Never")
    pod = core.Pod(spec=core.PodSpec(priority_class_name="high"))
    defaults.apply_priority(pod, {"high": high}.get)
    assert (pod.spec.priority, pod.spec.preemption_policy) == (1000, "Never")
    missing = core.Pod(spec=core.PodSpec(priority_class_name="nope"))
    with pytest.raises(defaults.PriorityClassNotFound, match="no PriorityClass with name nope was found"):
        defaults.apply_priority(missing, {"high": high}.get)
    glob = core.Pod()
    defaults.apply_priority(glob, lambda n: None, global_default=high)
    assert (glob.spec.priority, glob.spec.priority_class_name) == (1000, "high")


def test_host_network_ports() -> None:
    pod = core.Pod(
        spec=core.PodSpec(
            host_network=True,
            containers=[
                core.Container(name="c", image="x:1", ports=[core.ContainerPort(container_port=8080)])
            ],
        )
    )
    defaults.apply(pod)
    assert pod.spec.containers[0].ports is not None
    assert pod.spec.containers[0].ports[0].host_port == 8080


def test_other_kinds() -> None:
    node = core.Node(status=core.NodeStatus(capacity={"cpu": "4000m", "memory": "8Gi", "pods": "110"}))
    defaults.apply(node)
    assert node.status is not None and node.status.allocatable == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    ns = core.Namespace(metadata=ObjectMeta(name="x"))
    defaults.apply(ns)
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "x"}
    defaults.prepare_namespace_for_create(ns)
    assert ns.status is not None and ns.status.phase == "Active"
    assert ns.spec is not None and ns.spec.finalizers == ["kubernetes"]
    pc = scheduling.PriorityClass(value=5)
    defaults.apply(pc)
    assert pc.preemption_policy == "PreemptLowerPriority"


def test_dict_level_helpers() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": 0.5}}}]},
        "status": {"phase": "Running"},
    }
    out = defaults.prepare_create_dict("v1", "Pod", body)
    assert out["spec"]["restartPolicy"] == "Always"
    assert out["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m"}
    assert out["status"] == {"phase": "Pending", "qosClass": "Burstable"}
    assert len(out["spec"]["tolerations"]) == 2
    assert body["spec"].get("restartPolicy") is None  # the input is not changed
    assert defaults.default_dict("v1", "Pod", body)["status"] == {"phase": "Running"}
    assert defaults.default_dict("v9", "Nope", body) is body
    bad = {"spec": {"containers": "x"}}
    assert defaults.default_dict("v1", "Pod", bad) is bad
    ns = defaults.prepare_create_dict("v1", "Namespace", {"metadata": {"name": "x"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}


def test_mirrored_ip_and_cidr_fields() -> None:
    pod = core.Pod(status=core.PodStatus(pod_ip="10.0.0.5", host_ips=[core.HostIP(ip="192.168.0.2")]))
    defaults.apply(pod)
    assert pod.status is not None
    assert pod.status.pod_ips == [core.PodIP(ip="10.0.0.5")] and pod.status.host_ip == "192.168.0.2"
    node = core.Node(spec=core.NodeSpec(pod_cidr="10.244.1.0/24"))
    defaults.apply(node)
    assert node.spec.pod_cidrs == ["10.244.1.0/24"]


def test_times_are_normalised_as_kubernetes_writes_them() -> None:
    from skiff.api import coordination

    lease = coordination.Lease(
        metadata=ObjectMeta(name="n1", creation_timestamp="2024-01-01T02:00:00+02:00"),
        spec=coordination.LeaseSpec(renew_time="2024-01-01T00:00:00.5+00:00", acquire_time="bogus"),
    )
    defaults.apply(lease)
    assert lease.metadata.creation_timestamp == "2024-01-01T00:00:00Z"
    assert lease.spec.renew_time == "2024-01-01T00:00:00.500000Z"
    assert lease.spec.acquire_time == "bogus"  # left for validation to report
    ev = core.Event(first_timestamp="2024-01-01T00:00:00.123Z", event_time="2024-01-01T00:00:00Z")
    defaults.apply(ev)
    assert (ev.first_timestamp, ev.event_time) == ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000000Z")
