"""The host machine as /proc and the OS report it: capacity, identity and measured usage."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from skiff.runtime.base import MachineInfo

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def _meminfo() -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs."""
    first = _read("/proc/stat").splitlines()[0].split()[1:]
    values = [float(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])
    return total - idle, total


class Machine:
    """Samples the host; CPU usage is the busy share between two calls of `info`."""

    def __init__(self, disk_path: str = "/") -> None:
        self.disk_path = disk_path
        self._last_cpu = _cpu_times()
        self._last_time = time.monotonic()
        self._usage_millis = 0
        self.cpus = os.cpu_count() or 1

    def info(self) -> MachineInfo:
        busy, total = _cpu_times()
        d_busy, d_total = busy - self._last_cpu[0], total - self._last_cpu[1]
        if d_total > 0:
            self._usage_millis = int(1000 * self.cpus * d_busy / d_total)
            self._last_cpu = (busy, total)
        mem = _meminfo()
        mem_total = mem.get("MemTotal", 0)
        mem_avail = mem.get("MemAvailable", mem.get("MemFree", 0))
        try:
            st = os.statvfs(self.disk_path)
            disk_total = st.f_blocks * st.f_frsize
            disk_frac = st.f_bavail / st.f_blocks if st.f_blocks else 1.0
        except OSError:
            disk_total, disk_frac = 0, 1.0
        pid_max = int(_read("/proc/sys/kernel/pid_max", "32768") or 32768)
        loadavg = _read("/proc/loadavg").split()
        try:
            procs = int(loadavg[3].split("/")[1])
        except (IndexError, ValueError):
            procs = 0
        return MachineInfo(
            cpu_millis=self.cpus * 1000,
            memory_bytes=mem_total,
            ephemeral_storage_bytes=disk_total,
            os=platform.system().lower(),
            arch=_ARCH.get(platform.machine(), platform.machine()),
            kernel_version=platform.release(),
            os_image=_os_image(),
            machine_id=_read("/etc/machine-id"),
            system_uuid=_read("/sys/class/dmi/id/product_uuid"),
            boot_id=_read("/proc/sys/kernel/random/boot_id"),
            cpu_usage_millis=self._usage_millis,
            memory_usage_bytes=mem_total - mem_avail,
            memory_available_bytes=mem_avail,
            disk_available_fraction=disk_frac,
            pids_available_fraction=max(0.0, 1.0 - procs / pid_max),
        )
