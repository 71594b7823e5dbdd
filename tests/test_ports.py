"""Ports picked for components: free, distinct, and outside the range the kernel gives to outgoing
connections (which could take one before the component binds it)."""

from __future__ import annotations

import socket

import pytest

from skiff import ports


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    start = ports._ephemeral_start()
    got = ports.free_ports(50, exclude={12345})
    assert len(set(got)) == 50
    assert all(1024 <= p < start for p in got) and 12345 not in got
    for p in got:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))  # nothing holds it


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        draws = iter([busy, busy, 23456])
        monkeypatch.setattr(ports.random, "randint", lambda a, b: next(draws))
        assert ports.free_port() == 23456
