"""PATCH and field validation: the patch engines (skiff.apiserver.patch) wired into the verb.

Content types: application/merge-patch+json, application/json-patch+json,
application/strategic-merge-patch+json, application/apply-patch+yaml (server-side apply; creates the
object when absent). fieldValidation=Strict rejects unknown fields (400), Warn answers with a Warning
header, Ignore drops them silently.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from skiff.apiserver import errors, negotiate, query
from skiff.apiserver.handlers import Handlers, Route, field_manager
from skiff.apiserver.negotiate import Output
from skiff.apiserver.patch import apply as ssa
from skiff.apiserver.resources import Obj, ResourceInfo

MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"


def _kind_type(info: ResourceInfo) -> Any:
    try:
        from skiff.api import kinds
    except ImportError:
        return None
    k = kinds.by_resource(info.group, info.version, info.plural)
    return None if k is None else k.type


def unknown_fields(info: ResourceInfo, body: Obj) -> list[str]:
    tp = _kind_type(info)
    if tp is None:
        return []
    from skiff.api import codec

    return codec.unknown_fields(tp, body)


def check_fields(
    info: ResourceInfo, body: Any, request: Request, warnings: list[str], sub: str | None
) -> Any:
    """Apply fieldValidation to a create/update body (Strict by default for kubectl's requests)."""
    mode = request.query_params.get("fieldValidation", "")
    if mode not in ("", "Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", "Warn"'
        )
    if not isinstance(body, dict) or sub in ("binding", "eviction", "token") or info.plural == "bindings":
        return body
    if mode == "Ignore":
        return body
    unknown = unknown_fields(info, body)
    if not unknown:
        return body
    if mode == "Strict":
        raise errors.bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown)
        )
    for p in unknown:
        warnings.append(f'unknown field "{p}"')
    return body


def _engine(name: str) -> Any:
    """A patch engine module, or None while it has not landed."""
    try:
        return importlib.import_module(f"skiff.apiserver.patch.{name}")
    except ImportError:
        return None


def _engine_error(e: Exception, info: ResourceInfo, name: str) -> errors.APIError:
    code = getattr(e, "code", 422)
    reason = getattr(e, "reason", "Invalid")
    message = getattr(e, "message", str(e))
    details: dict[str, Any] = {"name": name, "kind": info.plural}
    causes = getattr(e, "causes", None)
    if causes:
        details["causes"] = causes
    return errors.APIError(code, reason, message, details)


def _parse(ctype: str, raw: bytes) -> Any:
    if ctype == APPLY:
        from skiff.apiserver.patch.errors import PatchError

        try:
            return ssa.parse_apply_body(raw)
        except PatchError as e:
            raise errors.APIError(e.code, e.reason, e.message) from None
    return negotiate.parse_body(raw, "application/json")


def apply_patch(info: ResourceInfo, ctype: str, current: Obj, patch: Any, request: Request) -> Obj:
    from skiff.apiserver import patch as engines
    from skiff.apiserver.patch.errors import PatchError

    name = (current.get("metadata") or {}).get("name", "")
    try:
        if ctype == MERGE:
            return engines.apply_merge_patch(current, patch)
        if ctype == JSONPATCH:
            result = engines.apply_json_patch(current, patch)
            if not isinstance(result, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            return result
        if ctype == STRATEGIC:
            strategic = _engine("strategic")
            if strategic is None:
                raise errors.unsupported_media_type(ctype)
            result = strategic.apply_strategic_patch(current, patch, info.kind)
            if not isinstance(result, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            return result
        if ctype == APPLY:
            return _server_side_apply(info, current, patch, request)
    except PatchError as e:
        raise _engine_error(e, info, name) from None
    raise errors.unsupported_media_type(ctype)


def _server_side_apply(info: ResourceInfo, current: Obj, patch: Any, request: Request) -> Obj:
    manager = request.query_params.get("fieldManager")
    if not manager:
        raise errors.bad_request(
            "PATCH requests with apply content type require a fieldManager query parameter"
        )
    force = query.boolean(request.query_params, "force")
    sub = _subresource(request)
    if not current:
        return ssa.apply_to_new(patch, manager, subresource=sub, kind=info.kind)
    return ssa.server_side_apply(current, patch, manager, force=force, subresource=sub, kind=info.kind)


def _subresource(request: Request) -> str:
    return "status" if request.scope["path"].rstrip("/").endswith("/status") else ""


async def patch(
    h: Handlers, r: Route, request: Request, out: Output, raw: Any, warnings: list[str]
) -> Response:
    info = r.info
    assert r.name is not None
    ctype = negotiate.media_type(request)
    if ctype not in (MERGE, JSONPATCH, STRATEGIC, APPLY):
        raise errors.unsupported_media_type(ctype)
    if not raw or not bytes(raw).strip():
        raise errors.bad_request("the request body is empty")
    body = _parse(ctype, raw)
    if ctype == JSONPATCH and not isinstance(body, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp")
    if ctype in (MERGE, STRATEGIC, APPLY) and not isinstance(body, dict):
        raise errors.bad_request("the patch must be a JSON object")
    if ctype == APPLY:
        body = h.decode_body(info, body, r)
        if body["metadata"].get("name") not in (None, r.name):
            raise errors.bad_request(
                f"the name of the object ({body['metadata']['name']}) does not match "
                f"the name on the URL ({r.name})"
            )
        body = check_fields(info, body, request, warnings, r.sub)
    sub = r.sub

    async def mutate(old: Obj) -> Obj | None:
        view = h.storage.view(info, old)
        patched = apply_patch(info, ctype, copy.deepcopy(view), body, request)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        if ctype != APPLY:
            check_fields(info, patched, request, warnings, sub)
        patched.setdefault("metadata", {})
        if not isinstance(patched["metadata"], dict):
            raise errors.bad_request("metadata must be an object")
        patched = h.to_stored(info, patched)
        # A resourceVersion the patch itself carries is a precondition; otherwise it is the read one.
        pm = patched["metadata"]
        if pm.get("resourceVersion") in (None, ""):
            pm["resourceVersion"] = old["metadata"].get("resourceVersion")
        return h.prepare_update(info, patched, old, sub, None if ctype == APPLY else field_manager(request))

    try:
        res, _ = await h.update_with(r, request, mutate)
    except errors.APIError as e:
        if e.code == 404 and ctype == APPLY and sub is None:
            obj = apply_patch(info, ctype, {}, body, request)
            obj = h.decode_body(info, obj, r)
            obj["metadata"]["name"] = r.name
            created = await h.create_object(info, obj, request, warnings, track=False)
            return h.render_one(info, created, out, 201)
        raise
    return h.render_one(info, res, out)
