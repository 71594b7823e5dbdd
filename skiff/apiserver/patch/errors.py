"""The one error type of the patch engines; the API server turns it into a Kubernetes Status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_REASONS = {
    400: "BadRequest",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    422: "Invalid",
}


class PatchError(Exception):
    """A patch that cannot be applied: `code` is the HTTP status (400, 409, 413 or 422).

    `reason` is the Kubernetes Status reason for that code; `causes` holds Status causes
    (server-side apply conflicts list one per conflicting field).
    """

    def __init__(self, message: str, code: int = 422, causes: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = _REASONS.get(code, "BadRequest")
        self.causes: list[dict[str, Any]] = causes or []

    def status(self) -> dict[str, Any]:
        """The Status object Kubernetes answers with (callers may add details.name/kind)."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.causes:
            status["details"] = {"causes": list(self.causes)}
        return status

    def __repr__(self) -> str:
        return f"PatchError({self.message!r}, {self.code})"


def guard_depth(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Python's recursion limit on absurdly nested documents into a 422, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except RecursionError:
            raise PatchError("the object or patch is nested too deeply", 422) from None

    return wrapper
