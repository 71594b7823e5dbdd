"""scheduling.k8s.io/v1: PriorityClass (cluster-scoped)."""

from __future__ import annotations

import msgspec

from .meta import ListBase, Object

# Built-in classes every cluster has.
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000

PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"


class PriorityClass(Object):
    KIND = "PriorityClass"
    API_VERSION = "scheduling.k8s.io/v1"

    value: int = msgspec.field(default_factory=int)
    global_default: bool | None = None
    description: str | None = None
    preemption_policy: str | None = None


class PriorityClassList(ListBase):
    kind: str = "PriorityClassList"
    api_version: str = "scheduling.k8s.io/v1"
    items: list[PriorityClass] = msgspec.field(default_factory=list)


def system_priority_classes() -> list[PriorityClass]:
    """The two classes a Kubernetes API server creates at start."""
    from .meta import ObjectMeta

    return [
        PriorityClass(
            metadata=ObjectMeta(name=SYSTEM_NODE_CRITICAL),
            value=SYSTEM_CRITICAL_PRIORITY + 1000,
            description="Used for system critical pods that must not be moved from their current node.",
            preemption_policy=PREEMPT_LOWER_PRIORITY,
        ),
        PriorityClass(
            metadata=ObjectMeta(name=SYSTEM_CLUSTER_CRITICAL),
            value=SYSTEM_CRITICAL_PRIORITY,
            description="Used for system critical pods that must run in the cluster, but can be moved "
            "to another node if necessary.",
            preemption_policy=PREEMPT_LOWER_PRIORITY,
        ),
    ]
