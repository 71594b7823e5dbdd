"""What a request asks to do, as an authorizer sees it (Kubernetes' authorizer.Attributes), and the
403 Forbidden that refuses it."""

from __future__ import annotations

from dataclasses import dataclass

from skiff.apiserver import errors

from .user import UserInfo


@dataclass(frozen=True, slots=True)
class Attributes:
    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""  # non-resource requests: the URL path
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    # list/watch: the request's field selector, so that a node may list only the pods bound to it
    field_selector: str = ""


def resource_verb(method: str, name: str | None, watch: bool) -> str:
    """The API verb of a resource request (HTTP method, whether it names an object, ?watch)."""
    if method == "GET" or method == "HEAD":
        if watch:
            return "watch"
        return "get" if name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return method.lower()


def non_resource(user: UserInfo, method: str, path: str) -> Attributes:
    verb = {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}
    return Attributes(user, verb.get(method, method.lower()), False, path=path)


def forbidden_text(a: Attributes) -> str:
    """Kubernetes' wording of a refusal, e.g. 'User "u" cannot get resource "pods" in API group ""
    in the namespace "ns"'."""
    who = a.user.name
    if not a.resource_request:
        return f'User "{who}" cannot {a.verb} path "{a.path}"'
    res = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    return f'User "{who}" cannot {a.verb} resource "{res}" in API group "{a.api_group}" {where}'


def forbidden(a: Attributes, reason: str = "") -> errors.APIError:
    """403 Forbidden: '<resource>[ "<name>"] is forbidden: <why>'."""
    why = forbidden_text(a)
    if reason:
        why = f"{why}: {reason}"
    if not a.resource_request:
        return errors.APIError(403, "Forbidden", f"forbidden: {why}", {})
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    details: dict[str, str] = {}
    if a.name:
        details["name"] = a.name
        message = f'{qualified} "{a.name}" is forbidden: {why}'
    else:
        message = f"{qualified} is forbidden: {why}"
    if a.api_group:
        details["group"] = a.api_group
    details["kind"] = a.resource
    return errors.APIError(403, "Forbidden", message, details)
