"""The checker itself, on histories whose answer is known (Herlihy & Wing's and Knossos' examples)."""

from __future__ import annotations

import random

from bench.chaos.linearizability import Op, check


def test_sequential_history() -> None:
    h = [
        Op(0, "write", 0, 1, arg="a"),
        Op(0, "read", 2, 3, result="a"),
        Op(0, "cas", 4, 5, arg=("a", "b"), result=True),
        Op(0, "cas", 6, 7, arg=("a", "c"), result=False),
        Op(0, "read", 8, 9, result="b"),
    ]
    assert check(h).linearizable


def test_stale_read_after_a_completed_write_is_not_linearizable() -> None:
    h = [Op(0, "write", 0, 1, arg="a"), Op(1, "write", 2, 3, arg="b"), Op(2, "read", 4, 5, result="a")]
    assert not check(h).linearizable


def test_concurrent_operations_may_take_effect_in_either_order() -> None:
    h = [
        Op(0, "write", 0, 10, arg="a"),
        Op(1, "write", 1, 10, arg="b"),
        Op(2, "read", 2, 3, result="b"),
        Op(3, "read", 4, 5, result="a"),
    ]
    assert check(h).linearizable
    # ... but a register cannot go back: b, a, b needs a third write.
    h.append(Op(2, "read", 6, 7, result="b"))
    assert not check(h).linearizable


def test_two_successful_cas_from_one_value_is_not_linearizable() -> None:
    h = [
        Op(0, "write", 0, 1, arg="x"),
        Op(1, "cas", 2, 5, arg=("x", "y"), result=True),
        Op(2, "cas", 3, 6, arg=("x", "z"), result=True),
    ]
    assert not check(h).linearizable


def test_a_write_with_unknown_outcome_may_or_may_not_have_happened() -> None:
    lost = [
        Op(0, "write", 0, 1, arg="a"),
        Op(1, "write", 2, ok=False, arg="b"),
        Op(2, "read", 5, 6, result="a"),
    ]
    assert check(lost).linearizable
    done = [
        Op(0, "write", 0, 1, arg="a"),
        Op(1, "write", 2, ok=False, arg="b"),
        Op(2, "read", 5, 6, result="b"),
    ]
    assert check(done).linearizable
    # An unknown write cannot take effect before it was sent.
    early = [Op(2, "read", 0, 1, result="b"), Op(1, "write", 2, ok=False, arg="b")]
    assert not check(early).linearizable


def test_an_acknowledged_write_lost_is_not_linearizable() -> None:
    h = [Op(0, "write", 0, 1, arg="a"), Op(0, "write", 2, 3, arg="b"), Op(1, "read", 10, 11, result="a")]
    assert not check(h).linearizable


def test_a_random_sequentially_consistent_register_history_checks_quickly() -> None:
    # Operations applied atomically at a random instant inside their interval: always linearizable.
    rng = random.Random(7)
    state, h, t = "v0", [], 0.0
    for n in range(300):
        call = t + rng.random()
        at = call + rng.random()
        kind = rng.choice(["read", "write", "cas"])
        if kind == "read":
            op = Op(n % 4, "read", call, at + rng.random(), result=state)
        elif kind == "write":
            state = f"v{n}"
            op = Op(n % 4, "write", call, at + rng.random(), arg=state)
        else:
            expected = state if rng.random() < 0.5 else "nope"
            success = expected == state
            if success:
                state = f"v{n}"
            op = Op(n % 4, "cas", call, at + rng.random(), arg=(expected, f"v{n}"), result=success)
        h.append(op)
        t = at
    verdict = check(h, initial="v0")
    assert verdict.linearizable, verdict
    assert verdict.ops == 300
