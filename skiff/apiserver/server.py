"""`skiff apiserver`: open the store, fill the watch cache, seed the initial objects, serve HTTP.

Transport security and authentication come later: ``serve`` takes plain host/port now, and the
kubeconfig written to DATA_DIR carries the URL clients should use; both are the seam where TLS
certificates and credentials will go.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Any

import uvicorn
import yaml

from skiff.apiserver import catalog, gctune, ui
from skiff.apiserver.app import API
from skiff.apiserver.auth import bootstrap
from skiff.apiserver.cache import WatchCache
from skiff.apiserver.handlers import Handlers
from skiff.apiserver.http import HTTPProtocol
from skiff.apiserver.storage import encode_for_store
from skiff.apiserver.timeutil import now_rfc3339
from skiff.store import KeyExistsError, Store, StoreError, open_store

log = logging.getLogger("skiff.apiserver")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SYSTEM_PRIORITY_CLASSES = (
    (
        "system-node-critical",
        2000001000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2000000000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node "
        "if necessary.",
    ),
)


def kubeconfig(url: str) -> dict[str, Any]:
    """An admin kubeconfig for ``url`` (no credentials yet: authentication is a later issue)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "skiff", "cluster": {"server": url}}],
        "users": [{"name": "admin", "user": {}}],
        "contexts": [
            {"name": "skiff", "context": {"cluster": "skiff", "user": "admin", "namespace": "default"}}
        ],
        "current-context": "skiff",
        "preferences": {},
    }


def write_kubeconfig(data_dir: str, url: str) -> str:
    path = os.path.join(data_dir, "kubeconfig")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(kubeconfig(url), f, sort_keys=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


async def seed(store: Store) -> None:
    """The objects a cluster has from the start; safe to run on every start and from every server."""
    for ns in INITIAL_NAMESPACES:
        obj: dict[str, Any] = {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": ns,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now_rfc3339(),
                "labels": {"kubernetes.io/metadata.name": ns},
                "generation": 1,
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        try:
            await store.create(f"/registry/namespaces/{ns}", encode_for_store(obj))
        except KeyExistsError:
            pass
    for name, value, desc in SYSTEM_PRIORITY_CLASSES:
        pc: dict[str, Any] = {
            "kind": "PriorityClass",
            "apiVersion": "scheduling.k8s.io/v1",
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now_rfc3339(),
                "generation": 1,
            },
            "value": value,
            "description": desc,
            "preemptionPolicy": "PreemptLowerPriority",
        }
        try:
            await store.create(f"/registry/priorityclasses/{name}", encode_for_store(pc))
        except KeyExistsError:
            pass
    await bootstrap.seed(store)


def build(store: Store, server_address: str) -> tuple[API, WatchCache]:
    resources = catalog.build()
    cache = WatchCache(store, {r.store_plural: r.namespaced for r in resources})
    handlers = Handlers(store, cache, resources)
    return API(handlers, resources, server_address), cache


async def serve(
    data_dir: str, store_url: str, host: str, port: int, external_address: str | None = None
) -> None:
    os.makedirs(data_dir, exist_ok=True)
    store = open_store(store_url, data_dir)
    await store.start()
    client_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    api, cache = build(store, f"{client_host}:{port}")
    api.extra_routes = ui.Dashboard(data_dir, api.app()).routes()
    await seed(store)
    await cache.start()
    api.start_authorization()
    api.store_health.start()
    config = uvicorn.Config(
        api.app(),
        host=host,
        port=port,
        loop="none",
        http=HTTPProtocol,
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,
        backlog=4096,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.02)
        api.ready = True
        # Behind a load balancer (`skiff up --ha`) clients must use the balancer, not this one server.
        url = f"http://{external_address or f'{client_host}:{port}'}"
        path = write_kubeconfig(data_dir, url)
        log.info("serving", extra={"kv": {"url": url, "store": store_url, "kubeconfig": path}})

    announcer = asyncio.create_task(announce())
    pacer = asyncio.create_task(gctune.run())
    try:
        await server.serve()
    finally:
        announcer.cancel()
        pacer.cancel()
        await api.store_health.stop()
        await cache.stop()
        await store.close()


def run(data_dir: str, store_url: str, host: str, port: int, external_address: str | None = None) -> None:
    import uvloop

    try:
        uvloop.run(serve(data_dir, store_url, host, port, external_address))
    except StoreError as e:
        raise SystemExit(f"skiff apiserver: {e}") from None
    except OSError as e:
        raise SystemExit(f"skiff apiserver: cannot serve on {host}:{port}: {e.strerror or e}") from None
