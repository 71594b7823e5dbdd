"""Fault injection, short: one round of kill -9 on each control-plane part of `skiff up --ha` under load.

While pods are created against hollow nodes and clients read, write and compare-and-set ConfigMaps, the
etcd leader, an API server, the leading scheduler, the kubelet and the leading controller-manager are
killed in turn (`skiff up` restarts each). Nothing acknowledged may be lost: every pod exists once with
its uid, was bound to one node only and runs; the register histories are linearizable. Timings are only
reported here; `python -m bench.chaos` measures them (RELIABILITY.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.chaos.run import FAULTS, Config, run


def test_one_round_of_faults_loses_nothing(tmp_path: Path) -> None:
    report = run(Config(tmp_path / "data", rounds=1, nodes=2, pod_rate=0.5, settle_s=1.0, timeout_s=180.0))
    summary = json.dumps(report.to_dict(), indent=1, default=str)
    print(summary)
    assert [f.fault for f in report.faults] == list(FAULTS), summary
    assert report.pods_acknowledged > len(FAULTS), summary
    assert report.pods_lost == [], summary
    assert report.pods_unexpected == [], summary
    assert report.pods_not_running == [], summary
    assert report.double_bindings == [], summary
    assert report.lost_bindings == [], summary
    assert report.register_ops > 50, summary
    assert report.linearizable and all(report.linearizable.values()), summary
    # Leaders were replaced: the scheduler's and controller-manager's leases changed hands.
    assert all(
        f.takeover_s is not None
        for f in report.faults
        if f.fault.endswith("-leader") and "etcd" not in f.fault
    )
