"""The node authorizer: what a kubelet (user system:node:NODE in group system:nodes) may do.

A node reads and updates its own Node and its own Lease in kube-node-lease, reads the pods bound to
it (lists and watches only with fieldSelector spec.nodeName=NODE), updates their status and deletes
them (it confirms graceful deletion), writes events, and creates TokenReviews and SubjectAccessReviews
(its own server asks the API server who a caller is and what it may do). Creating is checked by
NodeRestriction (node_restriction.py), which sees the object. Anything else gets no opinion here:
RBAC decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from skiff.api import fields
from skiff.apiserver.cache import WatchCache

from .attributes import Attributes
from .user import UserInfo

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], Awaitable[Obj | None]]

NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
LEASE_NAMESPACE = "kube-node-lease"
READ = frozenset({"get", "list", "watch"})
WRITE = frozenset({"update", "patch"})
EVENT_VERBS = frozenset({"create", "update", "patch"})
NO = (False, "")
REVIEWS = frozenset(
    {
        ("authentication.k8s.io", "tokenreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
    }
)


def node_name(user: UserInfo) -> str | None:
    """The node a user is the kubelet of, or None."""
    if user.name.startswith(NODE_PREFIX) and NODES_GROUP in user.groups:
        return user.name[len(NODE_PREFIX) :] or None
    return None


def _no_relation(node: str) -> tuple[bool, str]:
    return False, f"no relationship found between node '{node}' and this object"


def _pinned(a: Attributes, field: str) -> str | None:
    try:
        return fields.parse(a.field_selector).requires_exact(field) if a.field_selector else None
    except fields.FieldSelectorError:
        return None


class NodeAuthorizer:
    def __init__(self, cache: WatchCache, lookup: Lookup | None = None) -> None:
        self.cache = cache
        self.lookup = lookup

    async def authorize(self, a: Attributes) -> tuple[bool, str]:
        node = node_name(a.user)
        if node is None or not a.resource_request:
            return NO
        g, res, v = a.api_group, a.resource, a.verb
        if res == "events" and g in ("", "events.k8s.io"):
            return (v in EVENT_VERBS, "")
        if g == "" and res == "nodes":
            return self._own(a, node, "metadata.name", create=True, delete=True)
        if g == "coordination.k8s.io" and res == "leases":
            if a.namespace != LEASE_NAMESPACE:
                return NO
            return self._own(a, node, "metadata.name", create=True, delete=True)
        if g == "" and res == "namespaces":
            return (v == "get" and not a.subresource, "")
        if g == "" and res == "pods":
            return await self._pods(a, node)
        if (g, res) in REVIEWS:
            # The kubelet checks callers of its own server with the API server (Kubernetes' node rules).
            return (v == "create" and not a.subresource, "")
        return NO

    @staticmethod
    def _own(a: Attributes, node: str, name_field: str, create: bool, delete: bool) -> tuple[bool, str]:
        """Its own object (by name): read, update, and create/delete when allowed."""
        v = a.verb
        if v in ("list", "watch"):
            return (True, "") if _pinned(a, name_field) == node else _no_relation(node)
        if v == "create":
            return (create and not a.subresource, "")  # NodeRestriction checks the name
        if a.name != node:
            return _no_relation(node)
        if v == "get" or v in WRITE or (delete and v == "delete" and not a.subresource):
            return True, ""
        return NO

    async def _pods(self, a: Attributes, node: str) -> tuple[bool, str]:
        v = a.verb
        if v in ("list", "watch"):
            return (True, "") if _pinned(a, "spec.nodeName") == node else _no_relation(node)
        if v == "create":
            return (not a.subresource, "")  # NodeRestriction: mirror pods bound to itself only
        allowed = (v == "get" and a.subresource in ("", "status")) or (
            (v in WRITE and a.subresource == "status") or (v == "delete" and not a.subresource)
        )
        if not allowed:
            return NO
        if await self._bound(a.namespace, a.name, node):
            return True, ""
        return _no_relation(node)

    async def _bound(self, ns: str, name: str, node: str) -> bool:
        c = self.cache.resource("pods").objects.get(f"{ns}/{name}")
        if c is not None and (c.obj.get("spec") or {}).get("nodeName") == node:
            return True
        # The cache may lag behind the store (another API server bound it): ask the store.
        if self.lookup is None:
            return False
        pod = await self.lookup("pods", ns, name)
        return pod is not None and (pod.get("spec") or {}).get("nodeName") == node
