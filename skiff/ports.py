"""Free TCP ports for components that must be told their port before they bind it.

Asking the kernel for port 0 gives a port of the ephemeral range (``ip_local_port_range``), the range
it also hands to every outgoing connection: between the check and the component's own bind, a
connection may take the port ("address already in use", seen in a full test run). Ports are drawn at
random below that range instead, and each is checked by binding it.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Collection

_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
_LOWEST = 10000  # clear of the well-known and most registered service ports


def _ephemeral_start() -> int:
    try:
        with open(_RANGE_FILE) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(n: int, exclude: Collection[int] = (), host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct ports that nothing binds now, none in ``exclude``."""
    top = _ephemeral_start() - 1
    low = _LOWEST if top - _LOWEST >= 1000 else 1024
    chosen: list[int] = []
    for _ in range(100 * n + 100):
        if len(chosen) == n:
            return chosen
        port = random.randint(low, top)
        if port not in chosen and port not in exclude and _bindable(port, host):
            chosen.append(port)
    raise OSError(f"no {n} free TCP ports between {low} and {top}")


def free_port(exclude: Collection[int] = (), host: str = "127.0.0.1") -> int:
    """One port that nothing binds now (see the module's docstring for why not port 0)."""
    return free_ports(1, exclude, host)[0]
