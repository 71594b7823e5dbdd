"""The authorization attributes of an API request (Kubernetes' RequestInfo): from its parsed route, or
from the path alone when it routes to nothing (so that a user without the right gets 403 before anyone
learns whether the resource exists)."""

from __future__ import annotations

from collections.abc import Mapping

from skiff.apiserver import query
from skiff.apiserver.handlers import Route

from .attributes import Attributes, non_resource, resource_verb
from .user import UserInfo

# Subresources of a namespace itself: /api/v1/namespaces/NS/status is namespaces/status, not a
# resource "status" in NS (Kubernetes' namespaceSubresources).
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def route_attributes(
    user: UserInfo,
    r: Route,
    method: str,
    q: Mapping[str, str],
    legacy_watch: bool = False,
    verb: str | None = None,
) -> Attributes:
    info = r.info
    parts = (info.group, info.version, info.plural, r.namespace or "", r.name or "", r.sub or "")
    return _resource(user, method, q, legacy_watch, verb, *parts)


def path_attributes(user: UserInfo, method: str, path: str, q: Mapping[str, str]) -> Attributes:
    """Attributes read from the path as Kubernetes reads it, whatever the server serves:
    /api/V/[watch/][namespaces/NS/]RESOURCE[/NAME[/SUB]] and /apis/G/V/...; anything shorter is a
    non-resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return non_resource(user, method, path)
    group, version, rest = ("", parts[1], parts[2:]) if parts[0] == "api" else (parts[1], parts[2], parts[3:])
    watch = rest[0] == "watch"
    if watch:
        rest = rest[1:]
        if not rest:
            return non_resource(user, method, path)
    ns = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        ns = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource, name, sub = [*rest, "", ""][:3]
    return _resource(user, method, q, watch, None, group, version, resource, ns, name, sub)


def _resource(
    user: UserInfo,
    method: str,
    q: Mapping[str, str],
    legacy_watch: bool,
    verb: str | None,
    group: str,
    version: str,
    resource: str,
    ns: str,
    name: str,
    sub: str,
) -> Attributes:
    if verb is None:
        verb = resource_verb(method, name, legacy_watch or (method == "GET" and query.boolean(q, "watch")))
    if not group and resource == "namespaces" and name:
        ns = name  # a namespace is inside itself, so a RoleBinding there may grant reading it
    selector = ""
    if verb in ("list", "watch"):
        selector = q.get("fieldSelector", "")
        # A list or watch of one object by name is authorized as for that name (resourceNames rules).
        for term in selector.split(","):
            k, _, v = term.partition("=")
            v = v[1:] if v.startswith("=") else v
            if k.strip() == "metadata.name" and v:
                name = v.strip()
    return Attributes(
        user,
        verb,
        True,
        namespace=ns,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=sub,
        name=name,
        field_selector=selector,
    )
