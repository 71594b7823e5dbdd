"""NodeResourcesFit and NodeResourcesBalancedAllocation: cases from kube-scheduler's plugin tests."""

from __future__ import annotations

import pytest

from skiff.scheduler.framework import CycleState
from skiff.scheduler.types import pod_info

from .util import Sim, containers, knode, node, pod, score_only

CPU_ONLY = containers({"cpu": "1000m", "memory": "0"}, {"cpu": "2000m", "memory": "0"})
CPU_AND_MEMORY = containers({"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000"})


def test_fits_and_reasons() -> None:
    s = Sim(
        [knode("n", 10, 20, pods="32")],
        [pod("e", containers=containers({"cpu": "5m", "memory": "19"}), node="n")],
    )
    # "no resources requested always fits"
    assert s.schedule(pod("a", containers=[])) == "n"
    # "too many resources fails": both reasons on one node
    msg = s.schedule(pod("b", containers=containers({"cpu": "6m", "memory": "1"})))
    assert msg.startswith("0/1 nodes are available: 1 Insufficient cpu.")
    msg = s.schedule(pod("c", containers=containers({"cpu": "8m", "memory": "2"})))
    assert "1 Insufficient cpu, 1 Insufficient memory" in msg
    # "equal edge case"
    assert s.schedule(pod("d", containers=containers({"cpu": "5m", "memory": "1"}))) == "n"


def test_init_containers() -> None:
    s = Sim([knode("n", 10, 20)], [pod("e", containers=containers({"cpu": "8m", "memory": "19"}), node="n")])
    # init container larger than the node's free cpu fails; containers are summed, init containers maxed
    p = pod(
        "a", containers=containers({"cpu": "1m", "memory": "1"}), initContainers=containers({"cpu": "3m"})
    )
    assert "Insufficient cpu" in s.schedule(p)
    p = pod(
        "b", containers=containers({"cpu": "1m"}, {"cpu": "1m"}), initContainers=containers({"cpu": "2m"})
    )
    assert s.schedule(p) == "n"


def test_sidecar_init_containers_add_up() -> None:
    s = Sim([knode("n", 10, 20)])
    side = [{"name": "s", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"cpu": "6m"}}}]
    p = pod("a", containers=containers({"cpu": "5m"}), initContainers=side)
    assert "Insufficient cpu" in s.schedule(p)


def test_extended_resources_and_pods() -> None:
    s = Sim([node("n", extra={"example.com/foo": "2"}, pods="1"), node("m")])
    p = pod(
        "a", containers=[{"name": "c", "image": "x", "resources": {"requests": {"example.com/foo": "3"}}}]
    )
    msg = s.schedule(p)
    assert msg.startswith("0/2 nodes are available: 2 Insufficient example.com/foo.")
    s.place(pod("b", node=""))
    s2 = Sim([node("n", pods="1")], [pod("x", node="n")])
    assert s2.schedule(pod("y")).startswith("0/1 nodes are available: 1 Too many pods.")


def test_overhead_counts() -> None:
    s = Sim([knode("n", 10, 20)], [pod("e", containers=containers({"cpu": "5m"}), node="n")])
    p = pod("a", containers=containers({"cpu": "1m"}), overhead={"cpu": "5m"})
    assert "Insufficient cpu" in s.schedule(p)


# kube's least/most allocated tests count cpu in whole cores ("4000" cpus) and memory in bytes
WHOLE = containers({"cpu": "1000", "memory": "2000"}, {"cpu": "2000", "memory": "3000"})


@pytest.mark.parametrize(
    ("case", "req", "nodes", "existing", "want"),
    [
        ("nothing scheduled, nothing requested", [], [(4000, 10000), (4000, 10000)], [], [100, 100]),
        (
            "nothing scheduled, resources requested, differently sized nodes",
            WHOLE,
            [(4000, 10000), (6000, 10000)],
            [],
            [37, 50],
        ),
        (
            "no resources requested, pods scheduled with resources",
            [],
            [(10000, 20000), (10000, 20000)],
            [
                ("node1", "3000", "0"),
                ("node1", "3000", "0"),
                ("node2", "3000", "0"),
                ("node2", "3000", "5000"),
            ],
            [70, 57],
        ),
        (
            "resources requested, pods scheduled with resources",
            WHOLE,
            [(10000, 20000), (10000, 20000)],
            [("node1", "3000", "0"), ("node2", "3000", "5000")],
            [57, 45],
        ),
        (
            "resources requested, pods scheduled with resources, differently sized nodes",
            WHOLE,
            [(10000, 20000), (10000, 50000)],
            [("node1", "3000", "0"), ("node2", "3000", "5000")],
            [57, 60],
        ),
        (
            "requested resources exceed node capacity",
            containers({"cpu": "3000", "memory": "0"}),
            [(4000, 10000), (4000, 10000)],
            [("node1", "3000", "0"), ("node2", "3000", "5000")],
            None,  # filtered out: both nodes lack cpu
        ),
    ],
)
def test_least_allocated(case: str, req: list, nodes: list, existing: list, want: list[int] | None) -> None:  # type: ignore[type-arg]
    ns = [node(f"node{i + 1}", cpu=str(c), mem=str(m)) for i, (c, m) in enumerate(nodes)]
    ex = [
        pod(f"e{i}", node=n, containers=containers({"cpu": c, "memory": m}))
        for i, (n, c, m) in enumerate(existing)
    ]
    s = Sim(ns, ex, config=score_only("NodeResourcesFit"))
    if want is None:
        assert "Insufficient cpu" in s.schedule(pod("p", containers=req))
        return
    scores = s.scores(pod("p", containers=req), "NodeResourcesFit")
    assert [scores[f"node{i + 1}"] for i in range(len(nodes))] == want, case


