"""core/v1 kinds: Namespace, Pod, Node, Binding, Event, and the types they are made of.

Every field of the Kubernetes v1 types a user might send is declared so objects round-trip and strict
decoding can name unknown fields. Fields skiff does not interpret are typed loosely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from .meta import Base, ListBase, Object

Loose = dict[str, Any]

if TYPE_CHECKING:
    ResourceList = dict[str, str]
else:
    # Clients may send quantities as JSON numbers (`cpu: 1` in YAML); decode accepts them and
    # __post_init__ turns them into strings, so code always sees `dict[str, str]`.
    ResourceList = dict[str, str | int | float]


def _quantity_text(v: int | float) -> str:
    if isinstance(v, bool):
        return str(v).lower()  # not a quantity: validation reports it
    return str(v) if isinstance(v, int) else repr(v)


def normalize_resource_list(rl: dict[str, Any] | None) -> None:
    """Turn numeric quantities into strings in place (see ResourceList)."""
    if rl:
        for k, v in rl.items():
            if not isinstance(v, str):
                rl[k] = _quantity_text(v)


# ----------------------------------------------------------------------------- references


class ObjectReference(Base):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    api_version: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class LocalObjectReference(Base):
    name: str | None = None


# ----------------------------------------------------------------------------- Namespace


class NamespaceSpec(Base):
    finalizers: list[str] | None = None


class NamespaceCondition(Base):
    type: str = msgspec.field(default_factory=str)
    status: str = msgspec.field(default_factory=str)
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class NamespaceStatus(Base):
    phase: str | None = None
    conditions: list[NamespaceCondition] | None = None


class Namespace(Object):
    KIND = "Namespace"
    API_VERSION = "v1"

    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


class NamespaceList(ListBase):
    kind: str = "NamespaceList"
    api_version: str = "v1"
    items: list[Namespace] = msgspec.field(default_factory=list)


# ----------------------------------------------------------------------------- selectors


class LabelSelectorRequirement(Base):
    key: str = msgspec.field(default_factory=str)
    operator: str = msgspec.field(default_factory=str)
    values: list[str] | None = None


class LabelSelector(Base):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class NodeSelectorRequirement(Base):
    key: str = msgspec.field(default_factory=str)
    operator: str = msgspec.field(default_factory=str)
    values: list[str] | None = None


class NodeSelectorTerm(Base):
    match_expressions: list[NodeSelectorRequirement] | None = None
    match_fields: list[NodeSelectorRequirement] | None = None


class NodeSelector(Base):
    node_selector_terms: list[NodeSelectorTerm] = msgspec.field(default_factory=list)


class PreferredSchedulingTerm(Base):
    weight: int = msgspec.field(default_factory=int)
    preference: NodeSelectorTerm = msgspec.field(default_factory=NodeSelectorTerm)


class NodeAffinity(Base):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = None


class PodAffinityTerm(Base):
    label_selector: LabelSelector | None = None
    namespaces: list[str] | None = None
    topology_key: str = msgspec.field(default_factory=str)
    namespace_selector: LabelSelector | None = None
    match_label_keys: list[str] | None = None
    mismatch_label_keys: list[str] | None = None


class WeightedPodAffinityTerm(Base):
    weight: int = msgspec.field(default_factory=int)
    pod_affinity_term: PodAffinityTerm = msgspec.field(default_factory=PodAffinityTerm)


class PodAffinity(Base):
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None


class PodAntiAffinity(Base):
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None


class Affinity(Base):
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


class Toleration(Base):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class TopologySpreadConstraint(Base):
    max_skew: int = msgspec.field(default_factory=int)
    topology_key: str = msgspec.field(default_factory=str)
    when_unsatisfiable: str = msgspec.field(default_factory=str)
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    match_label_keys: list[str] | None = None


class PodSchedulingGate(Base):
    name: str = msgspec.field(default_factory=str)


class PodReadinessGate(Base):
    condition_type: str = msgspec.field(default_factory=str)


# ----------------------------------------------------------------------------- containers


class ContainerPort(Base):
    name: str | None = None
    host_port: int | None = None
    container_port: int = msgspec.field(default_factory=int)
    protocol: str | None = None
    host_ip: str | None = msgspec.field(default=None, name="hostIP")


class EnvVar(Base):
    name: str = msgspec.field(default_factory=str)
    value: str | None = None
    value_from: Loose | None = None


class ResourceClaim(Base):
    name: str = msgspec.field(default_factory=str)
    request: str | None = None


class ResourceRequirements(Base):
    limits: ResourceList | None = None
    requests: ResourceList | None = None
    claims: list[ResourceClaim] | None = None

    def __post_init__(self) -> None:
        normalize_resource_list(self.limits)
        normalize_resource_list(self.requests)


class ExecAction(Base):
    command: list[str] | None = None


class HTTPHeader(Base):
    name: str = msgspec.field(default_factory=str)
    value: str = msgspec.field(default_factory=str)


class HTTPGetAction(Base):
    path: str | None = None
    port: int | str = msgspec.field(default_factory=int)
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(Base):
    port: int | str = msgspec.field(default_factory=int)
    host: str | None = None


class GRPCAction(Base):
    port: int = msgspec.field(default_factory=int)
    service: str | None = None


class SleepAction(Base):
    seconds: int = msgspec.field(default_factory=int)


class Probe(Base):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


class LifecycleHandler(Base):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(Base):
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None
    stop_signal: str | None = None


class ContainerResizePolicy(Base):
    resource_name: str = msgspec.field(default_factory=str)
    restart_policy: str = msgspec.field(default_factory=str)


class Container(Base):
    name: str = msgspec.field(default_factory=str)
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    ports: list[ContainerPort] | None = None
    env_from: list[Loose] | None = None
    env: list[EnvVar] | None = None
    resources: ResourceRequirements | None = None
    resize_policy: list[ContainerResizePolicy] | None = None
    restart_policy: str | None = None
    volume_mounts: list[Loose] | None = None
    volume_devices: list[Loose] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    image_pull_policy: str | None = None
    security_context: Loose | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None


# ----------------------------------------------------------------------------- Pod


class PodSpec(Base):
    volumes: list[Loose] | None = None
    init_containers: list[Container] | None = None
    containers: list[Container] = msgspec.field(default_factory=list)
    ephemeral_containers: list[Loose] | None = None
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    node_selector: dict[str, str] | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    node_name: str | None = None
    host_network: bool | None = None
    host_pid: bool | None = msgspec.field(default=None, name="hostPID")
    host_ipc: bool | None = msgspec.field(default=None, name="hostIPC")
    share_process_namespace: bool | None = None
    security_context: Loose | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    hostname: str | None = None
    subdomain: str | None = None
    affinity: Affinity | None = None
    scheduler_name: str | None = None
    tolerations: list[Toleration] | None = None
    host_aliases: list[Loose] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    dns_config: Loose | None = None
    readiness_gates: list[PodReadinessGate] | None = None
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    overhead: ResourceList | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] | None = None
    set_hostname_as_fqdn: bool | None = msgspec.field(default=None, name="setHostnameAsFQDN")
    os: Loose | None = None
    host_users: bool | None = None
    scheduling_gates: list[PodSchedulingGate] | None = None
    resource_claims: list[Loose] | None = None
    resources: ResourceRequirements | None = None

    def __post_init__(self) -> None:
        if self.overhead:
            normalize_resource_list(self.overhead)


class PodCondition(Base):
    type: str = msgspec.field(default_factory=str)
    status: str = msgspec.field(default_factory=str)
    observed_generation: int | None = None
    last_probe_time: str | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class ContainerStateWaiting(Base):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(Base):
    started_at: str | None = None


class ContainerStateTerminated(Base):
    exit_code: int = msgspec.field(default_factory=int)
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = msgspec.field(default=None, name="containerID")


class ContainerState(Base):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(Base):
    name: str = msgspec.field(default_factory=str)
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool = msgspec.field(default_factory=bool)
    restart_count: int = msgspec.field(default_factory=int)
    image: str = msgspec.field(default_factory=str)
    image_id: str = msgspec.field(default_factory=str, name="imageID")
    container_id: str | None = msgspec.field(default=None, name="containerID")
    started: bool | None = None
    allocated_resources: ResourceList | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[Loose] | None = None
    user: Loose | None = None
    allocated_resources_status: list[Loose] | None = None
    stop_signal: str | None = None

    def __post_init__(self) -> None:
        if self.allocated_resources:
            normalize_resource_list(self.allocated_resources)


class PodIP(Base):
    ip: str = msgspec.field(default_factory=str)


class HostIP(Base):
    ip: str = msgspec.field(default_factory=str)


class PodStatus(Base):
    observed_generation: int | None = None
    phase: str | None = None
    conditions: list[PodCondition] | None = None
    message: str | None = None
    reason: str | None = None
    nominated_node_name: str | None = None
    host_ip: str | None = msgspec.field(default=None, name="hostIP")
    host_ips: list[HostIP] | None = msgspec.field(default=None, name="hostIPs")
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    pod_ips: list[PodIP] | None = msgspec.field(default=None, name="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = msgspec.field(default=None, name="qosClass")
    ephemeral_container_statuses: list[ContainerStatus] | None = None
    resize: str | None = None
    resource_claim_statuses: list[Loose] | None = None


class Pod(Object):
    KIND = "Pod"
    API_VERSION = "v1"

    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus | None = None


class PodList(ListBase):
    kind: str = "PodList"
    api_version: str = "v1"
    items: list[Pod] = msgspec.field(default_factory=list)


class Binding(Object):
    KIND = "Binding"
    API_VERSION = "v1"

    target: ObjectReference = msgspec.field(default_factory=ObjectReference)


# ----------------------------------------------------------------------------- Node


class Taint(Base):
    key: str = msgspec.field(default_factory=str)
    value: str | None = None
    effect: str = msgspec.field(default_factory=str)
    time_added: str | None = None


class NodeConfigSource(Base):
    config_map: Loose | None = None


class NodeSpec(Base):
    pod_cidr: str | None = msgspec.field(default=None, name="podCIDR")
    pod_cidrs: list[str] | None = msgspec.field(default=None, name="podCIDRs")
    provider_id: str | None = msgspec.field(default=None, name="providerID")
    unschedulable: bool | None = None
    taints: list[Taint] | None = None
    config_source: NodeConfigSource | None = None
    external_id: str | None = msgspec.field(default=None, name="externalID")


class NodeCondition(Base):
    type: str = msgspec.field(default_factory=str)
    status: str = msgspec.field(default_factory=str)
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class NodeAddress(Base):
    type: str = msgspec.field(default_factory=str)
    address: str = msgspec.field(default_factory=str)


class DaemonEndpoint(Base):
    port: int = msgspec.field(default_factory=int, name="Port")


class NodeDaemonEndpoints(Base):
    kubelet_endpoint: DaemonEndpoint | None = None


class NodeSystemInfo(Base):
    """All ten string fields are required by clients; they are always encoded (empty allowed)."""

    machine_id: str = msgspec.field(default_factory=str, name="machineID")
    system_uuid: str = msgspec.field(default_factory=str, name="systemUUID")
    boot_id: str = msgspec.field(default_factory=str, name="bootID")
    kernel_version: str = msgspec.field(default_factory=str)
    os_image: str = msgspec.field(default_factory=str, name="osImage")
    container_runtime_version: str = msgspec.field(default_factory=str)
    kubelet_version: str = msgspec.field(default_factory=str)
    kube_proxy_version: str = msgspec.field(default_factory=str)
    operating_system: str = msgspec.field(default_factory=str)
    architecture: str = msgspec.field(default_factory=str)
    swap: Loose | None = None


class ContainerImage(Base):
    names: list[str] | None = None
    size_bytes: int | None = None


class AttachedVolume(Base):
    name: str = msgspec.field(default_factory=str)
    device_path: str = msgspec.field(default_factory=str)


class NodeStatus(Base):
    capacity: ResourceList | None = None
    allocatable: ResourceList | None = None
    phase: str | None = None
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    daemon_endpoints: NodeDaemonEndpoints | None = None
    node_info: NodeSystemInfo | None = None
    images: list[ContainerImage] | None = None
    volumes_in_use: list[str] | None = None
    volumes_attached: list[AttachedVolume] | None = None
    config: Loose | None = None
    runtime_handlers: list[Loose] | None = None
    features: Loose | None = None

    def __post_init__(self) -> None:
        normalize_resource_list(self.capacity)
        normalize_resource_list(self.allocatable)


class Node(Object):
    KIND = "Node"
    API_VERSION = "v1"

    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus | None = None


class NodeList(ListBase):
    kind: str = "NodeList"
    api_version: str = "v1"
    items: list[Node] = msgspec.field(default_factory=list)


# ----------------------------------------------------------------------------- Event (core/v1)


class EventSource(Base):
    component: str | None = None
    host: str | None = None


class EventSeries(Base):
    count: int | None = None
    last_observed_time: str | None = None


class Event(Object):
    KIND = "Event"
    API_VERSION = "v1"

    involved_object: ObjectReference = msgspec.field(default_factory=ObjectReference)
    reason: str | None = None
    message: str | None = None
    source: EventSource | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    count: int | None = None
    type: str | None = None
    event_time: str | None = None
    series: EventSeries | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None


class EventList(ListBase):
    kind: str = "EventList"
    api_version: str = "v1"
    items: list[Event] = msgspec.field(default_factory=list)


# ----------------------------------------------------------------------------- constants

POD_PENDING = "Pending"
POD_RUNNING = "Running"
POD_SUCCEEDED = "Succeeded"
POD_FAILED = "Failed"
POD_UNKNOWN = "Unknown"

RESTART_ALWAYS = "Always"
RESTART_ON_FAILURE = "OnFailure"
RESTART_NEVER = "Never"

CONDITION_TRUE = "True"
CONDITION_FALSE = "False"
CONDITION_UNKNOWN = "Unknown"

# Pod condition types
POD_SCHEDULED = "PodScheduled"
POD_READY = "Ready"
POD_INITIALIZED = "Initialized"
CONTAINERS_READY = "ContainersReady"
POD_READY_TO_START_CONTAINERS = "PodReadyToStartContainers"
DISRUPTION_TARGET = "DisruptionTarget"

# Node condition types
NODE_READY = "Ready"
NODE_MEMORY_PRESSURE = "MemoryPressure"
NODE_DISK_PRESSURE = "DiskPressure"
NODE_PID_PRESSURE = "PIDPressure"
NODE_NETWORK_UNAVAILABLE = "NetworkUnavailable"

# Taint effects
TAINT_NO_SCHEDULE = "NoSchedule"
TAINT_PREFER_NO_SCHEDULE = "PreferNoSchedule"
TAINT_NO_EXECUTE = "NoExecute"

TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

QOS_GUARANTEED = "Guaranteed"
QOS_BURSTABLE = "Burstable"
QOS_BEST_EFFORT = "BestEffort"

DEFAULT_SCHEDULER_NAME = "default-scheduler"

EVENT_NORMAL = "Normal"
EVENT_WARNING = "Warning"


class ServiceAccount(Object):
    """An identity for processes in pods; tokens come from the TokenRequest API (serviceaccounts/token)."""

    KIND = "ServiceAccount"
    API_VERSION = "v1"

    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class ServiceAccountList(ListBase):
    kind: str = "ServiceAccountList"
    api_version: str = "v1"
    items: list[ServiceAccount] = msgspec.field(default_factory=list)
