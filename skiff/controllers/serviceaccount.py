"""The service accounts controller (kube-controller-manager's, by behaviour): every active namespace has
a ServiceAccount named `default`; deleted, it is created again.

The API server already creates `default` with each namespace (so it exists the moment the namespace
does); this controller repairs what happens after: a deleted `default`, namespaces from before that.
A namespace being terminated is left alone (the API server would refuse the create anyway).
"""

from __future__ import annotations

import logging

from skiff.api.core import Namespace, ServiceAccount
from skiff.api.meta import ObjectMeta
from skiff.client.informer import InformerFactory
from skiff.client.rest import ApiError, Client

from .workqueue import WorkQueue

log = logging.getLogger("skiff.controllers.serviceaccount")

DEFAULT = "default"


class ServiceAccountsController:
    def __init__(self, client: Client, factory: InformerFactory) -> None:
        self.client = client
        self.queue = WorkQueue()
        self.namespaces = factory.informer(Namespace)
        self.accounts = factory.informer(ServiceAccount)
        self.namespaces.add_handler(
            on_add=lambda ns: self.queue.add(ns.metadata.name or ""),
            on_update=lambda _o, ns: self.queue.add(ns.metadata.name or ""),
        )
        self.accounts.add_handler(on_delete=self._account_gone)
        self.created = 0

    def _account_gone(self, sa: ServiceAccount) -> None:
        if sa.metadata.name == DEFAULT:
            self.queue.add(sa.metadata.namespace or "")

    async def run(self) -> None:
        try:
            await self.queue.serve(self.sync, log, "cannot ensure the default service account", "namespace")
        finally:
            self.queue.shutdown()

    async def sync(self, name: str) -> None:
        ns = self.namespaces.get(name)
        if ns is None or ns.metadata.deletion_timestamp or (ns.status and ns.status.phase != "Active"):
            return
        if self.accounts.get(DEFAULT, name) is not None:
            return
        try:
            await self.client.create(ServiceAccount(metadata=ObjectMeta(name=DEFAULT, namespace=name)))
        except ApiError as e:
            # Already there (the informer trails), the namespace gone or terminating: nothing to do.
            if e.already_exists or e.not_found or _terminating(e):
                return
            raise
        self.created += 1
        log.info("created the default service account", extra={"kv": {"namespace": name}})


def _terminating(e: ApiError) -> bool:
    return e.code == 403 and any(
        c.get("reason") == "NamespaceTerminating" for c in e.details.get("causes") or ()
    )
