"""authorization.k8s.io/v1 access reviews: SubjectAccessReview, LocalSubjectAccessReview,
SelfSubjectAccessReview and SelfSubjectRulesReview (what `kubectl auth can-i [--list]` asks).
Each is answered at once (201 with its status filled in) and never stored."""

from __future__ import annotations

from typing import Any

from skiff.apiserver import errors

from .attributes import Attributes
from .authorizer import Authorizer
from .node import node_name
from .user import UserInfo

Obj = dict[str, Any]
GROUP = "authorization.k8s.io"


def _invalid(kind: str, field: str, value: Any, detail: str) -> errors.APIError:
    msg = f"Invalid value: {value!r}: {detail}".replace("'", '"')
    return errors.invalid(GROUP, kind, "", [{"reason": "FieldValueInvalid", "message": msg, "field": field}])


def _attributes(kind: str, user: UserInfo, spec: Obj, url_namespace: str | None) -> Attributes:
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (ra is None) == (nra is None) or not isinstance(ra or nra, dict):
        raise _invalid(
            kind,
            "spec.resourceAttributes",
            None,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    if isinstance(nra, dict):
        return Attributes(user, str(nra.get("verb") or ""), False, path=str(nra.get("path") or ""))
    assert isinstance(ra, dict)
    ns = str(ra.get("namespace") or "")
    if url_namespace is not None and ns != url_namespace:
        raise _invalid(kind, "spec.resourceAttributes.namespace", ns, "must match metadata.namespace")
    fs = ra.get("fieldSelector") or {}
    return Attributes(
        user,
        str(ra.get("verb") or ""),
        True,
        namespace=ns,
        api_group=str(ra.get("group") or ""),
        api_version=str(ra.get("version") or ""),
        resource=str(ra.get("resource") or ""),
        subresource=str(ra.get("subresource") or ""),
        name=str(ra.get("name") or ""),
        field_selector=str(fs.get("rawSelector") or "") if isinstance(fs, dict) else "",
    )


def _subject(kind: str, spec: Obj) -> UserInfo:
    user, groups = str(spec.get("user") or ""), spec.get("groups") or []
    if not user and not groups:
        raise _invalid(kind, "spec.user", user, "at least one of user or group must be specified")
    extra = spec.get("extra") or {}
    return UserInfo(
        name=user,
        uid=str(spec.get("uid") or ""),
        groups=tuple(str(g) for g in groups),
        extra={str(k): tuple(str(x) for x in v) for k, v in extra.items() if isinstance(v, list)},
    )


async def answer(
    authz: Authorizer, plural: str, requester: UserInfo, body: Obj, url_namespace: str | None
) -> Obj:
    """The review with its status: body is the decoded request (kind and apiVersion checked)."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = body["spec"] = {}
    kind = str(body.get("kind"))
    if plural == "selfsubjectrulesreviews":
        body["status"] = rules_status(authz, requester, str(spec.get("namespace") or ""))
        return body
    if plural in ("subjectaccessreviews", "localsubjectaccessreviews"):
        user = _subject(kind, spec)
    else:
        user = requester
    a = _attributes(kind, user, spec, url_namespace if plural == "localsubjectaccessreviews" else None)
    allowed, reason = await authz.authorize(a)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    body["status"] = status
    return body


def rules_status(authz: Authorizer, user: UserInfo, namespace: str) -> Obj:
    """What the user may do in the namespace (RBAC's rules; a node's come from the node authorizer,
    so its list is marked incomplete)."""
    resource: list[Obj] = []
    non_resource: list[Obj] = []
    seen: set[bytes] = set()
    for r in authz.rbac.rules_for(user, namespace):
        d = r.as_dict()
        key = repr(sorted(d.items())).encode()
        if key in seen:
            continue
        seen.add(key)
        (non_resource if "nonResourceURLs" in d else resource).append(d)
    return {
        "resourceRules": resource,
        "nonResourceRules": non_resource,
        "incomplete": node_name(user) is not None,
    }
