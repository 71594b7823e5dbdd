"""Objects skiff encodes decode in the official `kubernetes` Python client's models (a real peer).

The client refuses objects missing fields it requires (Container.name, ContainerStatus.ready, every
NodeSystemInfo field, ...); these tests build each kind the way skiff's components fill it, encode it
with skiff.api, and hand the JSON to the client's own deserializer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client import ApiClient

from skiff.api import codec, coordination, core, defaults, events, scheduling
from skiff.api.meta import ListMeta, ObjectMeta, Status, StatusCause, StatusDetails
from tests.api.test_types import POD

T0 = "2024-01-01T00:00:00Z"
M0 = "2024-01-01T00:00:00.000000Z"


def client_decode(obj: Any, model: str) -> Any:
    data = json.loads(codec.encode(obj))
    return ApiClient()._ApiClient__deserialize(data, model)  # type: ignore[attr-defined]


def full_pod() -> core.Pod:
    pod = codec.decode_fast(core.Pod, json.dumps(POD).encode())
    defaults.apply(pod)
    defaults.add_default_tolerations(pod)
    assert pod.status is not None
    pod.status.start_time = T0
    pod.status.conditions = [
        core.PodCondition(type="PodScheduled", status="True", last_transition_time=T0),
        core.PodCondition(type="Ready", status="False", reason="ContainersNotReady"),
    ]
    pod.status.container_statuses = [
        core.ContainerStatus(
            name="c",
            image="nginx:1.25",
            state=core.ContainerState(waiting=core.ContainerStateWaiting(reason="ContainerCreating")),
            last_state=core.ContainerState(
                terminated=core.ContainerStateTerminated(exit_code=137, reason="OOMKilled", finished_at=T0)
            ),
        )
    ]
    return pod


def full_node() -> core.Node:
    node = core.Node(
        metadata=ObjectMeta(name="n1", labels={"kubernetes.io/hostname": "n1"}),
        spec=core.NodeSpec(
            pod_cidr="10.244.1.0/24", taints=[core.Taint(key="gpu", value="true", effect="NoSchedule")]
        ),
        status=core.NodeStatus(
            capacity={"cpu": "2", "memory": "4Gi", "pods": "110"},
            conditions=[
                core.NodeCondition(
                    type="Ready",
                    status="True",
                    last_heartbeat_time=T0,
                    last_transition_time=T0,
                    reason="KubeletReady",
                )
            ],
            addresses=[core.NodeAddress(type="InternalIP", address="10.0.0.1")],
            daemon_endpoints=core.NodeDaemonEndpoints(kubelet_endpoint=core.DaemonEndpoint(port=10250)),
            node_info=core.NodeSystemInfo(
                kubelet_version="v1.32.0", operating_system="linux", architecture="amd64"
            ),
            images=[core.ContainerImage(names=["busybox:latest"], size_bytes=1_000_000)],
        ),
    )
    defaults.apply(node)
    return node


CASES: list[tuple[str, Any]] = [
    ("V1Pod", full_pod()),
    ("V1Node", full_node()),
    ("V1PodList", core.PodList(metadata=ListMeta(resource_version="7"), items=[full_pod()])),
    ("V1NodeList", core.NodeList(items=[full_node()])),
    (
        "V1Namespace",
        core.Namespace(metadata=ObjectMeta(name="x"), status=core.NamespaceStatus(phase="Active")),
    ),
    ("V1NamespaceList", core.NamespaceList()),
    (
        "CoreV1Event",
        core.Event(
            metadata=ObjectMeta(name="web.1", namespace="default"),
            involved_object=core.ObjectReference(kind="Pod", name="web", namespace="default"),
            reason="Scheduled",
            message="Successfully assigned default/web to n1",
            source=core.EventSource(component="default-scheduler"),
            first_timestamp=T0,
            last_timestamp=T0,
            count=1,
            type="Normal",
        ),
    ),
    ("CoreV1EventList", core.EventList()),
    (
        "EventsV1Event",
        events.Event(
            metadata=ObjectMeta(name="web.2", namespace="default"),
            event_time=M0,
            reporting_controller="default-scheduler",
            reporting_instance="s1",
            action="Binding",
            reason="Scheduled",
            regarding=core.ObjectReference(kind="Pod", name="web", namespace="default"),
            note="ok",
            type="Normal",
            series=events.EventSeries(count=2, last_observed_time=M0),
        ),
    ),
    (
        "V1Lease",
        coordination.Lease(
            metadata=ObjectMeta(name="n1", namespace="kube-node-lease"),
            spec=coordination.LeaseSpec(holder_identity="n1", lease_duration_seconds=40, renew_time=M0),
        ),
    ),
    ("V1PriorityClass", scheduling.PriorityClass(metadata=ObjectMeta(name="high"), value=1000)),
    ("V1PriorityClassList", scheduling.PriorityClassList(items=scheduling.system_priority_classes())),
    (
        "V1Binding",
        core.Binding(metadata=ObjectMeta(name="web"), target=core.ObjectReference(kind="Node", name="n1")),
    ),
    (
        "V1Status",
        Status(
            status="Failure",
            code=422,
            reason="Invalid",
            message="x",
            details=StatusDetails(name="web", kind="Pod", causes=[StatusCause(reason="FieldValueRequired")]),
        ),
    ),
]


@pytest.mark.parametrize(("model", "obj"), CASES, ids=[c[0] for c in CASES])
def test_official_client_decodes(model: str, obj: Any) -> None:
    decoded = client_decode(obj, model)
    assert type(decoded).__name__ == model
    if hasattr(decoded, "kind") and not model.endswith("Status"):
        assert decoded.kind and decoded.api_version


def test_pod_fields_survive_the_client() -> None:
    pod = client_decode(full_pod(), "V1Pod")
    assert pod.status.container_statuses[0].last_state.terminated.reason == "OOMKilled"
    assert pod.status.pod_ip == "10.0.0.5" and pod.status.qos_class == "Burstable"
    assert pod.spec.containers[0].ports[0].host_ip == "0.0.0.0"
    node = client_decode(full_node(), "V1Node")
    assert node.status.daemon_endpoints.kubelet_endpoint.port == 10250
    assert node.status.node_info.boot_id == "" and node.status.allocatable == {
        "cpu": "2",
        "memory": "4Gi",
        "pods": "110",
    }


def test_what_the_client_sends_decodes_strictly() -> None:
    from datetime import UTC, datetime

    from kubernetes import client as k

    body = k.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=k.V1ObjectMeta(
            name="web", labels={"app": "web"}, creation_timestamp=datetime(2024, 1, 1, tzinfo=UTC)
        ),
        spec=k.V1PodSpec(
            containers=[
                k.V1Container(
                    name="c",
                    image="busybox",
                    command=["sleep", "3600"],
                    ports=[k.V1ContainerPort(container_port=80, host_ip="127.0.0.1")],
                    resources=k.V1ResourceRequirements(requests={"cpu": "100m"}),
                    readiness_probe=k.V1Probe(http_get=k.V1HTTPGetAction(port=80, path="/")),
                )
            ],
            tolerations=[k.V1Toleration(key="a", operator="Exists")],
            affinity=k.V1Affinity(
                node_affinity=k.V1NodeAffinity(
                    required_during_scheduling_ignored_during_execution=k.V1NodeSelector(
                        node_selector_terms=[
                            k.V1NodeSelectorTerm(
                                match_expressions=[
                                    k.V1NodeSelectorRequirement(key="zone", operator="In", values=["a"])
                                ]
                            )
                        ]
                    )
                )
            ),
        ),
    )
    wire = json.dumps(ApiClient().sanitize_for_serialization(body)).encode()
    pod, unknown = codec.decode(core.Pod, wire, strict=True)
    assert unknown == []
    assert pod.metadata.creation_timestamp == "2024-01-01T00:00:00+00:00"
    lease = k.V1Lease(
        metadata=k.V1ObjectMeta(name="n1"),
        spec=k.V1LeaseSpec(holder_identity="n1", renew_time=datetime(2024, 1, 1, tzinfo=UTC)),
    )
    wire = json.dumps(ApiClient().sanitize_for_serialization(lease)).encode()
    assert codec.decode(coordination.Lease, wire, strict=True)[1] == []
