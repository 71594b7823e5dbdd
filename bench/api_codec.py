"""Object-model costs per pod: decode (fast and strict), encode, defaults + validation.

Run: .venv/bin/python -m bench.api_codec   (prints the median of several runs, in microseconds)
"""

from __future__ import annotations

import json
import platform
import statistics
import timeit
from collections.abc import Callable
from typing import Any

from skiff.api import codec, core, defaults, labels, quantity, validation

# A realistic ~1.2 KB pod as kubectl sends it (no status).
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-7d4b9c",
        "namespace": "default",
        "labels": {"app": "web", "tier": "frontend", "pod-template-hash": "7d4b9c"},
        "annotations": {"example.com/owner": "team-a"},
    },
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "command": ["nginx", "-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
                "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 10},
                "volumeMounts": [{"name": "data", "mountPath": "/usr/share/nginx/html"}],
            }
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "web"}},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        },
    },
}


def median_us(fn: Callable[[], object], number: int, runs: int = 7) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=runs)) / number * 1e6


def main() -> None:
    data = json.dumps(POD, separators=(",", ":")).encode()
    pod = codec.decode_fast(core.Pod, data)

    def create() -> object:
        p = codec.decode_fast(core.Pod, data)
        defaults.apply(p)
        defaults.add_default_tolerations(p)
        defaults.prepare_pod_for_create(p)
        return validation.validate(p)

    sel = labels.parse("app=web,tier in (frontend,backend),!canary")
    lbls = {"app": "web", "tier": "frontend", "pod-template-hash": "7d4b9c"}
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("decode_fast", lambda: codec.decode_fast(core.Pod, data), 20000),
        ("decode_strict", lambda: codec.decode(core.Pod, data, strict=True), 5000),
        ("encode", lambda: codec.encode(pod), 20000),
        ("defaults+validate_create", create, 2000),
        ("validate_update", lambda: validation.validate_update(pod, pod), 2000),
        ("label_selector_match", lambda: sel.matches(lbls), 50000),
        ("quantity_parse_uncached", lambda: quantity.parse_quantity("1536Mi"), 50000),
    ]
    print(f"# pod JSON {len(data)} bytes; Python {platform.python_version()}; {platform.machine()}")
    for name, fn, n in cases:
        print(f"{name}_us={median_us(fn, n):.2f}")


if __name__ == "__main__":
    main()
