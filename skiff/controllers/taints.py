"""Taints and tolerations as the node lifecycle controller needs them (Kubernetes' matching rules).

A toleration tolerates a taint when its effect is empty or equal, its key is empty or equal, and with
operator Exists it ignores the value, with Equal (or empty) the values must match. An empty key with
Exists tolerates every taint.
"""

from __future__ import annotations

from collections.abc import Iterable

from skiff.api.core import Taint, Toleration

NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

# Taints this controller owns: it adds and removes them, and leaves every other taint alone.
OWNED = {
    (TAINT_NOT_READY, NO_EXECUTE),
    (TAINT_UNREACHABLE, NO_EXECUTE),
    (TAINT_NOT_READY, NO_SCHEDULE),
    (TAINT_UNREACHABLE, NO_SCHEDULE),
    (TAINT_UNSCHEDULABLE, NO_SCHEDULE),
}


def tolerates(tol: Toleration, taint: Taint) -> bool:
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    op = tol.operator or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (tol.value or "") == (taint.value or "")
    return False


def matching_tolerations(
    tolerations: Iterable[Toleration] | None, taints: Iterable[Taint]
) -> tuple[bool, list[Toleration]]:
    """(every taint tolerated, the first toleration found for each taint)."""
    tols = list(tolerations or ())
    used: list[Toleration] = []
    for taint in taints:
        for tol in tols:
            if tolerates(tol, taint):
                used.append(tol)
                break
        else:
            return False, []
    return True, used


def min_toleration_seconds(used: Iterable[Toleration]) -> float | None:
    """How long the pod may stay: the smallest tolerationSeconds (negative counts as 0), or None
    (forever) when no used toleration sets one."""
    best: float | None = None
    for tol in used:
        if tol.toleration_seconds is None:
            continue
        secs = max(0.0, float(tol.toleration_seconds))
        if best is None or secs < best:
            best = secs
    return best
