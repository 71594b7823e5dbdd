"""Client-certificate authentication: the user a TLS peer's certificate names (CN user, O groups).

The protocols of skiff.tlspeer put the verified certificate's user into every request's scope, read
once per connection; here they are combined with the API server's one-write http protocol.
"""

from __future__ import annotations

from typing import Any

from skiff import tlspeer
from skiff.apiserver.auth.user import ALL_AUTHENTICATED, UserInfo
from skiff.apiserver.http import HTTPProtocol
from skiff.tlspeer import PEER_SCOPE_KEY

__all__ = ["PEER_SCOPE_KEY", "PeerHttpProtocol", "PeerWebSocketProtocol", "user_from_peercert"]


def user_from_peercert(cert: Any) -> UserInfo | None:
    """The user of a verified certificate as ``ssl.SSLObject.getpeercert()`` returns it."""
    found = tlspeer.subject(cert)
    if found is None:
        return None
    return UserInfo(name=found[0], groups=(*found[1], ALL_AUTHENTICATED))


class PeerHttpProtocol(HTTPProtocol, tlspeer.PeerHttpProtocol):
    """The API server's http protocol (one-write responses) with the peer certificate's user."""

    identify = staticmethod(user_from_peercert)


class PeerWebSocketProtocol(tlspeer.PeerWebSocketProtocol):
    identify = staticmethod(user_from_peercert)
