"""Every namespace has a ServiceAccount named `default`, as in Kubernetes (where a controller adds it;
here the API server does when it creates the namespace, so it exists as soon as the namespace does)."""

from __future__ import annotations

import uuid

from skiff.apiserver.storage import encode_for_store
from skiff.apiserver.timeutil import now_rfc3339
from skiff.store import KeyExistsError, Store

DEFAULT = "default"


async def ensure_default(store: Store, namespace: str) -> None:
    obj = {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {
            "name": DEFAULT,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": now_rfc3339(),
        },
    }
    try:
        await store.create(f"/registry/serviceaccounts/{namespace}/{DEFAULT}", encode_for_store(obj))
    except KeyExistsError:
        pass
