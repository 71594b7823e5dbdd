"""Who is asking: the client certificate, else a bearer token, else a session cookie, else anonymous.

As in Kubernetes, credentials that are presented but do not authenticate end the request with 401 on
every path; a request with no credentials is system:anonymous, which may reach only the health and
version endpoints (and the dashboard's own pages, which check their cookie themselves). Failures are
logged with the reason, the user agent and the remote address, never the credential.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from skiff.apiserver.auth.tokens import InvalidToken
from skiff.apiserver.auth.user import ALL_UNAUTHENTICATED, ANONYMOUS, USER_SCOPE_KEY, UserInfo
from skiff.apiserver.auth.x509 import PEER_SCOPE_KEY

log = logging.getLogger("skiff.apiserver")

ANONYMOUS_USER = UserInfo(name=ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))
PUBLIC_PATHS = frozenset({"/version", "/version/", "/healthz", "/livez", "/readyz"})
PUBLIC_PREFIXES = ("/ui/", "/healthz/", "/livez/", "/readyz/")

# A token authenticator: the user, or None when the token is not its kind; raises an exception with
# the reason when the token is its kind and refused.
TokenAuthenticator = Callable[[str], Awaitable[UserInfo | None]]
CookieAuthenticator = Callable[[str], UserInfo | None]

UNAUTHORIZED = orjson.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
)


class AuthenticationFailed(Exception):
    """Credentials were presented and refused; the message is the reason (never the secret)."""


def _header(scope: Any, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return bytes(v)
    return None


class Authenticator:
    def __init__(
        self, tokens: Sequence[TokenAuthenticator] = (), cookie: CookieAuthenticator | None = None
    ) -> None:
        self.tokens = list(tokens)
        self.cookie = cookie

    async def authenticate(self, scope: Any) -> UserInfo:
        """The request's user; raises AuthenticationFailed for refused credentials."""
        peer: UserInfo | None = scope.get(PEER_SCOPE_KEY)
        if peer is not None:
            return peer
        auth = _header(scope, b"authorization")
        if auth is not None:
            user = await self._bearer(auth)
            if user is not None:
                return user
        if self.cookie is not None:
            cookie = _header(scope, b"cookie")
            if cookie is not None:
                user = self.cookie(cookie.decode("latin-1"))
                if user is not None:
                    return user
        return ANONYMOUS_USER

    async def _bearer(self, header: bytes) -> UserInfo | None:
        # Like Kubernetes: a header that is not "Bearer TOKEN" is not ours to judge (anonymous).
        parts = header.split(b" ", 2)
        if len(parts) < 2 or parts[0].lower() != b"bearer":
            return None
        raw = parts[1].strip()
        if not raw:
            raise AuthenticationFailed("invalid bearer token")
        try:
            token = raw.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid bearer token") from None
        return await self.bearer(token)

    async def bearer(self, token: str) -> UserInfo:
        """The user of a bearer token; raises AuthenticationFailed when no authenticator accepts it."""
        for authenticate in self.tokens:
            try:
                user = await authenticate(token)
            except InvalidToken as e:  # refused by the authenticator whose kind of token it is
                raise AuthenticationFailed(f"invalid bearer token, {e}") from None
            except Exception:  # a bug: refuse rather than serve or crash, and say so
                log.exception("token authenticator failed")
                raise AuthenticationFailed("invalid bearer token, authenticator error") from None
            if user is not None:
                return user
        raise AuthenticationFailed("invalid bearer token")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def log_failure(scope: Any, reason: str) -> None:
    agent = (_header(scope, b"user-agent") or b"").decode("latin-1")[:200]
    client = scope.get("client")
    remote = f"{client[0]}:{client[1]}" if client else ""
    log.warning(
        "authentication failed",
        extra={"kv": {"reason": reason, "path": scope.get("path", ""), "remote": remote, "userAgent": agent}},
    )


async def unauthorized(scope: Any, send: Any) -> None:
    """Answer 401 with the Unauthorized Status (for a websocket: before the handshake completes)."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(UNAUTHORIZED)).encode())]
    if scope["type"] == "websocket":
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": UNAUTHORIZED})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": UNAUTHORIZED})


def gate(authenticator: Authenticator) -> Callable[[Any], Awaitable[UserInfo | None]]:
    """scope -> the user put into the scope, or None when the request must get 401."""

    async def check(scope: Any) -> UserInfo | None:
        try:
            user = await authenticator.authenticate(scope)
        except AuthenticationFailed as e:
            log_failure(scope, str(e))
            return None
        if user is ANONYMOUS_USER and not is_public(scope["path"]):
            return None
        scope[USER_SCOPE_KEY] = user
        return user

    return check
