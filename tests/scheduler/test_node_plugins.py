"""NodeAffinity, TaintToleration, NodeUnschedulable, NodeName, NodePorts, ImageLocality, SchedulingGates,
PrioritySort: cases from kube-scheduler's plugin tests."""

from __future__ import annotations

from typing import Any

import pytest

from skiff.scheduler.framework import Code
from skiff.scheduler.queue import QueuedPod
from skiff.scheduler.types import pod_info

from .util import Sim, node, pod, score_only

NA_REASON = "node(s) didn't match Pod's node affinity/selector"


def required(
    *terms: list[dict[str, Any]], fields: list[list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    ts: list[dict[str, Any]] = [{"matchExpressions": t} for t in terms]
    for f in fields or []:
        ts.append({"matchFields": f})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": ts}}}


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


@pytest.mark.parametrize(
    ("case", "spec", "labels", "fits"),
    [
        ("missing labels", {"nodeSelector": {"foo": "bar"}}, {}, False),
        ("same labels", {"nodeSelector": {"foo": "bar"}}, {"foo": "bar"}, True),
        ("node labels are superset", {"nodeSelector": {"foo": "bar"}}, {"foo": "bar", "baz": "blah"}, True),
        ("node labels are subset", {"nodeSelector": {"foo": "bar", "baz": "blah"}}, {"foo": "bar"}, False),
        ("In matches", {"affinity": required([expr("foo", "In", "bar", "value2")])}, {"foo": "bar"}, True),
        (
            "Gt matches",
            {"affinity": required([expr("kernel-version", "Gt", "0204")])},
            {"kernel-version": "0206"},
            True,
        ),
        (
            "Gt does not match",
            {"affinity": required([expr("kernel-version", "Gt", "0204")])},
            {"kernel-version": "0200"},
            False,
        ),
        ("Lt matches", {"affinity": required([expr("n", "Lt", "5")])}, {"n": "3"}, True),
        ("Gt on a non-integer label", {"affinity": required([expr("n", "Gt", "5")])}, {"n": "x"}, False),
        (
            "NotIn matches",
            {"affinity": required([expr("mem-type", "NotIn", "DDR", "DDR2")])},
            {"mem-type": "DDR3"},
            True,
        ),
        (
            "NotIn matches a node without the label",
            {"affinity": required([expr("mem-type", "NotIn", "DDR")])},
            {},
            True,
        ),
        ("Exists matches", {"affinity": required([expr("GPU", "Exists")])}, {"GPU": "NVIDIA-GRID-K1"}, True),
        ("DoesNotExist", {"affinity": required([expr("GPU", "DoesNotExist")])}, {"GPU": "x"}, False),
        (
            "affinity that doesn't match",
            {"affinity": required([expr("foo", "In", "value1", "value2")])},
            {"foo": "bar"},
            False,
        ),
        ("empty matchExpressions match no objects", {"affinity": required([])}, {"foo": "bar"}, False),
        ("empty nodeSelectorTerms match nothing", {"affinity": required()}, {"foo": "bar"}, False),
        ("no affinity", {}, {"foo": "bar"}, True),
        ("affinity but nil node selector", {"affinity": {"nodeAffinity": {}}}, {"foo": "bar"}, True),
        (
            "multiple expressions ANDed match",
            {"affinity": required([expr("GPU", "Exists"), expr("GPU", "NotIn", "AMD", "INTER")])},
            {"GPU": "NVIDIA-GRID-K1"},
            True,
        ),
        (
            "multiple expressions ANDed don't match",
            {"affinity": required([expr("GPU", "Exists"), expr("GPU", "In", "AMD", "INTER")])},
            {"GPU": "NVIDIA-GRID-K1"},
            False,
        ),
        (
            "multiple terms ORed",
            {
                "affinity": required(
                    [expr("foo", "In", "bar", "value2")], [expr("diffkey", "In", "wrong", "value2")]
                )
            },
            {"foo": "bar"},
            True,
        ),
        (
            "affinity and nodeSelector both satisfied",
            {"affinity": required([expr("foo", "Exists")]), "nodeSelector": {"foo": "bar"}},
            {"foo": "bar"},
            True,
        ),
        (
            "affinity matches but nodeSelector not",
            {"affinity": required([expr("foo", "Exists")]), "nodeSelector": {"foo": "bar"}},
            {"foo": "barrrrrr"},
            False,
        ),
        (
            "matchFields In matches",
            {"affinity": required(fields=[[expr("metadata.name", "In", "node1")]])},
            {},
            True,
        ),
        (
            "matchFields In doesn't match",
            {"affinity": required(fields=[[expr("metadata.name", "In", "node2")]])},
            {},
            False,
        ),
        (
            "two terms: matchFields doesn't match, matchExpressions does",
            {
                "affinity": required(
                    [expr("zone", "In", "foo")], fields=[[expr("metadata.name", "In", "node2")]]
                )
            },
            {"zone": "foo"},
            True,
        ),
        (
            "one term: matchFields doesn't match, matchExpressions does",
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [expr("zone", "In", "foo")],
                                    "matchFields": [expr("metadata.name", "In", "node2")],
                                }
                            ]
                        }
                    }
                }
            },
            {"zone": "foo"},
            False,
        ),
    ],
)
def test_node_affinity_filter(case: str, spec: dict[str, Any], labels: dict[str, str], fits: bool) -> None:
    s = Sim([node("node1", labels=labels)])
    got = s.schedule(pod("p", **spec))
    if fits:
        assert got == "node1", case
    else:
        assert got.startswith(f"0/1 nodes are available: 1 {NA_REASON}."), (case, got)
        assert "Preemption is not helpful for scheduling" in got


