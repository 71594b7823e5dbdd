"""Delegated authentication and authorization: a component's own HTTPS server (the kubelet's, the
scheduler's /metrics) asks the API server who a caller is and what it may do, as Kubernetes' kubelet
(webhook mode) and kube-scheduler (delegated authn/authz) do. Anonymous callers are refused.

Authentication, in order:
1. a client certificate verified during the TLS handshake against the cluster CA (the kubeconfig's
   certificate-authority; skiff.tlspeer puts its subject into the scope): user = CN, groups = each O;
2. a bearer token, sent to the API server as a TokenReview (answers cached 2 minutes when
   authenticated, the kubelet's default webhook cache TTL, 10 s when not; keyed by the token's SHA-256);
3. nothing, or a token the API server does not accept: 401 "Unauthorized".

Authorization: a SubjectAccessReview with the request's attributes (``Attrs``, made by the component
from the path). Decisions are cached as the kubelet's defaults: 5 minutes allowed, 30 s denied.
Refused: 403 "Forbidden (...)"; the API server unreachable: 500 "Authorization error (...)".

The clock is injectable so tests can step through the TTLs without sleeping.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from skiff.tlspeer import PEER_SCOPE_KEY

from .rest import Client, ClientError

log = logging.getLogger("skiff.client.delegated")

ALLOWED_TTL = 300.0
DENIED_TTL = 30.0
TOKEN_TTL = 120.0
TOKEN_FAILED_TTL = 10.0
MAX_ENTRIES = 4096  # beyond, expired entries are dropped (and everything if none had expired)
ALL_AUTHENTICATED = "system:authenticated"
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
TOKENREVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def verb_of(scope: Mapping[str, Any]) -> str:
    """The request verb from the HTTP method (a websocket upgrade is a GET)."""
    if scope["type"] == "websocket":
        return "get"
    method = str(scope.get("method", "GET"))
    return VERBS.get(method.upper(), method.lower())


@dataclass(frozen=True)
class Caller:
    """An authenticated caller (Kubernetes' user.Info)."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Attrs:
    """What a request does: resource attributes (``resource`` set) or a non-resource ``path``."""

    verb: str
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    def spec(self) -> dict[str, Any]:
        if not self.resource:
            return {"nonResourceAttributes": {"verb": self.verb, "path": self.path}}
        ra = {"verb": self.verb, "version": "v1", "resource": self.resource, "name": self.name}
        if self.subresource:
            ra["subresource"] = self.subresource
        return {"resourceAttributes": ra}

    def describe(self, caller: Caller) -> str:
        if not self.resource:
            return f"user={caller.name}, verb={self.verb}, path={self.path}"
        return (
            f"user={caller.name}, verb={self.verb}, resource={self.resource}, subresource={self.subresource}"
        )


@dataclass(frozen=True)
class Decision:
    code: int  # 0 allowed, else the HTTP status to answer with
    message: str = ""
    caller: Caller | None = field(default=None, compare=False)


UNAUTHORIZED = Decision(401, "Unauthorized")


class TTLCache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        hit = self.entries.get(key)
        if hit is None:
            return False, None
        if hit[0] <= self.clock():
            del self.entries[key]
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        now = self.clock()
        if len(self.entries) >= MAX_ENTRIES:
            self.entries = {k: v for k, v in self.entries.items() if v[0] > now}
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
        self.entries[key] = (now + ttl, value)


class DelegatedAuth:
    def __init__(
        self,
        client: Client,
        *,
        clock: Callable[[], float] = time.monotonic,
        allowed_ttl: float = ALLOWED_TTL,
        denied_ttl: float = DENIED_TTL,
    ) -> None:
        self.client = client
        self.allowed_ttl = allowed_ttl
        self.denied_ttl = denied_ttl
        self.decisions = TTLCache(clock)
        self.tokens = TTLCache(clock)
        self.reviews = 0  # SubjectAccessReviews sent (the cache's misses)

    async def authenticate(self, scope: Mapping[str, Any]) -> Caller | None:
        peer = scope.get(PEER_SCOPE_KEY)
        if peer is not None:
            cn, orgs = peer
            return Caller(cn, groups=(*orgs, ALL_AUTHENTICATED))
        token = _bearer(scope)
        return await self._token(token) if token else None

    async def _token(self, token: str) -> Caller | None:
        key = hashlib.sha256(token.encode()).digest()  # the token itself is never kept
        hit, caller = self.tokens.get(key)
        if hit:
            return caller
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        try:
            answer = orjson.loads(await self.client.request("POST", TOKENREVIEW_PATH, body=review))
        except (ClientError, orjson.JSONDecodeError) as exc:
            log.warning("token review failed: %s", exc)
            return None
        status = answer.get("status") or {}
        user = status.get("user") or {}
        found = None
        if status.get("authenticated") and user.get("username"):
            found = Caller(
                str(user["username"]),
                str(user.get("uid") or ""),
                tuple(str(g) for g in user.get("groups") or ()),
                tuple(sorted((str(k), tuple(map(str, v))) for k, v in (user.get("extra") or {}).items())),
            )
        self.tokens.put(key, found, TOKEN_TTL if found else TOKEN_FAILED_TTL)
        return found

    async def authorize(self, caller: Caller, attrs: Attrs) -> Decision:
        key = (caller, attrs)
        hit, allowed = self.decisions.get(key)
        if not hit:
            try:
                allowed = await self._review(caller, attrs)
            except (ClientError, orjson.JSONDecodeError) as exc:
                log.warning("subject access review failed: %s", exc)
                return Decision(500, f"Authorization error ({attrs.describe(caller)})")
            self.decisions.put(key, allowed, self.allowed_ttl if allowed else self.denied_ttl)
        if allowed:
            return Decision(0, caller=caller)
        return Decision(403, f"Forbidden ({attrs.describe(caller)})", caller)

    async def _review(self, caller: Caller, attrs: Attrs) -> bool:
        self.reviews += 1
        spec: dict[str, Any] = {"user": caller.name, "groups": list(caller.groups), **attrs.spec()}
        if caller.uid:
            spec["uid"] = caller.uid
        if caller.extra:
            spec["extra"] = {k: list(v) for k, v in caller.extra}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        answer = orjson.loads(await self.client.request("POST", SAR_PATH, body=review))
        return bool((answer.get("status") or {}).get("allowed"))

    async def check(self, scope: Mapping[str, Any], attrs: Attrs) -> Decision:
        caller = await self.authenticate(scope)
        if caller is None:
            return UNAUTHORIZED
        return await self.authorize(caller, attrs)


def _bearer(scope: Mapping[str, Any]) -> str | None:
    for k, v in scope.get("headers") or ():
        if k == b"authorization":
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthMiddleware:
    """ASGI middleware answering 401/403/500 before the handlers run (for a websocket, as the HTTP
    answer to the upgrade). ``attributes`` maps a request's scope to what it does."""

    def __init__(
        self, app: Any, auth: DelegatedAuth, attributes: Callable[[Mapping[str, Any]], Attrs]
    ) -> None:
        self.app = app
        self.auth = auth
        self.attributes = attributes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        decision = await self.auth.check(scope, self.attributes(scope))
        if decision.code == 0:
            await self.app(scope, receive, send)
            return
        body = (decision.message + "\n").encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))]
        prefix = "websocket." if scope["type"] == "websocket" else ""
        await send({"type": prefix + "http.response.start", "status": decision.code, "headers": headers})
        await send({"type": prefix + "http.response.body", "body": body})
