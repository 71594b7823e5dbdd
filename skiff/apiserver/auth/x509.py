"""Client-certificate authentication: the user a TLS peer's certificate names (CN user, O groups).

OpenSSL has already verified the certificate against the cluster CA (and its validity period) during
the handshake, so the verified certificate's subject is all that is read here, once per connection.
uvicorn's protocols are subclassed to put that user into every request's scope (uvicorn has no ASGI
TLS extension), and to drop idle connections at shutdown without TLS's close handshake.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from skiff.apiserver.auth.user import ALL_AUTHENTICATED, UserInfo
from skiff.apiserver.http import HTTPProtocol

# The scope key under which the peer certificate's user travels to the authenticator.
PEER_SCOPE_KEY = "skiff.peer"


def user_from_peercert(cert: Any) -> UserInfo | None:
    """The user of a verified certificate as ``ssl.SSLObject.getpeercert()`` returns it."""
    if not cert:
        return None
    cn = ""
    groups: list[str] = []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                groups.append(value)
    if not cn:
        return None
    return UserInfo(name=cn, groups=(*groups, ALL_AUTHENTICATED))


def peer_user(transport: asyncio.BaseTransport) -> UserInfo | None:
    obj = transport.get_extra_info("ssl_object")
    if not isinstance(obj, ssl.SSLObject | ssl.SSLSocket):
        return None
    try:
        return user_from_peercert(obj.getpeercert())
    except (ValueError, ssl.SSLError):
        return None


class PeerHttpProtocol(HTTPProtocol):
    """The API server's http protocol (one-write responses) adding the peer certificate's user to each
    request's scope."""

    peer: UserInfo | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.peer = peer_user(transport)

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
    """The websocket protocol (exec) with the same peer user in its scope."""

    peer: UserInfo | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.peer = peer_user(transport)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # run_asgi, which reads the scope, is only scheduled by the call above.
        self.scope[PEER_SCOPE_KEY] = self.peer  # type: ignore[literal-required]
