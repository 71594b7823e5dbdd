"""`skiff apiserver`: open the store, fill the watch cache, seed the initial objects, serve HTTPS.

On first start the cluster CA and this server's serving certificate are created in DATA_DIR/pki
(auth.certs); uvicorn asks every client for an optional certificate signed by that CA. Once serving,
the admin kubeconfig (CA + a kubernetes-admin client certificate) is written to DATA_DIR/kubeconfig.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

import uvicorn

from skiff.apiserver import catalog, gctune, serviceaccounts, ui
from skiff.apiserver.app import API
from skiff.apiserver.auth import bootstrap, certs, kubeconfigs
from skiff.apiserver.auth.authenticate import Authenticator, gate
from skiff.apiserver.auth.serviceaccounts import ServiceAccountTokens
from skiff.apiserver.auth.serviceaccounts import load_or_create_key as sa_key
from skiff.apiserver.auth.tokens import TOKEN_FILE, StaticTokens
from skiff.apiserver.auth.x509 import PeerHttpProtocol, PeerWebSocketProtocol
from skiff.apiserver.cache import WatchCache
from skiff.apiserver.handlers import Handlers
from skiff.apiserver.http import HTTPProtocol
from skiff.apiserver.limits import Limits
from skiff.apiserver.proxy import Kubelets, kubelet_client_context
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


async def seed(store: Store) -> None:
    """The objects a cluster has from the start; safe to run on every start and from every server."""
    for ns in INITIAL_NAMESPACES:
        await serviceaccounts.ensure_default(store, ns)
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


@dataclass
class Options:
    max_inflight: int = 400
    max_watches_per_user: int = 1000
    # Plain HTTP, no authentication, every request an admin: only to measure what TLS and
    # authentication cost (BENCHMARKS.md). Never for a cluster anyone else can reach.
    insecure_http: bool = False
    # HOST:PORT clients use when a load balancer fronts this server (`skiff up --ha`).
    external_address: str | None = None


async def serve(data_dir: str, store_url: str, host: str, port: int, opts: Options | None = None) -> None:
    opts = opts or Options()
    os.makedirs(data_dir, exist_ok=True)
    store = open_store(store_url, data_dir)
    await store.start()
    client_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    api, cache = build(store, f"{client_host}:{port}")
    # The dashboard reads through the application built before authentication is switched on: its
    # own routes have checked the session cookie already.
    dashboard = ui.Dashboard(data_dir, api.app())
    api.extra_routes = dashboard.routes()
    api.limits = Limits(opts.max_inflight, opts.max_watches_per_user)
    api.sa_tokens = ServiceAccountTokens(sa_key(data_dir), api.h.lookup)
    api.kubelets = Kubelets(kubelet_client_context(data_dir))
    tls: dict[str, Any] = {"http": HTTPProtocol, "ws": "websockets-sansio"}
    if not opts.insecure_http:
        ca = certs.load_or_create_ca(data_dir)
        external_hosts = [opts.external_address.rsplit(":", 1)[0]] if opts.external_address else []
        tls = {
            "http": PeerHttpProtocol,
            "ws": PeerWebSocketProtocol,
            "ssl_certfile": str(certs.serving_pem(data_dir, host, external_hosts)),
            "ssl_ca_certs": str(ca.path),
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,  # the certificate is a client's choice of credential
        }
        tokens = StaticTokens(os.path.join(data_dir, TOKEN_FILE))
        api.authenticator = Authenticator(
            [tokens.authenticate, api.sa_tokens.authenticate], cookie=dashboard.cookie_user
        )
        api.authenticate = gate(api.authenticator)
    await seed(store)
    await cache.start()
    api.start_authorization()
    api.store_health.start()
    config = uvicorn.Config(
        api.app(),
        host=host,
        port=port,
        loop="none",
        **tls,
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
        # Behind a load balancer (`skiff up --ha`) clients must use the balancer, not this one server.
        address = opts.external_address or f"{client_host}:{port}"
        if opts.insecure_http:
            url = f"http://{address}"
            doc = kubeconfigs.kubeconfig(url, None)
        else:
            url = f"https://{address}"
            doc = kubeconfigs.admin(data_dir, url)
        path = kubeconfigs.write(os.path.join(data_dir, "kubeconfig"), doc)
        api.ready = True  # after the kubeconfig: whoever sees /readyz answer can use it
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


def run(data_dir: str, store_url: str, host: str, port: int, opts: Options | None = None) -> None:
    import uvloop

    try:
        uvloop.run(serve(data_dir, store_url, host, port, opts))
    except StoreError as e:
        raise SystemExit(f"skiff apiserver: {e}") from None
    except OSError as e:
        raise SystemExit(f"skiff apiserver: cannot serve on {host}:{port}: {e.strerror or e}") from None
