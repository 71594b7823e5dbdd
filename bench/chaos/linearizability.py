"""A linearizability checker for histories of one register with read, write and compare-and-set.

Wing & Gong's search with Lowe's memoisation, as Knossos does it: repeatedly pick an operation that
may take effect next (one invoked before the earliest pending return), apply it to the model, and
backtrack on contradiction; a configuration (set of operations applied, register value) seen before is
not explored twice. An operation whose outcome the client never learned (timeout, broken connection,
5xx) has its return at infinity and may take effect at any point after its call, or never.

Linearizability is local (Herlihy & Wing): a history over several keys is linearizable iff each key's
sub-history is, so callers split by key and keep each history small (a few hundred operations).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["read", "write", "cas"]


@dataclass(frozen=True)
class Op:
    """One client operation on the register.

    read: ``result`` is the value seen (None: absent). write: ``arg`` the value written.
    cas: ``arg`` is (expected, new), ``result`` whether it succeeded. ``ok`` False: outcome unknown.
    """

    process: int
    kind: Kind
    call: float
    ret: float = math.inf
    arg: Any = None
    result: Any = None
    ok: bool = True


@dataclass
class Verdict:
    linearizable: bool
    ops: int
    explored: int  # configurations visited
    detail: str = ""


def _apply(state: Hashable, op: Op) -> tuple[bool, Hashable]:
    """Whether ``op`` may take effect on ``state`` with the result it had, and the state after."""
    if op.kind == "read":
        return state == op.result, state
    if op.kind == "write":
        return True, op.arg
    expected, new = op.arg
    if not op.ok:  # an unknown cas that takes effect must have succeeded
        return state == expected, new
    if op.result:
        return state == expected, new
    return state != expected, state


def check(history: Iterable[Op], initial: Hashable = None, max_configs: int = 2_000_000) -> Verdict:
    # Unknown reads constrain nothing; a failed read never happened.
    ops = sorted((o for o in history if o.ok or o.kind != "read"), key=lambda o: o.call)
    required = 0
    for i, o in enumerate(ops):
        if o.ok:
            required |= 1 << i
    seen: set[tuple[int, Hashable]] = set()
    explored = 0

    def search(done: int, state: Hashable) -> bool:
        nonlocal explored
        if done & required == required:
            return True
        if (done, state) in seen:
            return False
        seen.add((done, state))
        explored += 1
        if explored > max_configs:
            raise OverflowError
        horizon = min(o.ret for i, o in enumerate(ops) if o.ok and not done >> i & 1)
        for i, o in enumerate(ops):
            if o.call > horizon:
                break
            if done >> i & 1:
                continue
            legal, after = _apply(state, o)
            if legal and search(done | 1 << i, after):
                return True
        return False

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(ops) + 1000))
    try:
        ok = search(0, initial)
    except OverflowError:
        return Verdict(False, len(ops), explored, f"gave up after {max_configs} configurations")
    finally:
        sys.setrecursionlimit(limit)
    return Verdict(ok, len(ops), explored, "" if ok else "no linearization exists")
