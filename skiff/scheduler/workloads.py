"""Benchmark workloads shaped like kube-scheduler's scheduler_perf (nodes and pods as wire dicts).

- basic: nodes of 4 cpu / 32Gi / 110 pods; pods requesting 100m / 500Mi.
- anti-affinity: pods labelled color=green with required anti-affinity to each other per hostname.
- spread: nodes in 10 zones; pods with a DoNotSchedule spread constraint (maxSkew 1) over zones.
- affinity: half the nodes labelled zone=zone1; pods require zone In [zone1].
- preemption: every node full with low-priority pods; high-priority pods must preempt.
"""

from __future__ import annotations

from typing import Any

WORKLOADS = ("basic", "anti-affinity", "spread", "affinity", "preemption")


def make_node(i: int, workload: str) -> dict[str, Any]:
    name = f"node-{i}"
    labels = {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"zone{i % 10}"}
    if workload == "affinity":
        labels["zone"] = "zone1" if i % 2 == 0 else "zone2"
    alloc = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": {
            "allocatable": alloc,
            "capacity": alloc,
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def make_pod(i: int, workload: str, namespace: str = "default", prefix: str = "pod") -> dict[str, Any]:
    requests = {"cpu": "100m", "memory": "500Mi"}
    labels: dict[str, str] = {"app": "bench"}
    spec: dict[str, Any] = {}
    if workload == "anti-affinity":
        labels["color"] = "green"
        spec["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"color": "green"}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        }
    elif workload == "spread":
        labels["color"] = "blue"
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"color": "blue"}},
            }
        ]
    elif workload == "affinity":
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["zone1"]}]}
                    ]
                }
            }
        }
    elif workload == "preemption":
        requests = {"cpu": "3", "memory": "1Gi"}
        spec["priority"] = 1000
        spec["priorityClassName"] = "bench-high"
    spec["containers"] = [
        {"name": "c", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": requests}}
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{prefix}-{i}",
            "namespace": namespace,
            "uid": f"uid-{prefix}-{i}",
            "labels": labels,
        },
        "spec": spec,
    }


def make_filler(i: int, node: str, namespace: str = "default") -> dict[str, Any]:
    """A low-priority pod already bound to `node` (for the preemption workload)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"low-{i}",
            "namespace": namespace,
            "uid": f"uid-low-{i}",
            "labels": {"app": "low"},
        },
        "spec": {
            "nodeName": node,
            "priority": 0,
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
                }
            ],
        },
    }
