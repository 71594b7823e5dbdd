"""`python -m bench.chaos [--minutes N] [--runs R]`: the long fault-injection run (RELIABILITY.md).

Each run starts a fresh `skiff up --ha --runtime hollow` in a temporary directory and keeps killing
components in rounds for N minutes while pods are created; the summary gives the medians over all
kills and runs, and the outcome checks (pods lost, double bindings, linearizability) summed over runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

from bench.chaos.run import FAULTS, Config, Report, run


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def summary(reports: list[Report]) -> str:
    lines = [
        "| fault | kills | back (s) | leader takeover (s) | longest write gap (s) | new pod Running (s) |",
        "|---|---|---|---|---|---|",
    ]
    for fault in dict.fromkeys(f.fault for r in reports for f in r.faults):
        rs = [f for r in reports for f in r.faults if f.fault == fault]
        takeovers = [f.takeover_s for f in rs if f.takeover_s is not None]
        lines.append(
            f"| {fault} | {len(rs)} | {median([f.back_s for f in rs])} | {median(takeovers)} "
            f"| {median([f.write_gap_s for f in rs])} | {median([f.probe_pod_running_s for f in rs])} |"
        )
    worst = max(
        (f.takeover_s or 0.0 for r in reports for f in r.faults if f.fault == "scheduler-leader"), default=0
    )
    lines += [
        "",
        f"runs: {len(reports)}, all checks passed: {all(r.ok for r in reports)}",
        f"pods acknowledged: {sum(r.pods_acknowledged for r in reports)}, "
        f"lost: {sum(len(r.pods_lost) for r in reports)}, "
        f"unexpected: {sum(len(r.pods_unexpected) for r in reports)}, "
        f"not Running: {sum(len(r.pods_not_running) for r in reports)}",
        f"double bindings: {sum(len(r.double_bindings) for r in reports)}, "
        f"lost bindings: {sum(len(r.lost_bindings) for r in reports)}",
        f"register operations checked: {sum(r.register_ops for r in reports)} "
        f"({sum(r.register_unknown_ops for r in reports)} with unknown outcome), "
        f"linearizable: {all(all(r.linearizable.values()) for r in reports)}",
        f"create retries (unknown outcome): {sum(r.create_retries for r in reports)}; "
        f"recorder watch resumes: {sum(r.watch_resumes for r in reports)}, "
        f"relists: {sum(r.watch_relists for r in reports)}",
        f"time to converge after the last kill (median): {median([r.converge_s for r in reports])} s; "
        f"worst scheduler takeover: {worst:.1f} s",
        f"machine: {os.cpu_count()} cpus, {platform.processor() or platform.machine()}; load average at the "
        f"end of each run: {', '.join(f'{r.load_average[0]:.1f}' for r in reports)}",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    ap.add_argument("--minutes", type=float, default=2.0, help="per run [2]")
    ap.add_argument("--runs", type=int, default=3, help="fresh clusters, one after another [3]")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--pod-rate", type=float, default=1.0, help="pods created per second [1]")
    ap.add_argument("--json", default=None, help="also write every run's report here")
    ap.add_argument("--faults", default=",".join(FAULTS), help="which, in order [all]")
    ap.add_argument("--artifacts", default="chaos-artifacts", help="histories that fail the check go here")
    args = ap.parse_args()
    reports: list[Report] = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="skiff-chaos-") as tmp:
            cfg = Config(
                Path(tmp) / "data",
                rounds=1,
                minutes=args.minutes,
                nodes=args.nodes,
                pod_rate=args.pod_rate,
                faults=tuple(args.faults.split(",")),
                artifacts=Path(args.artifacts),
            )
            report = run(cfg)
        print(
            f"run {i + 1}: ok={report.ok} faults={len(report.faults)} pods={report.pods_acknowledged}",
            flush=True,
        )
        reports.append(report)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=1, default=str))
    print(summary(reports))


if __name__ == "__main__":
    main()
