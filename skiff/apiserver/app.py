"""The ASGI application: routing of every API path to discovery, the verbs and subresources.

Resource URLs: /api/v1/... and /apis/GROUP/VERSION/... followed by ``PLURAL[/NAME[/SUB]]`` or
``namespaces/NS/PLURAL[/NAME[/SUB]]``. Every error is a Status (errors.APIError).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from skiff import metrics
from skiff.apiserver import (
    discovery,
    errors,
    health,
    negotiate,
    patching,
    proxy,
    query,
    request_metrics,
    subresources,
    watch,
)
from skiff.apiserver.auth import endpoints as authn_endpoints
from skiff.apiserver.auth import escalation, impersonation, node_restriction, reviews
from skiff.apiserver.auth.aggregation import Aggregator
from skiff.apiserver.auth.attributes import non_resource
from skiff.apiserver.auth.authenticate import Authenticator, unauthorized
from skiff.apiserver.auth.authorizer import Authorizer
from skiff.apiserver.auth.requests import path_attributes, route_attributes
from skiff.apiserver.auth.serviceaccounts import ServiceAccountTokens
from skiff.apiserver.auth.user import MASTERS, USER_SCOPE_KEY, UserInfo, user_of
from skiff.apiserver.handlers import Handlers, Route
from skiff.apiserver.limits import Limits
from skiff.apiserver.openapi import OpenAPI
from skiff.apiserver.resources import ResourceInfo
from skiff.store import StoreUnavailableError

log = logging.getLogger("skiff.apiserver")

BODY_VERBS = ("POST", "PUT", "PATCH")


def _header_text(text: str) -> str:
    """A warning as a header value: printable ASCII only, quotes escaped."""
    out = text.encode("ascii", "backslashreplace").decode("ascii")
    out = "".join(ch if 0x20 <= ord(ch) < 0x7F else f"\\x{ord(ch):02x}" for ch in out)
    return out.replace("\\", "\\\\").replace('"', '\\"')[:4000]


async def serve_metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics (skiff.metrics)."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


def _api_path(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/apis") or path == "/api"


class API:
    def __init__(self, handlers: Handlers, resources: list[ResourceInfo], server_address: str) -> None:
        self.h = handlers
        self.resources = resources
        self.server_address = server_address
        self.by_gv: dict[tuple[str, str], dict[str, ResourceInfo]] = {}
        for r in resources:
            self.by_gv.setdefault((r.group, r.version), {})[r.plural] = r
        self.openapi = OpenAPI(resources)
        self.ready = False
        self.store_health = health.StoreHealth(handlers.store)
        self.extra_routes: list[Any] = []  # mounted before the catch-all (the dashboard's /ui)
        # scope -> the user (also put into the scope) or None for 401; None: no authentication.
        self.authenticate: Callable[[Any], Awaitable[UserInfo | None]] | None = None
        self.limits: Limits | None = None
        self.authenticator: Authenticator | None = None  # for TokenReview
        self.sa_tokens: ServiceAccountTokens | None = None  # for TokenRequest
        self.kubelets = proxy.Kubelets()  # towards kubelets (logs, exec); TLS set by server.py
        self.authz = Authorizer(handlers.cache, self._lookup)
        self.aggregator = Aggregator(handlers.store, handlers.cache, self.authz.rbac)
        handlers.admit_write = self._admit_write
        self.impersonation = impersonation.Impersonation(
            self.authz.authorize, lambda: self.authz.rbac.generation
        )

    def start_authorization(self) -> None:
        """Once the watch cache is loaded: index the RBAC objects and aggregate ClusterRoles."""
        self.authz.rbac.refresh()
        self.aggregator.poke()

    # ------------------------------------------------------------------------------ authorization

    async def _lookup(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        info = self.h.by_store_plural.get(plural)
        if info is None:
            return None
        try:
            obj, _ = await self.h.storage.get(info, namespace, name)
        except errors.APIError:
            return None
        return obj

    async def _admit_write(
        self, scope: Any, info: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        """What the writer may write: a node only its own things, nobody more RBAC than it holds."""
        user = user_of(scope)
        if MASTERS in user.groups:
            return
        if old is None:
            node_restriction.admit_create(user, info.group, info.plural, obj)
        else:
            node_restriction.admit_update(user, info.group, info.plural, obj, old)
        if info.group == escalation.GROUP:
            await escalation.check(self.authz, user, info.plural, obj)

    async def authorize_route(
        self, r: Route, scope: Any, query_params: Any, legacy_watch: bool = False, verb: str | None = None
    ) -> None:
        """403 unless the request's user may do this to the resource."""
        user = user_of(scope)
        if MASTERS in user.groups:
            return
        method = scope.get("method", "GET")
        await self.authz.check(route_attributes(user, r, method, query_params, legacy_watch, verb))

    async def authorize_unrouted(self, scope: Any, query_params: Any) -> None:
        """403 unless the user may do what the path of a request that routes to nothing asks."""
        user = user_of(scope)
        if MASTERS in user.groups:
            return
        method = scope.get("method", "GET")
        await self.authz.check(path_attributes(user, method, scope["path"], query_params))

    async def authorize_path(self, scope: Any) -> None:
        """403 unless the request's user may get this non-resource URL (discovery, /version, ...)."""
        user = user_of(scope)
        if MASTERS in user.groups:
            return
        await self.authz.check(non_resource(user, scope.get("method", "GET"), scope["path"]))

    async def admit(self, scope: Any) -> None:
        """Before routing: act as the impersonated user when asked, authorize non-API paths."""
        asked = impersonation.requested(scope["headers"])
        if asked:
            scope[USER_SCOPE_KEY] = await self.impersonation.user(user_of(scope), asked)
        path = scope["path"]
        # The dashboard's pages check its own session cookie (anonymous must reach /ui/login).
        if scope["type"] == "http" and not _api_path(path) and not path.startswith("/ui/") and path != "/ui":
            await self.authorize_path(scope)

    # ------------------------------------------------------------------------------ routing

    def parse(self, path: str) -> tuple[Route | None, bool]:
        """(route, legacy_watch) for a resource path; raises 404 for unknown paths."""
        parts = [p for p in path.split("/") if p != ""]
        if parts[0] == "api":
            if len(parts) < 2:
                raise errors.page_not_found(path)
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) < 3:
                raise errors.page_not_found(path)
            group, version, rest = parts[1], parts[2], parts[3:]
        resources = self.by_gv.get((group, version))
        if resources is None:
            raise errors.page_not_found(path)
        legacy_watch = False
        if rest and rest[0] == "watch":
            legacy_watch = True
            rest = rest[1:]
        if not rest:
            return None, False
        ns: str | None = None
        if (
            rest[0] == "namespaces"
            and len(rest) >= 3
            and rest[2] in resources
            and resources[rest[2]].namespaced
        ):
            ns = rest[1]
            rest = rest[2:]
        info = resources.get(rest[0])
        if info is None:
            raise errors.page_not_found(path)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            raise errors.page_not_found(path)
        if sub is not None and sub not in info.subresources:
            raise errors.page_not_found(path)
        if ns is not None and not info.namespaced:
            raise errors.page_not_found(path)
        for seg in (ns, name):
            if seg is not None and (seg in (".", "..") or "%" in seg):
                raise errors.bad_request(
                    f"invalid resource name {seg!r}: may not be '.' or '..' or contain '%'"
                )
        return Route(info, ns, name, sub), legacy_watch

    async def endpoint(self, request: Request) -> Response:
        try:
            return await self.dispatch(request)
        except errors.APIError as e:
            return negotiate.error_response(e)
        except StoreUnavailableError as e:  # nothing was written: the client may retry
            self.store_health.failed(str(e))
            resp = negotiate.error_response(health.unavailable(e))
            resp.headers["Retry-After"] = str(health.RETRY_AFTER)
            return resp
        except Exception as e:  # a bug: log it, answer a Status, keep serving
            log.exception("internal error on %s %s", request.method, request.url.path)
            return negotiate.error_response(errors.internal(str(e)))

    async def dispatch(self, request: Request) -> Response:
        path = request.scope["path"]
        parts = [p for p in path.split("/") if p]
        if len(parts) <= 2 or (len(parts) == 3 and parts[0] == "apis"):
            await self.authorize_path(request.scope)  # discovery
        if path in ("/api", "/api/"):
            return negotiate.respond(discovery.api_versions(self.server_address))
        if path in ("/apis", "/apis/"):
            return negotiate.respond(discovery.api_group_list(self.resources))
        if len(parts) == 2 and parts[0] == "apis":
            g = discovery.api_group(self.resources, parts[1])
            if g is None:
                raise errors.page_not_found(path)
            return negotiate.respond(g)
        if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
            group = "" if parts[0] == "api" else parts[1]
            rl = discovery.resource_list(self.resources, group, parts[-1])
            if rl is None:
                raise errors.page_not_found(path)
            return negotiate.respond(rl)
        if not parts or parts[0] not in ("api", "apis"):
            raise errors.page_not_found(path)
        try:
            r, legacy_watch = self.parse(path)
            if r is None:
                raise errors.page_not_found(path)
        except errors.APIError as e:
            if e.code == 404:
                # As Kubernetes: whoever may not do this learns 403, not whether the resource exists.
                await self.authorize_unrouted(request.scope, request.query_params)
            raise
        await self.authorize_route(r, request.scope, request.query_params, legacy_watch)
        return await self.resource(r, request, legacy_watch)

    async def resource(self, r: Route, request: Request, legacy_watch: bool) -> Response:
        method = request.method
        info = r.info
        h = self.h
        if r.sub in ("log", "exec"):
            if r.sub == "log" and method == "GET":
                return await proxy.logs(h, r, request, self.kubelets)
            if r.sub == "exec" and method in ("GET", "POST"):
                await proxy.exec_without_upgrade(h, r, request)
            raise errors.method_not_allowed()
        out = negotiate.output_for(request)
        body: Any = None
        warnings: list[str] = []
        if method in BODY_VERBS or (method == "DELETE"):
            raw = await negotiate.read_body(request)
            if method == "PATCH":
                body = raw
            elif raw.strip():
                body = negotiate.parse_body(raw, negotiate.media_type(request))
                if method in ("POST", "PUT"):
                    body = patching.check_fields(info, body, request, warnings, r.sub)
            elif method != "DELETE":
                raise errors.bad_request("the request body is empty")
        if method == "GET":
            if r.sub not in (None, "status"):
                raise errors.method_not_allowed()
            if legacy_watch or query.boolean(request.query_params, "watch"):
                if "watch" not in info.verbs:
                    raise errors.method_not_allowed()
                return await watch.watch(h, r, request, out)
            if r.name is None:
                if "list" not in info.verbs:
                    raise errors.method_not_allowed()
                return await h.list_(r, request, out)
            return await h.get(r, request, out)
        resp: Response
        if method == "POST" and info.group == reviews.GROUP:
            obj = self.h.decode_body(info, body, r)
            answered = await reviews.answer(self.authz, info.plural, user_of(request.scope), obj, r.namespace)
            return negotiate.respond(answered, 201, out)
        if method == "POST":
            if r.sub == "binding" or (info.plural == "bindings" and not info.group):
                if r.name is None and info.plural == "bindings":
                    r = Route(h.by_store_plural["pods"], r.namespace, None, "binding")
                resp = await subresources.bind(h, r, request, body)
            elif r.sub == "eviction":
                resp = await subresources.evict(h, r, request, body)
            elif r.sub == "token":
                if self.sa_tokens is None:
                    raise errors.method_not_allowed()
                resp = await authn_endpoints.token_request(h, r, request, body, self.sa_tokens)
            elif info.group == authn_endpoints.GROUP and r.name is None and r.sub is None:
                if info.plural == "selfsubjectreviews":
                    resp = authn_endpoints.self_subject_review(request, body)
                else:
                    resp = await authn_endpoints.token_review(request, body, self.authenticator)
            elif r.name is None and r.sub is None and "create" in info.verbs:
                if info.namespaced and r.namespace is None:
                    raise errors.method_not_allowed(
                        "the server does not allow this method on the requested resource"
                    )
                resp = await h.create(r, request, out, body, warnings)
            else:
                raise errors.method_not_allowed()
        elif method == "PUT":
            if r.name is None or r.sub not in (None, "status", "finalize") or "update" not in info.verbs:
                raise errors.method_not_allowed()
            resp = await h.update(r, request, out, body, warnings)
        elif method == "PATCH":
            if r.name is None or r.sub not in (None, "status") or "patch" not in info.verbs:
                raise errors.method_not_allowed()
            resp = await patching.patch(h, r, request, out, body, warnings)
        elif method == "DELETE":
            if r.sub is not None:
                raise errors.method_not_allowed()
            if r.name is None:
                if "deletecollection" not in info.verbs:
                    raise errors.method_not_allowed()
                resp = await h.delete_collection(r, request, out, body)
            else:
                if "delete" not in info.verbs:
                    raise errors.method_not_allowed()
                resp = await h.delete(r, request, out, body)
        else:
            raise errors.method_not_allowed()
        if warnings:
            resp.headers["Warning"] = ", ".join(f'299 - "{_header_text(w)}"' for w in warnings)
        return resp

    # ------------------------------------------------------------------------------ misc endpoints

    async def version(self, request: Request) -> Response:
        return negotiate.respond(discovery.VERSION)

    async def health(self, request: Request) -> Response:
        """/livez and /healthz: the process serves (the store's trouble does not count: see health)."""
        if not self.ready:
            return PlainTextResponse("not ready", 503)
        return PlainTextResponse("ok")

    async def readyz(self, request: Request) -> Response:
        return self.store_health.readyz(request, self.ready)

    async def openapi_v3(self, request: Request) -> Response:
        rest = request.path_params.get("rest", "").strip("/")
        found = self.openapi.document(rest)
        if found is None:
            return negotiate.error_response(errors.page_not_found(request.url.path))
        body, etag = found
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return negotiate.respond_raw(body, headers={"ETag": etag})

    async def openapi_v2(self, request: Request) -> Response:
        return negotiate.respond_raw(self.openapi.v2)

    async def websocket(self, ws: WebSocket) -> None:
        await proxy.exec_ws(self, ws)

    def app(self) -> Any:
        """The ASGI callable: API paths go straight to the endpoint (no middleware or router on the
        hot path); everything else (health, version, OpenAPI, websockets) through Starlette."""
        star = self.starlette()
        endpoint = self.endpoint
        authenticate = self.authenticate
        limits = self.limits

        async def http(scope: Any, receive: Any, send: Any) -> None:
            if _api_path(scope["path"]):
                started = time.perf_counter()
                response = await endpoint(Request(scope, receive))
                # For a watch this is the time to its first byte, as Kubernetes measures it.
                request_metrics.observe(scope, response.status_code, time.perf_counter() - started)
                await response(scope, receive, send)
                return
            await star(scope, receive, send)

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            kind = scope["type"]
            if kind in ("http", "websocket"):
                if authenticate is not None and await authenticate(scope) is None:
                    await unauthorized(scope, send)
                    return
                try:
                    await self.admit(scope)
                except errors.APIError as e:
                    if kind == "http":
                        await negotiate.error_response(e)(scope, receive, send)
                    else:
                        await WebSocket(scope, receive, send).close(code=1008, reason=e.message[:120])
                    return
            if kind == "http":
                if limits is not None:
                    await limits.run(http, scope, receive, send)
                else:
                    await http(scope, receive, send)
                return
            await star(scope, receive, send)

        return asgi

    def starlette(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        routes = [
            StarletteRoute("/version", self.version, methods=["GET"]),
            StarletteRoute("/version/", self.version, methods=["GET"]),
            StarletteRoute("/healthz", self.health, methods=["GET"]),
            StarletteRoute("/livez", self.health, methods=["GET"]),
            StarletteRoute("/readyz", self.readyz, methods=["GET"]),
            StarletteRoute("/openapi/v3", self.openapi_v3, methods=["GET"]),
            StarletteRoute("/openapi/v3/{rest:path}", self.openapi_v3, methods=["GET"]),
            StarletteRoute("/openapi/v2", self.openapi_v2, methods=["GET"]),
            StarletteRoute("/metrics", serve_metrics, methods=["GET"]),
            *self.extra_routes,
            WebSocketRoute("/{path:path}", self.websocket),
            StarletteRoute("/{path:path}", self.endpoint, methods=methods),
        ]
        return Starlette(routes=routes)
