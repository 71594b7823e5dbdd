"""Who may call the kubelet's server, decided as Kubernetes' kubelet does (webhook mode, no anonymous).

Authentication, in order:
1. a client certificate verified against the cluster CA (the kubeconfig's certificate-authority)
   during the TLS handshake: user = CN, groups = each O;
2. a bearer token, sent to the API server as a TokenReview (answers cached: 2 minutes when
   authenticated, as the kubelet's default webhook cache TTL, 10 s when not);
3. nothing, or a token the API server does not accept: 401 "Unauthorized".

Authorization asks the API server with a SubjectAccessReview: resource ``nodes``, name = this node,
subresource by path (/metrics -> metrics, /stats -> stats, /logs -> log, /spec -> spec, anything else,
containerLogs and exec included, -> proxy) and verb by HTTP method (GET/HEAD and a websocket upgrade
-> get, POST -> create, PUT -> update, PATCH -> patch, DELETE -> delete). Decisions are cached as the
kubelet's defaults: 5 minutes allowed, 30 s denied. Refused: 403 "Forbidden (user=U, verb=V,
resource=nodes, subresource=S)". The API server unreachable: 500 "Authorization error (...)".

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

from skiff.client import Client, ClientError
from skiff.tlspeer import PEER_SCOPE_KEY

log = logging.getLogger("skiff.kubelet.auth")

ALLOWED_TTL = 300.0
DENIED_TTL = 30.0
TOKEN_TTL = 120.0
TOKEN_FAILED_TTL = 10.0
MAX_ENTRIES = 4096  # beyond, expired entries are dropped (and everything if none had expired)
ALL_AUTHENTICATED = "system:authenticated"
VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
SUBRESOURCES = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"), ("/spec", "spec"))
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
TOKENREVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller (Kubernetes' user.Info)."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Decision:
    code: int  # 0 allowed, else the HTTP status to answer with
    message: str = ""
    caller: Caller | None = field(default=None, compare=False)


ALLOW = Decision(0)
UNAUTHORIZED = Decision(401, "Unauthorized")


def attributes(method: str, path: str, websocket: bool) -> tuple[str, str]:
    """(verb, subresource) of a request to the kubelet, as Kubernetes maps them."""
    verb = "get" if websocket else VERBS.get(method.upper(), method.lower())
    for prefix, sub in SUBRESOURCES:
        if path == prefix or path.startswith(prefix + "/"):
            return verb, sub
    return verb, "proxy"


class _TTLCache:
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


class KubeletAuth:
    def __init__(
        self,
        client: Client,
        node: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        allowed_ttl: float = ALLOWED_TTL,
        denied_ttl: float = DENIED_TTL,
    ) -> None:
        self.client = client
        self.node = node
        self.allowed_ttl = allowed_ttl
        self.denied_ttl = denied_ttl
        self.decisions = _TTLCache(clock)
        self.tokens = _TTLCache(clock)
        self.reviews = 0  # SubjectAccessReviews sent (the cache's misses)

    async def check(self, scope: Mapping[str, Any]) -> Decision:
        """Authenticate and authorize one request (an ASGI http or websocket scope)."""
        caller = await self.authenticate(scope)
        if caller is None:
            return UNAUTHORIZED
        websocket = scope["type"] == "websocket"
        verb, sub = attributes(str(scope.get("method", "GET")), str(scope["path"]), websocket)
        return await self.authorize(caller, verb, sub)

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
            log.warning("token review failed: %s", exc, extra={"kv": {"node": self.node}})
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

    async def authorize(self, caller: Caller, verb: str, subresource: str) -> Decision:
        key = (caller, verb, subresource)
        hit, allowed = self.decisions.get(key)
        if not hit:
            try:
                allowed = await self._review(caller, verb, subresource)
            except (ClientError, orjson.JSONDecodeError) as exc:
                log.warning("subject access review failed: %s", exc, extra={"kv": {"node": self.node}})
                return Decision(500, f"Authorization error ({_describe(caller, verb, subresource)})")
            self.decisions.put(key, allowed, self.allowed_ttl if allowed else self.denied_ttl)
        if allowed:
            return Decision(0, caller=caller)
        return Decision(403, f"Forbidden ({_describe(caller, verb, subresource)})", caller)

    async def _review(self, caller: Caller, verb: str, subresource: str) -> bool:
        self.reviews += 1
        spec: dict[str, Any] = {
            "user": caller.name,
            "groups": list(caller.groups),
            "resourceAttributes": {
                "verb": verb,
                "version": "v1",
                "resource": "nodes",
                "subresource": subresource,
                "name": self.node,
            },
        }
        if caller.uid:
            spec["uid"] = caller.uid
        if caller.extra:
            spec["extra"] = {k: list(v) for k, v in caller.extra}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        answer = orjson.loads(await self.client.request("POST", SAR_PATH, body=review))
        return bool((answer.get("status") or {}).get("allowed"))


def _describe(caller: Caller, verb: str, subresource: str) -> str:
    return f"user={caller.name}, verb={verb}, resource=nodes, subresource={subresource}"


def _bearer(scope: Mapping[str, Any]) -> str | None:
    for k, v in scope.get("headers") or ():
        if k == b"authorization":
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthMiddleware:
    """ASGI middleware answering 401/403/500 before the kubelet's handlers run (also for websockets,
    as an HTTP answer to the upgrade)."""

    def __init__(self, app: Any, auth: KubeletAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        decision = await self.auth.check(scope)
        if decision.code == 0:
            await self.app(scope, receive, send)
            return
        body = (decision.message + "\n").encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))]
        prefix = "websocket." if scope["type"] == "websocket" else ""
        await send({"type": prefix + "http.response.start", "status": decision.code, "headers": headers})
        await send({"type": prefix + "http.response.body", "body": body})
