"""ClusterRole aggregation: an aggregated ClusterRole (admin, edit, view, or any with an
aggregationRule) stores the union of the rules of the ClusterRoles its selectors pick, rewritten
whenever a ClusterRole changes, so `kubectl describe clusterrole admin` shows what it grants.
The authorizer computes the same union itself and never waits for this write."""

from __future__ import annotations

import asyncio
import logging

from skiff.apiserver.cache import WatchCache
from skiff.apiserver.storage import encode_for_store
from skiff.store import ConflictError, KeyNotFoundError, Store

from .rbac import RBACIndex, rules_of

log = logging.getLogger("skiff.apiserver.auth")


class Aggregator:
    def __init__(self, store: Store, cache: WatchCache, index: RBACIndex) -> None:
        self.store = store
        self.cache = cache
        self._task: asyncio.Task[None] | None = None
        index.on_cluster_roles = self.poke

    def poke(self) -> None:
        """A ClusterRole changed: aggregate soon (once for a burst of changes)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        await asyncio.sleep(0)  # let the rest of the watch batch land first
        cached = list(self.cache.resource("clusterroles").objects.values())
        roles = {str(c.obj["metadata"].get("name")): c.obj for c in cached}
        for c in cached:
            if not isinstance(c.obj.get("aggregationRule"), dict):
                continue
            want = rules_of(c.obj, roles)
            if want == (c.obj.get("rules") or []):
                continue
            new = {**c.obj, "rules": want}
            try:
                await self.store.update(c.key, encode_for_store(new), c.rv)
            except (ConflictError, KeyNotFoundError):
                pass  # changed meanwhile: that change pokes again
            except Exception as e:  # the store is away: the next change retries
                log.warning("aggregating clusterrole %s failed: %s", c.obj["metadata"].get("name"), e)
