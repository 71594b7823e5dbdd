"""InterPodAffinity and PodTopologySpread: cases from kube-scheduler's plugin tests."""

from __future__ import annotations

from typing import Any

import pytest

from .util import Sim, node, pod, score_only

AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"


def term(key: str, op: str, values: list[str] | None, topology: str, **kw: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values is not None:
        e["values"] = values
    return {"labelSelector": {"matchExpressions": [e]}, "topologyKey": topology, **kw}


def affinity(
    req: list[dict[str, Any]] | None = None, anti: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    a: dict[str, Any] = {}
    if req:
        a["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": req}
    if anti:
        a["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": anti}
    return a


def preferred(
    aff: list[tuple[int, dict[str, Any]]] = (), anti: list[tuple[int, dict[str, Any]]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    a: dict[str, Any] = {}
    key = "preferredDuringSchedulingIgnoredDuringExecution"
    if aff:
        a["podAffinity"] = {key: [{"weight": w, "podAffinityTerm": t} for w, t in aff]}
    if anti:
        a["podAntiAffinity"] = {key: [{"weight": w, "podAffinityTerm": t} for w, t in anti]}
    return a


SEC = {"service": "securityscan"}
REGION = {"region": "r1", "zone": "z11"}


@pytest.mark.parametrize(
    ("case", "spec", "labels", "existing", "want"),
    [
        ("no affinity, no pods", {}, {}, [], None),
        (
            "In matches existing pod",
            affinity([term("service", "In", ["securityscan", "value2"], "region")]),
            {},
            [SEC],
            None,
        ),
        (
            "NotIn matches existing pod",
            affinity([term("service", "NotIn", ["securityscan3", "value3"], "region")]),
            {},
            [SEC],
            None,
        ),
        (
            "different namespace",
            affinity([term("service", "In", ["securityscan"], "region", namespaces=["DiffNameSpace"])]),
            {},
            [SEC],
            AFF,
        ),
        (
            "unmatching selector",
            affinity([term("service", "In", ["antivirusscan", "value2"], "region")]),
            {},
            [SEC],
            AFF,
        ),
        (
            "affinity satisfied, anti-affinity not",
            affinity(
                [term("service", "In", ["securityscan"], "region")],
                [term("service", "In", ["securityscan"], "zone")],
            ),
            {},
            [SEC],
            ANTI,
        ),
        (
            "first pod of a self-affine group",
            affinity([term("service", "In", ["securityscan"], "region")]),
            SEC,
            [],
            None,
        ),
        (
            "self-affine but node lacks the topology label",
            affinity([term("service", "In", ["securityscan"], "rack")]),
            SEC,
            [],
            AFF,
        ),
        ("Exists anti-affinity", affinity(anti=[term("service", "Exists", None, "region")]), {}, [SEC], ANTI),
    ],
)
def test_required_affinity_single_node(
    case: str, spec: dict[str, Any], labels: dict[str, str], existing: list[dict[str, str]], want: str | None
) -> None:
    ex = [pod(f"e{i}", node="node1", labels=lb) for i, lb in enumerate(existing)]
    s = Sim([node("node1", labels=REGION)], ex)
    got = s.schedule(pod("p", labels=labels, affinity=spec) if spec else pod("p", labels=labels))
    if want is None:
        assert got == "node1", (case, got)
    else:
        assert got.startswith(f"0/1 nodes are available: 1 {want}."), (case, got)


def test_existing_pods_anti_affinity_is_symmetric() -> None:
    existing = pod(
        "e",
        node="node1",
        labels={"app": "db"},
        affinity=affinity(anti=[term("service", "In", ["securityscan"], "zone")]),
    )
    s = Sim([node("node1", labels=REGION), node("node2", labels={"region": "r1", "zone": "z12"})], [existing])
    assert s.schedule(pod("p", labels=SEC)) == "node2"
    s2 = Sim([node("node1", labels=REGION)], [existing])
    assert s2.schedule(pod("p", labels=SEC)).startswith(f"0/1 nodes are available: 1 {EXISTING}.")
    # a pod the term does not select is not affected
    assert s2.schedule(pod("q", labels={"service": "other"})) == "node1"


def test_anti_affinity_hostname_spreads_one_per_node() -> None:
    anti = affinity(anti=[term("app", "In", ["web"], "kubernetes.io/hostname")])
    s = Sim([node(f"n{i}") for i in range(3)])
    placed = [s.place(pod(f"w{i}", labels={"app": "web"}, affinity=anti)) for i in range(3)]
    assert sorted(placed) == ["n0", "n1", "n2"]
    got = s.place(pod("w3", labels={"app": "web"}, affinity=anti))
    # the existing pods' own anti-affinity is checked first
    assert got.startswith(f"0/3 nodes are available: 3 {EXISTING}.")


def test_namespace_selector() -> None:
    t = term("app", "In", ["db"], "kubernetes.io/hostname", namespaceSelector={"matchLabels": {"team": "a"}})
    s = Sim(
        [node("n1"), node("n2")],
        [
            pod("db", ns="ns-a", node="n1", labels={"app": "db"}),
            pod("db2", ns="ns-b", node="n2", labels={"app": "db"}),
        ],
    )
    s.cache.set_namespace("ns-a", {"team": "a"})
    s.cache.set_namespace("ns-b", {"team": "b"})
    assert s.schedule(pod("p", affinity=affinity([t]))) == "n1"
    assert s.schedule(pod("p", affinity=affinity(anti=[t]))) == "n2"
    # an empty namespaceSelector selects every namespace
    t_all = term("app", "In", ["db"], "kubernetes.io/hostname", namespaceSelector={})
    assert s.schedule(pod("p", affinity=affinity(anti=[t_all]))).startswith(
        "0/2 nodes are available: 2 " + ANTI
    )


def test_preferred_affinity_scores() -> None:
    s1 = {"security": "S1"}
    nodes = [
        node("node1", labels={"region": "China"}),
        node("node2", labels={"region": "India"}),
        node("node3", labels={"az": "az1"}),
    ]
    ex = [pod("a", node="node1", labels=s1), pod("b", node="node2", labels={"security": "S2"})]
    s = Sim(nodes, ex, config=score_only("InterPodAffinity"))
    p = pod("p", affinity=preferred(aff=[(5, term("security", "In", ["S1"], "region"))]))
    assert s.scores(p, "InterPodAffinity") == {"node1": 100, "node2": 0, "node3": 0}
    # all nodes in the same domain as a matching pod score the same
    nodes = [
        node("node1", labels={"region": "China"}),
        node("node2", labels={"region": "China", "az": "az1"}),
        node("node3", labels={"region": "India"}),
    ]
    s = Sim(nodes, [pod("a", node="node1", labels=s1)], config=score_only("InterPodAffinity"))
    assert s.scores(p, "InterPodAffinity") == {"node1": 100, "node2": 100, "node3": 0}
    # anti-affinity: nodes without matching pods score high
    nodes = [
        node("node1", labels={"region": "China"}),
        node("node2", labels={"region": "India"}),
        node("node3", labels={"region": "Japan"}),
    ]
    s = Sim(nodes, ex, config=score_only("InterPodAffinity"))
    p = pod("p", affinity=preferred(anti=[(5, term("security", "In", ["S1"], "region"))]))
    assert s.scores(p, "InterPodAffinity") == {"node1": 0, "node2": 100, "node3": 100}


def test_existing_pods_preferred_terms_score_symmetrically() -> None:
    nodes = [node("node1", labels={"region": "China"}), node("node2", labels={"region": "India"})]
    ex = [pod("a", node="node1", affinity=preferred(aff=[(5, term("security", "In", ["S1"], "region"))]))]
    s = Sim(nodes, ex, config=score_only("InterPodAffinity"))
    assert s.scores(pod("p", labels={"security": "S1"}), "InterPodAffinity") == {"node1": 100, "node2": 0}


# ---------------------------------------------------------------- spread


def spread(
    key: str, skew: int = 1, hard: bool = True, sel: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway",
        "labelSelector": sel
        if sel is not None
        else {"matchExpressions": [{"key": "foo", "operator": "Exists"}]},
        **kw,
    }


ZONES = [("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"), ("node-y", "zone2")]


def zone_nodes(**kw: Any) -> list[dict[str, Any]]:
    return [node(n, labels={"zone": z}, **kw) for n, z in ZONES]


def existing_on(
    counts: dict[str, int], ns: str = "default", labels: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    out = []
    for n, c in counts.items():
        for i in range(c):
            out.append(pod(f"p-{n}-{i}", ns=ns, node=n, labels=labels or {"foo": ""}))
    return out


def feasible(s: Sim, p: dict[str, Any]) -> set[str]:
    from skiff.scheduler.framework import CycleState
    from skiff.scheduler.types import pod_info

    idx, _ = s.fw.find_feasible(CycleState(), pod_info(p))
    return set(s.cache.node_names(idx))


def test_spread_filter_cases() -> None:
    foo = {"foo": ""}
    c = [spread("zone")]
    assert feasible(Sim(zone_nodes()), pod("p", labels=foo, topologySpreadConstraints=c)) == {
        n for n, _ in ZONES
    }
    # pods in another namespace do not count
    s = Sim(zone_nodes(), existing_on({"node-a": 2, "node-b": 1}, ns="ns1"))
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=c)) == {n for n, _ in ZONES}
    # spread 3/1 over zones: only zone2 fits
    s = Sim(zone_nodes(), existing_on({"node-a": 2, "node-b": 1, "node-x": 1}))
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=c)) == {"node-x", "node-y"}
    # over nodes 2/1/0/3: only node-x fits; with maxSkew 2, node-b too
    s = Sim(zone_nodes(), existing_on({"node-a": 2, "node-b": 1, "node-y": 3}))
    host = [spread("kubernetes.io/hostname")]
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=host)) == {"node-x"}
    host2 = [spread("kubernetes.io/hostname", skew=2)]
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=host2)) == {"node-b", "node-x"}
    # the incoming pod not matching its own selector does not count itself
    s = Sim(zone_nodes(), existing_on({"node-a": 1}))
    assert feasible(s, pod("p", labels={"bar": ""}, topologySpreadConstraints=host)) == {n for n, _ in ZONES}
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=host)) == {"node-b", "node-x", "node-y"}