def test_least_allocated_weights() -> None:
    # "different weight on CPU and memory": node1 (25*1 + 50*2)/3 = 41, node2 50
    cfg = score_only(
        "NodeResourcesFit",
        scoringStrategy={"resources": [{"name": "memory", "weight": 2}, {"name": "cpu", "weight": 1}]},
    )
    s = Sim([node("node1", cpu="4000", mem="10000"), node("node2", cpu="6000", mem="10000")], config=cfg)
    assert s.scores(pod("p", containers=WHOLE), "NodeResourcesFit") == {"node1": 41, "node2": 50}


def test_least_allocated_extended_resource() -> None:
    res = [
        {"name": "cpu", "weight": 1},
        {"name": "memory", "weight": 1},
        {"name": "example.com/foo", "weight": 1},
    ]
    cfg = score_only("NodeResourcesFit", scoringStrategy={"resources": res})
    nodes = [
        node("node1", cpu="6000", mem="10000"),
        node("node2", cpu="6000", mem="10000", extra={"example.com/foo": "4"}),
    ]
    # "bypass extended resource if the pod does not request"
    assert Sim(nodes, config=cfg).scores(pod("p", containers=WHOLE), "NodeResourcesFit") == {
        "node1": 50,
        "node2": 50,
    }
    # "honor extended resource if the pod requests": node2 (50 + 50 + 50) / 3
    req = containers(
        {"cpu": "1000", "memory": "2000"}, {"cpu": "2000", "memory": "3000", "example.com/foo": "2"}
    )
    nodes2 = [
        node("node1", cpu="6000", mem="10000", extra={"example.com/foo": "4"}),
        node("node2", cpu="6000", mem="10000", extra={"example.com/foo": "10"}),
    ]
    assert Sim(nodes2, config=cfg).scores(pod("p", containers=req), "NodeResourcesFit") == {
        "node1": 50,
        "node2": 60,
    }


def test_most_allocated() -> None:
    cfg = score_only("NodeResourcesFit", scoringStrategy={"type": "MostAllocated"})
    # "nothing scheduled, resources requested, differently sized nodes":
    # node1 cpu 3000*100/4000=75, mem 5000*100/10000=50 -> 62; node2 cpu 50, mem 50 -> 50
    s = Sim([node("node1", cpu="4000", mem="10000"), node("node2", cpu="6000", mem="10000")], config=cfg)
    assert s.scores(pod("p", containers=WHOLE), "NodeResourcesFit") == {"node1": 62, "node2": 50}
    # "no resources requested, pods scheduled with resources": node1 (60 + 25)/2 = 42, node2 (60 + 50)/2 = 55
    ex = [
        pod(
            "a",
            node="node1",
            containers=containers({"cpu": "3000", "memory": "0"}, {"cpu": "3000", "memory": "5000"}),
        ),
        pod(
            "b",
            node="node2",
            containers=containers({"cpu": "3000", "memory": "5000"}, {"cpu": "3000", "memory": "5000"}),
        ),
    ]
    s = Sim(
        [node("node1", cpu="10000", mem="20000"), node("node2", cpu="10000", mem="20000")], ex, config=cfg
    )
    assert s.scores(pod("p", containers=[]), "NodeResourcesFit") == {"node1": 42, "node2": 55}


def test_requested_to_capacity_ratio() -> None:
    shape = [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]
    cfg = score_only(
        "NodeResourcesFit",
        scoringStrategy={"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": shape}},
    )
    # with a shape from 10 down to 0 it is least-allocated, rounded: node1 cpu 25, mem 50 -> 38 (37.5 rounded)
    s = Sim([node("node1", cpu="4000", mem="10000"), node("node2", cpu="6000", mem="10000")], config=cfg)
    assert s.scores(pod("p", containers=WHOLE), "NodeResourcesFit") == {"node1": 38, "node2": 50}
    # bin packing shape (0 -> 0, 100 -> 10): node utilization 30% and 50%
    shape2 = [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]
    cfg2 = score_only(
        "NodeResourcesFit",
        scoringStrategy={
            "type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {"shape": shape2},
            "resources": [{"name": "cpu", "weight": 1}],
        },
    )
    s = Sim(
        [node("node1", cpu="10"), node("node2", cpu="10")], [pod("e", node="node2", cpu="2")], config=cfg2
    )
    assert s.scores(pod("p", cpu="3"), "NodeResourcesFit") == {"node1": 30, "node2": 50}