def test_node_affinity_score() -> None:
    prefs = [
        {"weight": 2, "preference": {"matchExpressions": [expr("foo", "In", "bar")]}},
        {"weight": 4, "preference": {"matchExpressions": [expr("key", "In", "value")]}},
        {
            "weight": 5,
            "preference": {
                "matchExpressions": [
                    expr("foo", "In", "bar"),
                    expr("key", "In", "value"),
                    expr("az", "In", "az1"),
                ]
            },
        },
    ]
    nodes = [
        node("node1", labels={"foo": "bar"}),
        node("node5", labels={"foo": "bar", "key": "value", "az": "az1"}),
        node("node2", labels={"key": "value"}),
    ]
    s = Sim(nodes, config=score_only("NodeAffinity"))
    p = pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": prefs}})
    assert s.scores(p, "NodeAffinity") == {"node1": 18, "node5": 100, "node2": 36}
    # no node matches: all zero
    p = pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": prefs[:1]}})
    assert Sim([node("a"), node("b")], config=score_only("NodeAffinity")).scores(p, "NodeAffinity") == {
        "a": 0,
        "b": 0,
    }


def taint(key: str, value: str, effect: str) -> dict[str, str]:
    return {"key": key, "value": value, "effect": effect}


def tol(key: str, op: str, value: str, effect: str) -> dict[str, str]:
    return {"key": key, "operator": op, "value": value, "effect": effect}


@pytest.mark.parametrize(
    ("case", "tols", "taints", "fits"),
    [
        ("no tolerations, nonempty taints", [], [taint("dedicated", "user1", "NoSchedule")], False),
        (
            "tolerates user1",
            [tol("dedicated", "Equal", "user1", "NoSchedule")],
            [taint("dedicated", "user1", "NoSchedule")],
            True,
        ),
        (
            "user2 does not tolerate user1",
            [tol("dedicated", "Equal", "user2", "NoSchedule")],
            [taint("dedicated", "user1", "NoSchedule")],
            False,
        ),
        (
            "Exists tolerates",
            [tol("foo", "Exists", "", "NoSchedule")],
            [taint("foo", "bar", "NoSchedule")],
            True,
        ),
        (
            "all of several taints tolerated",
            [tol("dedicated", "Equal", "user2", "NoSchedule"), tol("foo", "Exists", "", "NoSchedule")],
            [taint("dedicated", "user2", "NoSchedule"), taint("foo", "bar", "NoSchedule")],
            True,
        ),
        (
            "effect doesn't match",
            [tol("foo", "Equal", "bar", "PreferNoSchedule")],
            [taint("foo", "bar", "NoSchedule")],
            False,
        ),
        (
            "empty effect tolerates all effects",
            [tol("foo", "Equal", "bar", "")],
            [taint("foo", "bar", "NoSchedule")],
            True,
        ),
        (
            "PreferNoSchedule taints don't filter",
            [tol("dedicated", "Equal", "user2", "NoSchedule")],
            [taint("dedicated", "user1", "PreferNoSchedule")],
            True,
        ),
        (
            "no toleration, PreferNoSchedule taint",
            [],
            [taint("dedicated", "user1", "PreferNoSchedule")],
            True,
        ),
        ("NoExecute filters", [], [taint("k", "v", "NoExecute")], False),
        (
            "empty key with Exists tolerates everything",
            [{"operator": "Exists"}],
            [taint("k", "v", "NoExecute")],
            True,
        ),
    ],
)
def test_taint_toleration_filter(
    case: str, tols: list[dict[str, str]], taints: list[dict[str, str]], fits: bool
) -> None:
    s = Sim([node("nodeA", taints=taints)])
    got = s.schedule(pod("p", tolerations=tols))
    if fits:
        assert got == "nodeA", case
    else:
        t = taints[0]
        assert got.startswith(
            f"0/1 nodes are available: 1 node(s) had untolerated taint {{{t['key']}: {t['value']}}}."
        ), got


