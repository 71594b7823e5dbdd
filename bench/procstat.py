"""CPU accounting from /proc for the benchmarks: the machine is shared, so CPU per operation is reported
beside wall-clock rates."""

from __future__ import annotations

import os

_TICK = float(os.sysconf("SC_CLK_TCK"))


def proc_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of one process in seconds (reaped children included); 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / _TICK


def daemon_pids() -> list[int]:
    """dockerd, containerd and every containerd-shim: where a container start's CPU goes."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in ("dockerd", "containerd") or comm.startswith("containerd-shim"):
            pids.append(int(entry))
    return pids


def machine_cpu() -> float:
    """Busy CPU seconds of all cores since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    return sum(int(parts[i]) for i in (0, 1, 2, 5, 6, 7)) / _TICK


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
