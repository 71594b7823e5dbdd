"""JSON merge patch (RFC 7386), content type application/merge-patch+json."""

from __future__ import annotations

from typing import Any

from skiff.apiserver.patch.errors import PatchError, guard_depth
from skiff.apiserver.patch.jsonvalue import deep_copy

CONTENT_TYPE = "application/merge-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(target, patch); neither argument is modified.

    An object patch merges key by key (null removes a key, nested objects merge recursively,
    anything else replaces); a non-object patch replaces the whole target.
    """
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = deep_copy(value)
    return result


@guard_depth
def apply_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a merge patch to a Kubernetes object; the patch must be a JSON object (else 400)."""
    if not isinstance(patch, dict):
        raise PatchError("Invalid JSON Patch: a merge patch for an object must be a JSON object", 400)
    # Copy first so the result shares nothing with the caller's object.
    result = merge_patch(deep_copy(obj), patch)
    assert isinstance(result, dict)
    return result
