"""Pod subresources handled here: binding and eviction (status goes through the update path; log
and exec are proxied to the kubelet, see proxy.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from skiff.apiserver import errors, namespaces, negotiate
from skiff.apiserver.handlers import Handlers, Route, delete_options
from skiff.apiserver.resources import Obj
from skiff.apiserver.timeutil import now_rfc3339


async def bind(h: Handlers, r: Route, request: Request, body: Any) -> Response:
    """POST pods/NAME/binding (or bindings): sets spec.nodeName and the PodScheduled condition."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a Binding object")
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    name = r.name or meta.get("name")
    if not name:
        raise errors.invalid(
            "",
            "Binding",
            "",
            [{"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.name"}],
        )
    if r.name and meta.get("name") and meta["name"] != r.name:
        raise errors.bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({r.name})"
        )
    target = body.get("target") or {}
    node = target.get("name") if isinstance(target, dict) else None
    if not node or not isinstance(node, str):
        raise errors.invalid(
            "",
            "Binding",
            name,
            [{"reason": "FieldValueRequired", "message": "Required value", "field": "target.name"}],
        )
    if target.get("kind") not in (None, "", "Node"):
        raise errors.invalid(
            "",
            "Binding",
            name,
            [
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "'
                    + str(target.get("kind"))
                    + '": supported values: "Node"',
                    "field": "target.kind",
                }
            ],
        )
    pods = h.by_store_plural["pods"]
    # NamespaceLifecycle: a binding is a create, refused in a terminating namespace.
    namespaces.admit_create(pods, await h.require_namespace(r.namespace or ""), name)
    want_uid = meta.get("uid")

    async def mutate(pod: Obj) -> Obj | None:
        pm = pod["metadata"]
        if want_uid and pm.get("uid") != want_uid:
            raise errors.conflict(
                "",
                "pods",
                name,
                f"Precondition failed: UID in precondition: {want_uid}, UID in object meta: {pm.get('uid')}",
            )
        if pm.get("deletionTimestamp"):
            raise errors.conflict("", "pods", name, "pod is being deleted, cannot be assigned to a host")
        spec = pod.setdefault("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict(
                "", "pods", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            )
        spec["nodeName"] = node
        status = pod.setdefault("status", {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": now_rfc3339(),
            }
        )
        status["conditions"] = conds
        # Annotations on the Binding are copied to the pod, as Kubernetes does.
        notes = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(notes, dict):
            pm.setdefault("annotations", {}).update({str(k): str(v) for k, v in notes.items()})
        return pod

    # The pod is almost always current in the watch cache (the scheduler saw it there): no store read.
    await h.storage.update(pods, r.namespace or "", name, mutate, cached_first=True)
    return negotiate.respond(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


async def evict(h: Handlers, r: Route, request: Request, body: Any) -> Response:
    """POST pods/NAME/eviction: deletes the pod as a DELETE with the eviction's options would
    (no disruption budgets in skiff yet)."""
    assert r.name is not None
    if body is not None and not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be an Eviction object")
    opts = delete_options((body or {}).get("deleteOptions"), request)
    await h.delete_object(r.info, r.namespace or "", r.name, opts, request)
    return negotiate.respond(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )
