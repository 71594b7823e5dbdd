"""Namespace termination on the API server's side, as in Kubernetes.

- DELETE of a namespace only marks it: metadata.deletionTimestamp and status.phase Terminating. The
  namespace controller (skiff/controllers/namespace.py) deletes its content through the API, then
  removes the `kubernetes` finalizer with PUT namespaces/NAME/finalize; a namespace being deleted
  with no finalizer left (spec.finalizers and metadata.finalizers) goes at once.
- A second DELETE while spec.finalizers remain is 409 Conflict, with Kubernetes' message.
- NamespaceLifecycle admission: no creates in a terminating namespace (403, cause
  NamespaceTerminating); default, kube-system and kube-public may not be deleted (403).
"""

from __future__ import annotations

from typing import Any

from skiff.apiserver import errors
from skiff.apiserver.resources import Obj, ResourceInfo
from skiff.apiserver.timeutil import now_rfc3339

PROTECTED = ("default", "kube-system", "kube-public")
TERMINATING = "Terminating"
STILL_FINALIZING = (
    "The system is ensuring all content is removed from this namespace.  Upon completion, this "
    "namespace will automatically be purged by the system."
)
# Creates always allowed in a terminating namespace: answering them leaks nothing about it.
ACCESS_REVIEWS = (("authorization.k8s.io", "localsubjectaccessreviews"),)


def is_namespace(info: ResourceInfo) -> bool:
    return info.plural == "namespaces" and not info.group


def spec_finalizers(obj: Obj) -> list[Any]:
    return list((obj.get("spec") or {}).get("finalizers") or [])


def is_terminating(obj: Obj | None) -> bool:
    return obj is not None and (obj.get("status") or {}).get("phase") == TERMINATING


def finalized(obj: Obj) -> bool:
    """A namespace being deleted that nothing holds any more: it goes."""
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and not spec_finalizers(obj)


def refuse_protected(name: str) -> None:
    if name in PROTECTED:
        raise errors.APIError(
            403,
            "Forbidden",
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            {"name": name, "kind": "namespaces"},
        )


def admit_create(info: ResourceInfo, namespace: Obj | None, name: str) -> None:
    """NamespaceLifecycle for a create (or a create subresource such as pods/binding)."""
    if not is_terminating(namespace) or (info.group, info.plural) in ACCESS_REVIEWS:
        return
    assert namespace is not None
    ns = namespace["metadata"]["name"]
    why = f"unable to create new content in namespace {ns} because it is being terminated"
    resource = f"{info.plural}.{info.group}" if info.group else info.plural
    message = f'{resource} "{name}" is forbidden: {why}' if name else f"{resource} is forbidden: {why}"
    details: dict[str, Any] = {"name": name} if name else {}
    if info.group:
        details["group"] = info.group
    details["kind"] = info.plural
    details["causes"] = [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {ns} is being terminated",
            "field": "metadata.namespace",
        }
    ]
    raise errors.APIError(403, "Forbidden", message, details)


def mark_terminating(ns: Obj) -> Obj | None:
    """A first DELETE: deletionTimestamp and phase Terminating (None: already so)."""
    meta = ns["metadata"]
    if meta.get("deletionTimestamp") and is_terminating(ns):
        return None
    meta.setdefault("deletionTimestamp", now_rfc3339())
    status = ns.get("status")
    if not isinstance(status, dict):
        status = ns["status"] = {}
    status["phase"] = TERMINATING
    return ns
