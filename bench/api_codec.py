"""Object-model costs per pod: decode (fast and strict), encode, defaults + validation.

Run: .venv/bin/python -m bench.api_codec   (prints the median of several runs, in microseconds)
"""

from __future__ import annotations

import json
import os
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


RUNS = 9


def timings_us(fn: Callable[[], object], number: int, runs: int = RUNS) -> tuple[float, float, float]:
    """(median, min, max) over `runs` runs of the time per call, in microseconds."""
    times = [t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=runs)]
    return statistics.median(times), min(times), max(times)


def main() -> None:
    data = json.dumps(POD, separators=(",", ":")).encode()
    pod = codec.decode_fast(core.Pod, data)

    def create() -> object:
        p = codec.decode_fast(core.Pod, data)
        defaults.apply(p)
        defaults.add_default_tolerations(p)
        defaults.prepare_pod_for_create(p)
        return validation.validate(p)

    def server_create_chain() -> object:
        # What skiff's API server runs per create from kubectl (fieldValidation=Strict), dict-level.
        body = codec.decode_raw(data)
        codec.unknown_fields(core.Pod, body)
        out = defaults.prepare_create_dict("v1", "Pod", body)
        return validation.validate_dict("v1", "Pod", out)

    stored = defaults.prepare_create_dict("v1", "Pod", codec.decode_raw(data))
    relabelled = {**stored, "metadata": {**stored["metadata"], "labels": {"app": "web2"}}}

    sel = labels.parse("app=web,tier in (frontend,backend),!canary")
    lbls = {"app": "web", "tier": "frontend", "pod-template-hash": "7d4b9c"}
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("decode_fast", lambda: codec.decode_fast(core.Pod, data), 20000),
        ("decode_strict", lambda: codec.decode(core.Pod, data, strict=True), 5000),
        ("encode", lambda: codec.encode(pod), 20000),
        ("defaults+validate_create", create, 2000),
        ("validate_update", lambda: validation.validate_update(pod, pod), 2000),
        ("unknown_fields_clean", lambda: codec.unknown_fields(core.Pod, codec.decode_raw(data)), 5000),
        ("server_create_chain", server_create_chain, 1000),
        (
            "validate_dict_update_labels",
            lambda: validation.validate_dict("v1", "Pod", relabelled, stored),
            1000,
        ),
        ("label_selector_match", lambda: sel.matches(lbls), 50000),
        ("quantity_parse_uncached", lambda: quantity.parse_quantity("1536Mi"), 50000),
    ]
    load = os.getloadavg()[0]
    print(
        f"# pod JSON {len(data)} bytes; Python {platform.python_version()}; {platform.machine()}; "
        f"load {load:.1f}"
    )
    print(f"| measure (us per call, {RUNS} runs) | median | min | max |")
    print("|---|---:|---:|---:|")
    for name, fn, n in cases:
        median, lo, hi = timings_us(fn, n)
        print(f"| {name} | {median:.2f} | {lo:.2f} | {hi:.2f} |")


if __name__ == "__main__":
    main()
