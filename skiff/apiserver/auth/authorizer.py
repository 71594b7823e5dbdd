"""The authorizer chain of the API server: system:masters, then the node authorizer, then RBAC.

A request is allowed when one of them allows it. RBAC decisions are remembered per (user, request
attributes) until an RBAC object changes; the node authorizer's depend on where pods are bound, so
they are made afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from skiff.apiserver.cache import WatchCache

from . import node
from .attributes import Attributes, forbidden
from .rbac import RBACIndex
from .user import MASTERS

Obj = dict[str, Any]
# Reads one object from the store (plural, namespace, name): the node authorizer's fallback when the
# watch cache has not caught up yet.
Lookup = Callable[[str, str, str], Awaitable[Obj | None]]
CACHE_LIMIT = 20000


class Authorizer:
    def __init__(self, cache: WatchCache, lookup: Lookup | None = None) -> None:
        self.rbac = RBACIndex(cache)
        self.nodes = node.NodeAuthorizer(cache, lookup)
        self._decisions: dict[tuple[Any, ...], bool] = {}
        self._generation = -1

    def rbac_allows(self, a: Attributes) -> bool:
        gen = self.rbac.current_generation()
        if self._generation != gen or len(self._decisions) > CACHE_LIMIT:
            self._decisions = {}
            self._generation = gen
        u = a.user
        key = (u.name, u.groups, a.verb, a.resource_request, a.path, a.namespace, a.api_group,
               a.resource, a.subresource, a.name)  # fmt: skip
        hit = self._decisions.get(key)
        if hit is None:
            hit = self._decisions[key] = self.rbac.allows(a)
        return hit

    async def authorize(self, a: Attributes) -> tuple[bool, str]:
        """(allowed, reason): the reason says why a node was refused."""
        if MASTERS in a.user.groups:
            return True, ""
        reason = ""
        if node.node_name(a.user) is not None:
            allowed, reason = await self.nodes.authorize(a)
            if allowed:
                return True, ""
        return self.rbac_allows(a), reason

    async def check(self, a: Attributes) -> None:
        """Raise 403 Forbidden unless the request is allowed."""
        if MASTERS in a.user.groups:
            return
        allowed, reason = await self.authorize(a)
        if not allowed:
            raise forbidden(a, reason)