def test_spread_missing_label_and_message() -> None:
    nodes = [
        node("node-a", labels={"zone": "zone1"}),
        node("node-b", labels={"zon": "zone1"}),
        node("node-x", labels={"zone": "zone2"}),
    ]
    s = Sim(nodes, existing_on({"node-a": 1, "node-b": 1, "node-x": 3}))
    p = pod("p", labels={"foo": ""}, topologySpreadConstraints=[spread("zone")])
    assert feasible(s, p) == {"node-a"}
    s2 = Sim(nodes, existing_on({"node-a": 1, "node-x": 1}))
    p2 = pod("p", labels={"foo": ""}, topologySpreadConstraints=[spread("zone", minDomains=3)])
    msg = s2.schedule(p2)
    assert msg.startswith(f"0/3 nodes are available: 1 {MISSING}, 2 {SPREAD}."), msg


def test_spread_min_domains() -> None:
    foo = {"foo": ""}
    s = Sim(zone_nodes(), existing_on({"node-a": 1, "node-x": 1}))
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=[spread("zone")])) == {
        n for n, _ in ZONES
    }
    # fewer domains (2) than minDomains (3): the global minimum counts as 0
    c = [spread("zone", minDomains=3)]
    assert feasible(s, pod("p", labels=foo, topologySpreadConstraints=c)) == set()


