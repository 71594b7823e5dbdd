"""Effective pod requests and QoS class (cases after Kubernetes' resource helper and qos tests)."""

from __future__ import annotations

from skiff.api import codec, core, resources


def container(
    name: str,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    restart_policy: str | None = None,
) -> core.Container:
    return core.Container(
        name=name,
        image="busybox",
        resources=core.ResourceRequirements(requests=requests, limits=limits),
        restart_policy=restart_policy,
    )


def pod(
    containers: list[core.Container],
    init: list[core.Container] | None = None,
    overhead: dict[str, str] | None = None,
) -> core.Pod:
    return core.Pod(spec=core.PodSpec(containers=containers, init_containers=init, overhead=overhead))


def test_sum_of_containers_plus_overhead() -> None:
    p = pod(
        [
            container("a", {"cpu": "100m", "memory": "1Gi"}),
            container("b", {"cpu": "1", "nvidia.com/gpu": "1"}),
        ],
        overhead={"cpu": "10m", "memory": "1Mi"},
    )
    assert resources.pod_requests(p) == {"cpu": 1110, "memory": 1024**3 + 1024**2, "nvidia.com/gpu": 1}


def test_init_containers_take_the_max() -> None:
    p = pod(
        [container("a", {"cpu": "100m", "memory": "100Mi"})],
        init=[container("i", {"cpu": "2", "memory": "10Mi"})],
    )
    assert resources.pod_requests(p) == {"cpu": 2000, "memory": 100 * 1024**2}


def test_sidecars_add_up() -> None:
    # a sidecar (restartPolicy Always) runs beside the app; a later init container runs beside the sidecar
    p = pod(
        [container("app", {"cpu": "1"})],
        init=[container("side", {"cpu": "500m"}, restart_policy="Always"), container("init", {"cpu": "2"})],
    )
    assert resources.pod_requests(p) == {"cpu": 2500}


def test_non_zero_defaults_for_scoring() -> None:
    p = pod([container("a"), container("b", {"cpu": "0"})])
    assert resources.pod_requests(p) == {"cpu": 0}
    nz = resources.pod_requests(p, non_zero=True)
    assert nz == {"cpu": 100, "memory": 2 * 200 * 1024 * 1024}


def test_numeric_quantities_decode_as_strings() -> None:
    p = codec.decode_fast(
        core.Pod, b'{"spec":{"containers":[{"name":"a","resources":{"requests":{"cpu":1,"memory":0.5}}}]}}'
    )
    res = p.spec.containers[0].resources
    assert res is not None and res.requests == {"cpu": "1", "memory": "0.5"}
    assert resources.pod_requests(p) == {"cpu": 1000, "memory": 1}


def test_qos() -> None:
    assert resources.qos_class(pod([container("a")])) == "BestEffort"
    assert resources.qos_class(pod([container("a", {"cpu": "0"})])) == "BestEffort"
    g = {"cpu": "1", "memory": "1Gi"}
    assert resources.qos_class(pod([container("a", g, g)])) == "Guaranteed"
    assert resources.qos_class(pod([container("a", None, g)])) == "Guaranteed"  # requests default to limits
    assert resources.qos_class(pod([container("a", g, g), container("b")])) == "Burstable"
    assert resources.qos_class(pod([container("a", {"cpu": "1"}, g)])) == "Guaranteed"  # memory defaulted
    assert resources.qos_class(pod([container("a", {"cpu": "500m"}, g)])) == "Burstable"
    assert resources.qos_class(pod([container("a", {"cpu": "500m"}, {"cpu": "1"})])) == "Burstable"
    assert resources.qos_class(pod([container("a", {"nvidia.com/gpu": "1"})])) == "BestEffort"
    assert (
        resources.qos_class(pod([container("a", g, g)], init=[container("i", {"cpu": "1"})])) == "Burstable"
    )
    assert resources.qos_class(pod([container("a", {"cpu": "1000m", "memory": "1Gi"}, g)])) == "Guaranteed"