@pytest.mark.parametrize(
    ("case", "tols", "taints", "want"),
    [
        (
            "tolerated taints score higher",
            [tol("foo", "Equal", "bar", "PreferNoSchedule")],
            [[taint("foo", "bar", "PreferNoSchedule")], [taint("foo", "blah", "PreferNoSchedule")]],
            [100, 0],
        ),
        (
            "all tolerated: same score however many",
            [
                tol("cpu-type", "Equal", "arm64", "PreferNoSchedule"),
                tol("disk-type", "Equal", "ssd", "PreferNoSchedule"),
            ],
            [
                [],
                [taint("cpu-type", "arm64", "PreferNoSchedule")],
                [
                    taint("cpu-type", "arm64", "PreferNoSchedule"),
                    taint("disk-type", "ssd", "PreferNoSchedule"),
                ],
            ],
            [100, 100, 100],
        ),
        (
            "more intolerable taints, lower score",
            [tol("foo", "Equal", "bar", "PreferNoSchedule")],
            [
                [],
                [taint("cpu-type", "arm64", "PreferNoSchedule")],
                [
                    taint("cpu-type", "arm64", "PreferNoSchedule"),
                    taint("disk-type", "ssd", "PreferNoSchedule"),
                ],
            ],
            [100, 50, 0],
        ),
        (
            "only PreferNoSchedule counts",
            [tol("cpu-type", "Equal", "arm64", "NoSchedule"), tol("disk-type", "Equal", "ssd", "NoSchedule")],
            [
                [],
                [taint("cpu-type", "arm64", "NoSchedule")],
                [
                    taint("cpu-type", "arm64", "PreferNoSchedule"),
                    taint("disk-type", "ssd", "PreferNoSchedule"),
                ],
            ],
            [100, 100, 0],
        ),
        ("no taints and tolerations", [], [[], [taint("cpu-type", "arm64", "PreferNoSchedule")]], [100, 0]),
    ],
)
def test_taint_toleration_score(
    case: str, tols: list[dict[str, str]], taints: list[list[dict[str, str]]], want: list[int]
) -> None:
    names = ["nodeA", "nodeB", "nodeC"][: len(taints)]
    s = Sim(
        [node(n, taints=t) for n, t in zip(names, taints, strict=True)], config=score_only("TaintToleration")
    )
    assert s.scores(pod("p", tolerations=tols), "TaintToleration") == dict(zip(names, want, strict=True)), (
        case
    )


def test_node_unschedulable() -> None:
    assert Sim([node("n")]).schedule(pod("p")) == "n"
    got = Sim([node("n", unschedulable=True)]).schedule(pod("p"))
    assert got.startswith("0/1 nodes are available: 1 node(s) were unschedulable.")
    t = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert Sim([node("n", unschedulable=True)]).schedule(pod("p", tolerations=t)) == "n"


def test_node_name() -> None:
    s = Sim([node("foo"), node("bar")])
    assert s.schedule(pod("p", node="foo")) == "foo"
    got = s.schedule(pod("p", node="baz"))
    assert got.startswith("0/2 nodes are available: 2 node(s) didn't match the requested node name.")


def ports(*specs: str) -> list[dict[str, Any]]:
    out = []
    for sp in specs:
        proto, ip, port = sp.split("/")
        out.append({"containerPort": int(port), "hostPort": int(port), "hostIP": ip, "protocol": proto})
    return [{"name": "c", "image": "x", "ports": out}]


