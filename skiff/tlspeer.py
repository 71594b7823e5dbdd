"""The subject of a TLS peer's verified client certificate, put into each request's ASGI scope.

OpenSSL has already verified the certificate against the configured CA (and its validity period)
during the handshake, so only the verified certificate's subject is read here, once per connection.
uvicorn's protocols are subclassed to put it into every request's scope (uvicorn has no ASGI TLS
extension), and to drop idle connections at shutdown without TLS's close handshake. Used by the API
server (skiff.apiserver.auth.x509) and the kubelet's server.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# The scope key under which the peer certificate's identity travels to the authenticator.
PEER_SCOPE_KEY = "skiff.peer"


def subject(cert: Any) -> tuple[str, tuple[str, ...]] | None:
    """(CN, the O values) of a certificate as ``ssl.SSLObject.getpeercert()`` returns it."""
    if not cert:
        return None
    cn = ""
    orgs: list[str] = []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return (cn, tuple(orgs)) if cn else None


def peercert(transport: asyncio.BaseTransport) -> Any:
    obj = transport.get_extra_info("ssl_object")
    if not isinstance(obj, ssl.SSLObject | ssl.SSLSocket):
        return None
    try:
        return obj.getpeercert()
    except (ValueError, ssl.SSLError):
        return None


def _identify(cert: Any) -> Any:
    return subject(cert)


class PeerHttpProtocol(HttpToolsProtocol):
    """httptools' protocol adding the peer certificate's identity (``identify(cert)``; the subject by
    default) to each request's scope."""

    identify = staticmethod(_identify)
    peer: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.peer = self.identify(peercert(transport))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[PEER_SCOPE_KEY] = self.peer  # type: ignore[literal-required]

    def shutdown(self) -> None:
        # A TLS close waits for the client's close_notify (up to 30 s): an idle keep-alive connection
        # of a busy or stopped client would hold up the server's exit. Idle ones are dropped instead.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()


class PeerWebSocketProtocol(WebSocketsSansIOProtocol):
    """The websocket protocol with the same peer identity in its scope."""

    identify = staticmethod(_identify)
    peer: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.peer = self.identify(peercert(transport))

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # run_asgi, which reads the scope, is only scheduled by the call above.
        self.scope[PEER_SCOPE_KEY] = self.peer  # type: ignore[literal-required]
