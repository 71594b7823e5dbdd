"""Patch engines of the API server, pure functions over plain JSON values.

- `merge.apply_merge_patch`: application/merge-patch+json (RFC 7386)
- `jsonpatch.apply_json_patch`: application/json-patch+json (RFC 6902)
- `strategic.apply_strategic_patch`: application/strategic-merge-patch+json
- `apply.server_side_apply` / `apply.apply_to_new`: server-side apply (application/apply-patch+yaml,
  body decoded by `apply.parse_apply_body`); `apply.update_managed_fields` records every other
  write (create, update, patch) in metadata.managedFields so later applies see its manager

Every failure is a `PatchError(message, code)` the server turns into a Kubernetes Status
(`PatchError.status()`, with `reason` and, for apply conflicts, `causes`).

Wiring in the API server (what Kubernetes does):
- PATCH merge/JSON/strategic: patch the stored object, default it, then
  `update_managed_fields(old, new, manager, subresource=...)` before storing.
- PATCH apply: `server_side_apply(live or {}, config, manager, force=..., subresource=...)`;
  the object is created when absent (or `apply_to_new`).
- POST and PUT: `update_managed_fields(None or old, new, manager, ...)` after defaulting.
  `manager` is the fieldManager parameter, else the User-Agent up to its first "/".
- For 422 errors from JSON patch, Kubernetes' Status has no details.name/kind, so kubectl
  prints "The request is invalid: <message>" rather than hiding the message.
"""

from skiff.apiserver.patch.apply import (
    apply_to_new,
    parse_apply_body,
    server_side_apply,
    update_managed_fields,
)
from skiff.apiserver.patch.errors import PatchError
from skiff.apiserver.patch.jsonpatch import apply_json_patch
from skiff.apiserver.patch.merge import apply_merge_patch, merge_patch
from skiff.apiserver.patch.strategic import apply_strategic_patch

__all__ = [
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_patch",
    "apply_to_new",
    "merge_patch",
    "parse_apply_body",
    "server_side_apply",
    "update_managed_fields",
]