@pytest.mark.parametrize(
    ("case", "req", "nodes", "existing", "want"),
    [
        (
            "nothing scheduled, resources requested, differently sized nodes",
            CPU_AND_MEMORY,
            [(4000, 10000), (6000, 10000)],
            [],
            [87, 100],
        ),
        (
            "resources requested, pods scheduled with resources",
            CPU_AND_MEMORY,
            [(10000, 20000), (10000, 20000)],
            [("node1", CPU_ONLY), ("node2", CPU_AND_MEMORY)],
            [82, 95],
        ),
        (
            "resources requested, pods scheduled with resources, differently sized nodes",
            CPU_AND_MEMORY,
            [(10000, 20000), (10000, 50000)],
            [("node1", CPU_ONLY), ("node2", CPU_AND_MEMORY)],
            [82, 80],
        ),
        (
            "requested resources at node capacity",
            CPU_ONLY,
            [(6000, 10000), (6000, 10000)],
            [("node1", CPU_ONLY), ("node2", CPU_AND_MEMORY)],
            [50, 75],
        ),
    ],
)
def test_balanced_allocation(case: str, req: list, nodes: list, existing: list, want: list[int]) -> None:  # type: ignore[type-arg]
    ns = [knode(f"node{i + 1}", c, m) for i, (c, m) in enumerate(nodes)]
    ex = [pod(f"e{i}", node=n, containers=cs) for i, (n, cs) in enumerate(existing)]
    s = Sim(ns, ex, config=score_only("NodeResourcesBalancedAllocation"))
    scores = s.scores(pod("p", containers=req), "NodeResourcesBalancedAllocation")
    assert [scores[f"node{i + 1}"] for i in range(len(nodes))] == want, case


def test_balanced_allocation_scalar_and_best_effort() -> None:
    # "include scalar resource on a node for balanced resource allocation": 70 and 65
    gpu = {"nvidia.com/gpu": "8"}
    res = [{"name": "cpu"}, {"name": "memory"}, {"name": "nvidia.com/gpu"}]
    cfg = score_only("NodeResourcesBalancedAllocation", resources=res)
    ex = [
        pod("a", node="node2", containers=CPU_AND_MEMORY),
        pod(
            "b",
            node="node1",
            containers=containers(
                {"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000", "nvidia.com/gpu": "3"}
            ),
        ),
    ]
    ns = [knode("node1", 3500, 40000, extra=gpu), knode("node2", 3500, 40000, extra=gpu)]
    p = pod("p", containers=containers({"memory": "0", "nvidia.com/gpu": "1"}))
    assert Sim(ns, ex, config=cfg).scores(p, "NodeResourcesBalancedAllocation") == {"node1": 70, "node2": 65}
    # "node without the scalar resource should skip the scalar resource": 63 and 63
    ns = [knode("node1", 3500, 40000, extra=gpu), knode("node2", 3500, 40000)]
    got = Sim(ns, config=cfg).scores(pod("p", containers=CPU_AND_MEMORY), "NodeResourcesBalancedAllocation")
    assert got == {"node1": 63, "node2": 63}


def test_the_echo_of_a_binding_confirms_the_assumed_pod_counted_once() -> None:
    h = Sim([node("n1", cpu="1"), node("n2", cpu="1")])
    assert h.place(pod("a", cpu="600m")) in ("n1", "n2")
    placed = h.cache.pod_entry("default/a")
    assert placed is not None and placed.assumed
    assert h.cache.confirm("default/a", "elsewhere", {}) is None  # bound elsewhere: not ours to confirm
    confirmed = h.cache.confirm("default/a", placed.node, {"bound": True})
    assert confirmed is not None and confirmed.node_name == placed.node
    entry = h.cache.pod_entry("default/a")
    assert entry is not None and not entry.assumed
    # still counted exactly once: a second 600m pod goes to the other node, a third fits nowhere
    other = h.place(pod("b", cpu="600m"))
    assert other != placed.node and other in ("n1", "n2")
    assert "Insufficient cpu" in h.place(pod("c", cpu="600m"))


def test_the_decision_names_the_three_best_nodes_best_first() -> None:
    # LeastAllocated: the emptier the node, the higher its score; the trace shows the best three.
    h = Sim([node("full", cpu="4"), node("empty", cpu="4"), node("half", cpu="4"), node("most", cpu="4")])
    for name, cpu, where in (("f", "3500m", "full"), ("h", "2", "half"), ("m", "3", "most")):
        h.cache.add_pod(pod_info(pod(name, cpu=cpu, node=where)))
    result = h.fw.schedule(CycleState(), pod_info(pod("p", cpu="100m")))
    names = [n for n, _ in result.top_scores]
    assert result.node == "empty"
    assert names == ["empty", "half", "most"]
    scores = [s for _, s in result.top_scores]
    assert scores == sorted(scores, reverse=True)
