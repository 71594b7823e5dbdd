"""A component's own HTTPS server (the kubelet's; the scheduler's /metrics): TLS with a given or a
self-signed serving certificate, client certificates verified against the cluster CA, and every
request authenticated and authorized through the API server (skiff.client.delegated).

The serving certificate comes from a file (``skiff up`` issues one from the cluster CA for the
component's addresses) or, as Kubernetes' kubelet and kube-scheduler do without one, is self-signed at
start (kept in memory only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import uvicorn

from skiff import pki
from skiff.client.delegated import Attrs, AuthMiddleware, DelegatedAuth
from skiff.client.kubeconfig import load_cert_chain
from skiff.tlspeer import PeerHttpProtocol, PeerWebSocketProtocol

log = logging.getLogger("skiff.serving")
KEEP_ALIVE = 60  # seconds an idle connection is kept: longer than the API server's pool keeps it (30)


class CertificateError(ValueError):
    """A serving certificate or key file that cannot be used (one readable line)."""


def self_signed(name: str, hosts: Sequence[str]) -> tuple[bytes, bytes]:
    """(certificate chain PEM, key PEM): a serving certificate for ``hosts`` signed by a throwaway CA
    named after ``name`` and the time, as Kubernetes' kubelet makes its own."""
    ca_cert, ca_key = pki.create_ca(f"{name}-ca@{int(time.time())}", days=365)
    cert, key = pki.sign(ca_cert, ca_key, name, hosts=[*hosts, name, "127.0.0.1", "localhost"])
    return cert + pki.cert_pem(ca_cert), key


def serving_context(
    name: str,
    hosts: Sequence[str],
    client_ca_pem: bytes | None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> ssl.SSLContext:
    """The server's TLS context. ``key_file`` defaults to ``cert_file`` (one file holding both)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert_file:
        try:
            ctx.load_cert_chain(cert_file, key_file or cert_file)
        except (OSError, ssl.SSLError) as e:
            raise CertificateError(f"--tls-cert-file {cert_file}: {e}") from None
    else:
        chain, key = self_signed(name, hosts)
        load_cert_chain(ctx, chain, key)
    if client_ca_pem:
        ctx.load_verify_locations(cadata=client_ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a certificate is one credential; a token is the other
    return ctx


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the component owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class SecureServer:
    """Serves ``app`` over TLS behind authentication and authorization in the running event loop."""

    def __init__(
        self,
        app: Any,
        auth: DelegatedAuth,
        attributes: Callable[[Mapping[str, Any]], Attrs],
        tls: ssl.SSLContext,
        name: str,
    ) -> None:
        self.app = AuthMiddleware(app, auth, attributes)
        self.auth = auth
        self.tls = tls
        self.name = name
        self.server: _Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, host: str, port: int, fallback: bool = True) -> int:
        """Serves on port (or, when it is taken and ``fallback``, on a free one); returns the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            if not fallback:
                sock.close()
                raise
            log.warning("port %s is taken; serving on a free port", port, extra={"kv": {"server": self.name}})
            sock.bind((host, 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            http=PeerHttpProtocol,
            ws=PeerWebSocketProtocol,
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE,
        )
        config.load()
        config.ssl = self.tls  # a context made in memory (the CA from the kubeconfig, maybe our own key)
        self.server = _Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]), name=self.name)
        for _ in range(200):
            if self.server.started:
                break
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.task, 5)