def test_spread_node_affinity_and_taints_policy() -> None:
    foo = {"foo": ""}
    nodes = [node("node-a", labels={"zone": "zone1", "ok": "yes"}), node("node-x", labels={"zone": "zone2"})]
    s = Sim(nodes, existing_on({"node-a": 1}))
    honor = pod("p", labels=foo, nodeSelector={"ok": "yes"}, topologySpreadConstraints=[spread("zone")])
    assert feasible(s, honor) == {"node-a"}  # zone2 is not eligible: zone1 alone is the minimum
    ignore = pod(
        "p",
        labels=foo,
        nodeSelector={"ok": "yes"},
        topologySpreadConstraints=[spread("zone", nodeAffinityPolicy="Ignore")],
    )
    assert feasible(s, ignore) == set()
    tainted = [
        node("node-a", labels={"zone": "zone1"}),
        node(
            "node-x",
            labels={"zone": "zone2"},
            taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}],
        ),
    ]
    s = Sim(tainted, existing_on({"node-a": 1}))
    tol_ignore = pod("p", labels=foo, topologySpreadConstraints=[spread("zone")])
    assert feasible(s, tol_ignore) == {"node-x"}
    s = Sim(
        [
            node("node-a", labels={"zone": "zone1"}),
            node(
                "node-x",
                labels={"zone": "zone2"},
                taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}],
            ),
        ],
        existing_on({"node-a": 1}),
    )
    honor_t = pod("p", labels=foo, topologySpreadConstraints=[spread("zone", nodeTaintsPolicy="Honor")])
    assert feasible(s, honor_t) == {"node-a"}  # the tainted zone does not count as a domain


def test_spread_match_label_keys() -> None:
    lb = {"app": "a", "version": "v1"}
    s = Sim(zone_nodes(), existing_on({"node-a": 2}, labels=lb))
    sel = {"matchLabels": {"app": "a"}}
    c = [spread("zone", sel=sel, matchLabelKeys=["version"])]
    assert feasible(s, pod("p", labels={"app": "a", "version": "v2"}, topologySpreadConstraints=c)) == {
        n for n, _ in ZONES
    }
    assert feasible(s, pod("p", labels=lb, topologySpreadConstraints=c)) == {"node-x", "node-y"}


def test_spread_score() -> None:
    # "one constraint on node, all 4 nodes are candidates": counts 2/1/0/3
    nodes = [node(n) for n in ("node-a", "node-b", "node-c", "node-d")]
    s = Sim(
        nodes, existing_on({"node-a": 2, "node-b": 1, "node-d": 3}), config=score_only("PodTopologySpread")
    )
    p = pod("p", labels={"foo": ""}, topologySpreadConstraints=[spread("kubernetes.io/hostname", hard=False)])
    assert s.scores(p, "PodTopologySpread") == {"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0}
    # no existing pods: all equal
    s = Sim(nodes, config=score_only("PodTopologySpread"))
    assert set(s.scores(p, "PodTopologySpread").values()) == {100}