@pytest.mark.parametrize(
    ("case", "want", "have", "fits"),
    [
        ("nothing running", ["UDP/127.0.0.1/8080"], [], True),
        ("other port", ["UDP/127.0.0.1/8080"], ["UDP/127.0.0.1/9090"], True),
        ("same udp port", ["UDP/127.0.0.1/8080"], ["UDP/127.0.0.1/8080"], False),
        ("same tcp port", ["TCP/127.0.0.1/8080"], ["TCP/127.0.0.1/8080"], False),
        ("different host ip", ["TCP/127.0.0.1/8080"], ["TCP/127.0.0.2/8080"], True),
        ("different protocol", ["UDP/127.0.0.1/8080"], ["TCP/127.0.0.1/8080"], True),
        (
            "second udp port conflict",
            ["UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"],
            ["UDP/127.0.0.1/8001", "UDP/127.0.0.1/8080"],
            False,
        ),
        (
            "first tcp port conflict",
            ["TCP/127.0.0.1/8001", "TCP/127.0.0.1/8080"],
            ["TCP/127.0.0.1/8001", "TCP/127.0.0.1/8081"],
            False,
        ),
        ("conflict due to 0.0.0.0 hostIP", ["TCP/0.0.0.0/8001"], ["TCP/127.0.0.1/8001"], False),
        (
            "conflict with 0.0.0.0 in use",
            ["TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"],
            ["TCP/0.0.0.0/8001"],
            False,
        ),
        ("0.0.0.0 second different protocol", ["UDP/0.0.0.0/8001"], ["TCP/0.0.0.0/8001"], True),
        ("UDP and TCP on 0.0.0.0", ["UDP/0.0.0.0/8001", "TCP/0.0.0.0/8001"], ["TCP/127.0.0.1/8001"], False),
    ],
)
def test_node_ports(case: str, want: list[str], have: list[str], fits: bool) -> None:
    existing = [pod("e", node="n", containers=ports(*have))] if have else []
    got = Sim([node("n")], existing).schedule(pod("p", containers=ports(*want)))
    if fits:
        assert got == "n", case
    else:
        assert got.startswith(
            "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
        )


MB = 1024 * 1024


def test_image_locality() -> None:
    nodes = [
        node(
            "node403002000",
            images=[
                {"names": ["gcr.io/40:latest", "gcr.io/40:v1"], "sizeBytes": 40 * MB},
                {"names": ["gcr.io/300:latest", "gcr.io/300:v1"], "sizeBytes": 300 * MB},
                {"names": ["gcr.io/2000:latest"], "sizeBytes": 2000 * MB},
            ],
        ),
        node(
            "node25010",
            images=[
                {"names": ["gcr.io/250:latest"], "sizeBytes": 250 * MB},
                {"names": ["gcr.io/10:latest", "gcr.io/10:v1"], "sizeBytes": 10 * MB},
            ],
        ),
    ]
    s = Sim(nodes, config=score_only("ImageLocality"))
    two = [{"name": "a", "image": "gcr.io/40"}, {"name": "b", "image": "gcr.io/250"}]
    # 40 MB * 1/2 = 20 MB is under the 23 MB threshold: 0; 250 MB * 1/2 = 125 MB of 2 x 1000 MB: 5
    assert s.scores(pod("p", containers=two), "ImageLocality") == {"node403002000": 0, "node25010": 5}
    # "gcr.io/300" and "gcr.io/2000": 150 MB + 1000 MB -> (1150 - 23) * 100 / (2000 - 23) = 57
    big = [{"name": "a", "image": "gcr.io/300"}, {"name": "b", "image": "gcr.io/2000:latest"}]
    assert s.scores(pod("p", containers=big), "ImageLocality") == {"node403002000": 57, "node25010": 0}
    # a tag that is not on any node scores nothing
    assert s.scores(pod("p", containers=[{"name": "a", "image": "gcr.io/300:v2"}]), "ImageLocality") == {
        "node403002000": 0,
        "node25010": 0,
    }


def test_image_names_normalized_as_docker_hub() -> None:
    nodes = [
        node("a", images=[{"names": ["docker.io/library/nginx:latest"], "sizeBytes": 500 * MB}]),
        node("b"),
    ]
    s = Sim(nodes, config=score_only("ImageLocality"))
    got = s.scores(pod("p", containers=[{"name": "c", "image": "nginx"}]), "ImageLocality")
    assert got["a"] > 0 and got["b"] == 0


def test_scheduling_gates() -> None:
    s = Sim([node("n")])
    st = s.fw.pre_enqueue(pod_info(pod("p", schedulingGates=[{"name": "example.com/foo"}, {"name": "bar"}])))
    assert st is not None and st.code == Code.UNRESOLVABLE
    assert st.message == "waiting for scheduling gates: [example.com/foo bar]"
    assert s.fw.pre_enqueue(pod_info(pod("p"))) is None


def test_priority_sort() -> None:
    s = Sim(
        [node("n")],
        config={
            "profiles": [
                {
                    "schedulerName": "default-scheduler",
                    "plugins": {
                        "queueSort": {"disabled": [{"name": "*"}], "enabled": [{"name": "PrioritySort"}]}
                    },
                }
            ]
        },
    )
    hi = QueuedPod(pod_info(pod("hi", priority=10)), timestamp=5.0)
    lo_early = QueuedPod(pod_info(pod("lo1")), timestamp=1.0)
    lo_late = QueuedPod(pod_info(pod("lo2")), timestamp=2.0)
    ordered = sorted([lo_late, hi, lo_early], key=s.fw.sort_key)
    assert [q.pod.name for q in ordered] == ["hi", "lo1", "lo2"]
