"""The scheduling queue (activeQ, backoffQ, unschedulable) and the KubeSchedulerConfiguration parser."""

from __future__ import annotations

from typing import Any

import pytest

from skiff.scheduler.config import ConfigError, parse_config
from skiff.scheduler.framework import Code, Status
from skiff.scheduler.queue import SchedulingQueue
from skiff.scheduler.types import pod_info

from .util import pod


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_queue(clock: Clock) -> SchedulingQueue:
    def gate(p: Any) -> Status | None:
        return Status(Code.UNRESOLVABLE, ["gated"]) if p.gates else None

    return SchedulingQueue(lambda q: (-q.pod.priority, q.timestamp), gate, clock=clock)


def test_active_order_and_backoff() -> None:
    clock = Clock()
    q = make_queue(clock)
    q.add(pod_info(pod("low")))
    clock.t += 1
    q.add(pod_info(pod("high", priority=10)))
    a = q.pop()
    assert a is not None and a.pod.name == "high"
    q.add_backoff(a)  # an error: retried after 1 s
    b = q.pop()
    assert b is not None and b.pod.name == "low"
    assert q.pop() is None
    clock.t += 0.5
    q.flush()
    assert q.pop() is None
    clock.t += 0.6
    q.flush()
    a2 = q.pop()
    assert a2 is not None and a2.pod.name == "high" and a2.attempts == 2


def test_backoff_doubles_to_ten_seconds() -> None:
    q = make_queue(Clock())
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_unschedulable_moves_on_events_and_after_five_minutes() -> None:
    clock = Clock()
    q = make_queue(clock)
    q.add(pod_info(pod("p")))
    a = q.pop()
    assert a is not None
    q.add_unschedulable(a, {"NodeResourcesFit"})
    assert q.count("unschedulable") == 1
    clock.t += 30
    q.flush()
    assert q.pop() is None  # still unschedulable: no event yet
    q.move_all("NodeAdd")
    b = q.pop()
    assert b is a
    q.add_unschedulable(b)
    clock.t += 301
    q.flush()
    assert q.pop() is b


def test_event_during_cycle_sends_pod_to_backoff() -> None:
    clock = Clock()
    q = make_queue(clock)
    q.add(pod_info(pod("p")))
    a = q.pop()
    assert a is not None
    q.move_all("NodeAdd")  # arrives while `a` is being scheduled
    q.add_unschedulable(a)
    assert a.where == "backoff"


def test_gated_pods_wait_for_update() -> None:
    q = make_queue(Clock())
    q.add(pod_info(pod("g", schedulingGates=[{"name": "x"}])))
    assert q.pop() is None and q.count("gated") == 1
    q.update(pod_info(pod("g")))
    a = q.pop()
    assert a is not None and a.pod.name == "g"


def test_deleted_pod_leaves_queue() -> None:
    q = make_queue(Clock())
    q.add(pod_info(pod("p")))
    q.delete("default/p")
    assert q.pop() is None and len(q) == 0


def test_config_defaults() -> None:
    cfg = parse_config({})
    (p,) = cfg.profiles
    assert p.scheduler_name == "default-scheduler"
    assert p.percentage == 0
    assert p.points["filter"][:3] == ["NodeUnschedulable", "NodeName", "TaintToleration"]
    assert p.weights["TaintToleration"] == 3 and p.weights["InterPodAffinity"] == 2
    assert cfg.leader_election.lease_duration == 15 and cfg.leader_election.retry_period == 2


def test_config_profiles_and_overrides() -> None:
    cfg = parse_config(
        {
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "percentageOfNodesToScore": 30,
            "profiles": [
                {"schedulerName": "default-scheduler"},
                {
                    "schedulerName": "bin-packer",
                    "plugins": {
                        "score": {
                            "disabled": [{"name": "NodeResourcesBalancedAllocation"}],
                            "enabled": [{"name": "NodeResourcesFit", "weight": 5}],
                        },
                        "filter": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeResourcesFit"}]},
                    },
                    "pluginConfig": [
                        {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}
                    ],
                },
            ],
        }
    )
    bp = cfg.profiles[1]
    assert bp.points["filter"] == ["NodeResourcesFit"]
    assert "NodeResourcesBalancedAllocation" not in bp.points["score"]
    assert bp.weights["NodeResourcesFit"] == 5 and bp.percentage == 30
    assert bp.args["NodeResourcesFit"]["scoringStrategy"]["type"] == "MostAllocated"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore"),
        ({"profiles": [{"plugins": {}}]}, "profiles[0].schedulerName"),
        ({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}, "profiles[1].schedulerName"),
        (
            {"profiles": [{"schedulerName": "a", "plugins": {"score": {"enabled": [{"name": "Nope"}]}}}]},
            "profiles[0].plugins.score.enabled[0].name",
        ),
        (
            {
                "profiles": [
                    {
                        "schedulerName": "a",
                        "plugins": {"score": {"enabled": [{"name": "NodeResourcesFit", "weight": 500}]}},
                    }
                ]
            },
            "profiles[0].plugins.score.enabled[0].weight",
        ),
        (
            {
                "profiles": [
                    {
                        "schedulerName": "a",
                        "pluginConfig": [
                            {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "Bogus"}}}
                        ],
                    }
                ]
            },
            "profiles[0].pluginConfig[0].args.scoringStrategy.type",
        ),
        (
            {
                "profiles": [
                    {"schedulerName": "a", "plugins": {"queueSort": {"enabled": [{"name": "PrioritySort"}]}}}
                ]
            },
            "profiles[0].plugins.queueSort",
        ),
        (
            {
                "profiles": [
                    {"schedulerName": "a", "plugins": {"filter": {"enabled": [{"name": "ImageLocality"}]}}}
                ]
            },
            "profiles[0].plugins.filter.enabled[0]",
        ),
        ({"leaderElection": {"leaseDuration": "abc"}}, "leaderElection.leaseDuration"),
        ({"kind": "Pod"}, "kind"),
        ({"bogusField": 1}, "bogusField"),
    ],
)
def test_config_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(data)
    assert str(e.value).startswith(field), str(e.value)


def test_percentage_of_nodes_to_score_limits_the_feasible_set() -> None:
    from skiff.scheduler.framework import CycleState

    from .util import Sim, node

    s = Sim([node(f"n{i}") for i in range(400)], config={"percentageOfNodesToScore": 10})
    idx, _ = s.fw.find_feasible(CycleState(), pod_info(pod("p")))
    assert len(idx) == 100  # max(10% of 400, 100)
    idx2, _ = s.fw.find_feasible(CycleState(), pod_info(pod("q")))
    assert set(idx2.tolist()) != set(idx.tolist())  # the next search starts where the last stopped
    s_all = Sim([node(f"n{i}") for i in range(400)])
    idx3, _ = s_all.fw.find_feasible(CycleState(), pod_info(pod("p")))
    assert len(idx3) == 400  # the default scores every feasible node
