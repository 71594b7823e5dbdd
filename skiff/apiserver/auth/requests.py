"""The authorization attributes of an API request, from its parsed route (Kubernetes' RequestInfo)."""

from __future__ import annotations

from collections.abc import Mapping

from skiff.apiserver import query
from skiff.apiserver.handlers import Route

from .attributes import Attributes, resource_verb
from .user import UserInfo


def route_attributes(
    user: UserInfo,
    r: Route,
    method: str,
    q: Mapping[str, str],
    legacy_watch: bool = False,
    verb: str | None = None,
) -> Attributes:
    info = r.info
    if verb is None:
        verb = resource_verb(method, r.name, legacy_watch or (method == "GET" and query.boolean(q, "watch")))
    name = r.name or ""
    ns = r.namespace or ""
    if not info.group and info.plural == "namespaces" and name:
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
        api_group=info.group,
        api_version=info.version,
        resource=info.plural,
        subresource=r.sub or "",
        name=name,
        field_selector=selector,
    )
