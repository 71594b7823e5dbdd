"""An async client for the Kubernetes REST API, typed by the object model's Structs.

    async with Client.from_kubeconfig(path) as c:
        pod = await c.get(Pod, "web", "default")
        async for ev in c.watch(Pod, "default", resource_version=pods.resource_version):
            ...

HTTP/1.1 with keep-alive through skiff.client.transport (plain asyncio streams: less client CPU per
request than httpx or aiohttp, measured in bench/client_http.py, see BENCHMARKS.md): a bounded pool for
ordinary requests (sized for the caller's concurrency) and a connection of its own per watch (each holds
it for minutes; watches must never starve requests). Bodies are decoded with msgspec straight into the
api Structs. Every HTTP failure raises `ApiError` carrying the server's Status; a failure to reach the
server raises `ConnectError`.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

import msgspec

from .kubeconfig import KubeConfig, load_kubeconfig
from .resources import Resource, resource_for
from .transport import HttpTransport, TransportError

T = TypeVar("T")

PatchType = Literal["merge", "strategic", "json", "apply"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ClientError(Exception):
    """Any failure of a client call."""


class ConnectError(ClientError):
    """The server could not be reached, or the connection broke mid-request."""


class ApiError(ClientError):
    """The server answered with an error; `status` is its metav1.Status (as a dict)."""

    def __init__(self, code: int, reason: str, message: str, status: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status: dict[str, Any] = status or {}

    @property
    def details(self) -> dict[str, Any]:
        d = self.status.get("details")
        return d if isinstance(d, dict) else {}

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def already_exists(self) -> bool:
        return self.code == 409 and self.reason == "AlreadyExists"

    @property
    def conflict(self) -> bool:
        return self.code == 409 and self.reason != "AlreadyExists"

    @property
    def expired(self) -> bool:
        """410: a resourceVersion or continue token too old (relist)."""
        return self.code == 410

    @property
    def invalid(self) -> bool:
        return self.code == 422

    @classmethod
    def from_status(cls, status: dict[str, Any], http_code: int | None = None) -> ApiError:
        code = status.get("code") or http_code or 500
        reason = status.get("reason") or _REASONS.get(code, "Unknown")
        message = status.get("message") or reason
        return cls(int(code), str(reason), str(message), status)


@dataclass
class ObjectList(Generic[T]):
    items: list[T]
    resource_version: str
    continue_: str | None = None
    remaining_item_count: int | None = None


@dataclass
class WatchEvent(Generic[T]):
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: T

    @property
    def resource_version(self) -> str | None:
        return resource_version_of(self.object)


# ------------------------------------------------------------------------------ decoding shapes


class _ListMeta(msgspec.Struct, rename="camel"):
    resource_version: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")
    remaining_item_count: int | None = None


class _ListBody(msgspec.Struct, Generic[T]):
    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: list[T] | None = None


class _Envelope(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _KindOnly(msgspec.Struct):
    kind: str | None = None


_json_encode = msgspec.json.Encoder().encode
_status_decoder = msgspec.json.Decoder(dict[str, Any])
_kind_decoder = msgspec.json.Decoder(_KindOnly)
_envelope_decoder = msgspec.json.Decoder(_Envelope)


def meta_of(obj: Any) -> Any:
    """The metadata of a Struct object or a dict object (a Struct or a dict)."""
    return obj.get("metadata") or {} if isinstance(obj, dict) else obj.metadata


def _meta_get(obj: Any, key: str, attr: str) -> Any:
    m = meta_of(obj)
    return m.get(key) if isinstance(m, dict) else getattr(m, attr, None)


def name_of(obj: Any) -> str | None:
    return _meta_get(obj, "name", "name")


def namespace_of(obj: Any) -> str | None:
    return _meta_get(obj, "namespace", "namespace")


def resource_version_of(obj: Any) -> str | None:
    return _meta_get(obj, "resourceVersion", "resource_version")


def selector_string(sel: str | Mapping[str, str] | None) -> str | None:
    """A label/field selector from a string or a {key: value} mapping (all must equal)."""
    if sel is None or isinstance(sel, str):
        return sel or None
    return ",".join(f"{k}={v}" for k, v in sel.items()) or None


# ------------------------------------------------------------------------------ the client


class Client:
    """An async REST client for one API server. Use as an async context manager, or call aclose()."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        max_connections: int = 32,
        timeout: float = 30.0,
        user_agent: str = "skiff",
        max_retries: int = 3,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_connections = max_connections
        fixed: dict[str, str | list[str]] = {"Accept": "application/json", "User-Agent": user_agent}
        fixed.update(config.impersonate)  # the kubeconfig user's `as`, `as-groups`, ...
        if config.username is not None and config.password is not None:
            cred = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
            fixed["Authorization"] = f"Basic {cred}"
        self._fixed_headers = fixed
        ctx = config.ssl_context()
        self._ssl: Any = ctx if not isinstance(ctx, bool) else None
        # The transport is made on first use, inside the event loop that uses it.
        self._transport: HttpTransport | None = None
        self._closed = False
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
        self._list_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None, **kw: Any) -> Client:
        return cls(load_kubeconfig(path, context), **kw)

    def _http(self) -> HttpTransport:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._transport is None:
            self._transport = HttpTransport(
                self.config.server,
                ssl_context=self._ssl,
                server_hostname=self.config.tls_server_name,
                max_connections=self.max_connections,
                fixed_headers=self._fixed_headers,
            )
        return self._transport

    async def aclose(self) -> None:
        self._closed = True
        if self._transport is not None:
            await self._transport.aclose()
        self._transport = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -------------------------------------------------------------------------- plumbing

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        h: dict[str, str] = {}
        token = self.config.bearer_token()
        if token:
            h["Authorization"] = f"Bearer {token}"
        if content_type:
            h["Content-Type"] = content_type
        return h

    def _decoder(self, tp: type[T]) -> msgspec.json.Decoder[T]:
        d = self._decoders.get(tp)
        if d is None:
            d = self._decoders[tp] = msgspec.json.Decoder(tp)
        return d

    def _list_decoder(self, tp: type[T]) -> msgspec.json.Decoder[_ListBody[T]]:
        d = self._list_decoders.get(tp)
        if d is None:
            d = self._list_decoders[tp] = msgspec.json.Decoder(_ListBody[tp])  # type: ignore[valid-type]
        return d

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> bytes:
        """Send one request; return the body of a 2xx answer, raise ApiError/ConnectError otherwise."""
        content: bytes | None = None
        if body is not None:
            content = body if isinstance(body, bytes) else _json_encode(body)
        headers = self._headers(content_type if content is not None else None)
        http = self._http()
        target = path + _query_string(params)
        attempt = 0
        while True:
            try:
                resp = await http.request(
                    method, target, headers, content, timeout if timeout is not None else self.timeout
                )
            except TransportError as e:
                raise ConnectError(f"{method} {self.config.server}{target}: {e}") from e
            status = resp.status
            if status < 300:
                return resp.body
            err = error_from_response(status, resp.body)
            retry_after = resp.headers.get(b"retry-after", b"").decode(errors="replace") or None
            # The server asks us to come back later (429, or 5xx with Retry-After): honour it a few times.
            if (status == 429 or (status >= 500 and retry_after)) and (attempt < self.max_retries):
                attempt += 1
                await asyncio.sleep(_retry_delay(retry_after, attempt))
                continue
            raise err

    # -------------------------------------------------------------------------- verbs

    async def get(self, kind: type[T] | Resource[T], name: str, namespace: str | None = None) -> T:
        res = resource_for(kind)
        body = await self.request("GET", res.path(self._ns(res, namespace), name))
        return self._decoder(res.type).decode(body)

    async def list(
        self,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
        timeout: float | None = None,
    ) -> ObjectList[T]:
        """One page of a list (all of it when limit is None). namespace None lists across namespaces."""
        res = resource_for(kind)
        params = {
            "labelSelector": selector_string(label_selector),
            "fieldSelector": selector_string(field_selector),
            "limit": limit,
            "continue": continue_,
            "resourceVersion": resource_version,
            "resourceVersionMatch": resource_version_match,
        }
        body = await self.request("GET", res.path(namespace), params=params, timeout=timeout)
        parsed = self._list_decoder(res.type).decode(body)
        return ObjectList(
            items=parsed.items or [],
            resource_version=parsed.metadata.resource_version or "",
            continue_=parsed.metadata.continue_ or None,
            remaining_item_count=parsed.metadata.remaining_item_count,
        )

    async def list_all(
        self,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        page_size: int | None = 500,
        timeout: float | None = None,
    ) -> ObjectList[T]:
        """Every object, fetched in pages of page_size; the list's resourceVersion is the first page's.

        If a continue token expires between pages (410), the list restarts as one unpaged request.
        """
        items: list[T] = []
        first: ObjectList[T] | None = None
        token: str | None = None
        while True:
            try:
                page = await self.list(
                    kind,
                    namespace,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    limit=page_size,
                    continue_=token,
                    timeout=timeout,
                )
            except ApiError as e:
                if e.expired and token is not None:
                    return await self.list(
                        kind, namespace, label_selector=label_selector, field_selector=field_selector
                    )
                raise
            if first is None:
                first = page
            items.extend(page.items)
            token = page.continue_
            if not token or not page_size:
                return ObjectList(items=items, resource_version=first.resource_version)

    async def create(self, obj: T, namespace: str | None = None, *, field_manager: str | None = None) -> T:
        res = resource_for(type(obj))
        ns = self._ns(res, namespace or namespace_of(obj))
        params = {"fieldManager": field_manager}
        body = await self.request("POST", res.path(ns), params=params, body=_with_type_meta(obj, res))
        return self._decoder(res.type).decode(body)

    async def update(self, obj: T, *, subresource: str | None = None, field_manager: str | None = None) -> T:
        """PUT the object (optimistic concurrency on its metadata.resourceVersion: 409 when stale)."""
        res = resource_for(type(obj))
        name = name_of(obj)
        if not name:
            raise ValueError(f"update: the {res.kind} has no metadata.name")
        ns = self._ns(res, namespace_of(obj))
        params = {"fieldManager": field_manager}
        path = res.path(ns, name, subresource)
        body = await self.request("PUT", path, params=params, body=_with_type_meta(obj, res))
        return self._decoder(res.type).decode(body)

    async def update_status(self, obj: T) -> T:
        return await self.update(obj, subresource="status")

    async def patch(
        self,
        kind: type[T] | Resource[T],
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> T:
        """PATCH with a JSON merge, strategic merge, JSON (RFC 6902) or server-side apply body."""
        res = resource_for(kind)
        ctype = PATCH_CONTENT_TYPES.get(patch_type)
        if ctype is None:
            raise ValueError(f"unknown patch type {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        params = {"fieldManager": field_manager, "force": _bool(force)}
        path = res.path(self._ns(res, namespace), name, subresource)
        body = await self.request("PATCH", path, params=params, body=patch, content_type=ctype)
        return self._decoder(res.type).decode(body)

    async def delete(
        self,
        kind: type[T] | Resource[T],
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation_policy: str | None = None,
    ) -> T | None:
        """Delete; returns the object the server answered with (with deletionTimestamp set when the
        deletion is graceful, else its final state), or None when it answered with a Status.

        uid/resource_version are preconditions: the server answers 409 when they no longer match.
        """
        res = resource_for(kind)
        opts = delete_options(grace_period_seconds, uid, resource_version, propagation_policy)
        body = await self.request("DELETE", res.path(self._ns(res, namespace), name), body=opts)
        if _kind_decoder.decode(body).kind in (None, "Status"):
            return None
        return self._decoder(res.type).decode(body)

    async def delete_collection(
        self,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        grace_period_seconds: int | None = None,
    ) -> None:
        res = resource_for(kind)
        params = {
            "labelSelector": selector_string(label_selector),
            "fieldSelector": selector_string(field_selector),
        }
        opts = delete_options(grace_period_seconds, None, None, None)
        await self.request("DELETE", res.path(namespace), params=params, body=opts)

    async def create_subresource(
        self,
        kind: type[Any] | Resource[Any],
        name: str,
        subresource: str,
        body: Any,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """POST to a subresource (binding, eviction); returns the decoded answer (often a Status)."""
        res = resource_for(kind)
        raw = await self.request("POST", res.path(self._ns(res, namespace), name, subresource), body=body)
        return _status_decoder.decode(raw) if raw else {}

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None:
        """POST pods/NAME/binding: assign the pod to the node (409 if already bound)."""
        from skiff.api.core import Pod

        meta: dict[str, Any] = {"name": pod, "namespace": namespace}
        if uid:
            meta["uid"] = uid
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": meta,
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self.create_subresource(Pod, pod, "binding", binding, namespace)

    async def evict(self, namespace: str, pod: str, *, grace_period_seconds: int | None = None) -> None:
        """POST pods/NAME/eviction (policy/v1 Eviction)."""
        from skiff.api.core import Pod

        eviction: dict[str, Any] = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        }
        if grace_period_seconds is not None:
            eviction["deleteOptions"] = delete_options(grace_period_seconds, None, None, None)
        await self.create_subresource(Pod, pod, "eviction", eviction, namespace)

    async def get_raw(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET any path (e.g. /version) and decode JSON into plain Python values."""
        return msgspec.json.decode(await self.request("GET", path, params=params))

    # -------------------------------------------------------------------------- watch

    async def watch(
        self,
        kind: type[T] | Resource[T],
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent[T], None]:
        """Events after resource_version until the server ends the stream (timeout_seconds).

        Yields ADDED/MODIFIED/DELETED and BOOKMARK events (a bookmark's object carries only
        metadata.resourceVersion). An ERROR event raises ApiError (410 Expired: relist); a broken
        connection raises ConnectError. Close the iterator (aclose, or leave an `aclosing` block) to
        end the watch early.
        """
        res = resource_for(kind)
        query = _query_string(
            {
                "watch": "true",
                "resourceVersion": resource_version,
                "labelSelector": selector_string(label_selector),
                "fieldSelector": selector_string(field_selector),
                "timeoutSeconds": timeout_seconds,
                "allowWatchBookmarks": "true" if allow_bookmarks else None,
            }
        )
        decode = self._decoder(res.type).decode
        # No event for a long time is normal; a read timeout only guards a stream the server forgot.
        read_timeout = (timeout_seconds + 30.0) if timeout_seconds else None
        target = res.path(namespace) + query
        try:
            async with self._http().stream("GET", target, self._headers(), read_timeout) as resp:
                if resp.status >= 300:
                    raise error_from_response(resp.status, await resp.read())
                buf = bytearray()
                async for chunk in resp.chunks():
                    buf += chunk
                    start = 0
                    while True:
                        nl = buf.find(b"\n", start)
                        if nl < 0:
                            break
                        line = bytes(buf[start:nl])
                        start = nl + 1
                        if line.strip():
                            yield _watch_event(line, decode)
                    if start:
                        del buf[:start]
                if bytes(buf).strip():
                    yield _watch_event(bytes(buf), decode)
        except TransportError as e:
            raise ConnectError(f"watch {self.config.server}{target}: {e}") from e

    # -------------------------------------------------------------------------- helpers

    def _ns(self, res: Resource[Any], namespace: str | None) -> str | None:
        if not res.namespaced:
            return None
        return namespace or self.config.namespace or "default"


def _watch_event(line: bytes, decode: Any) -> WatchEvent[Any]:
    try:
        env = _envelope_decoder.decode(line)
    except msgspec.DecodeError as e:
        raise ApiError(500, "InternalError", f"malformed watch event: {e}") from None
    if env.type == "ERROR":
        status = _status_decoder.decode(env.object)
        raise ApiError.from_status(status if isinstance(status, dict) else {})
    return WatchEvent(env.type, decode(env.object))


def error_from_response(code: int, body: bytes) -> ApiError:
    try:
        status = msgspec.json.decode(body)
    except msgspec.DecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return ApiError.from_status(status, code)
    text = body.decode(errors="replace").strip()[:500]
    reason = _REASONS.get(code, "Unknown")
    return ApiError(code, reason, text or reason, {"code": code, "reason": reason, "message": text})


def delete_options(
    grace_period_seconds: int | None,
    uid: str | None,
    resource_version: str | None,
    propagation_policy: str | None,
) -> dict[str, Any]:
    opts: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if grace_period_seconds is not None:
        opts["gracePeriodSeconds"] = grace_period_seconds
    if uid is not None or resource_version is not None:
        pre: dict[str, str] = {}
        if uid is not None:
            pre["uid"] = uid
        if resource_version is not None:
            pre["resourceVersion"] = resource_version
        opts["preconditions"] = pre
    if propagation_policy is not None:
        opts["propagationPolicy"] = propagation_policy
    return opts


def _with_type_meta(obj: Any, res: Resource[Any]) -> Any:
    if isinstance(obj, dict) and ("kind" not in obj or "apiVersion" not in obj):
        return {"kind": res.kind, "apiVersion": res.api_version, **obj}
    return obj


def _query_string(params: Mapping[str, Any] | None) -> str:
    """ "?a=b&..." from query parameters (booleans as true/false, None values left out), or ""."""
    if not params:
        return ""
    out = {
        k: (("true" if v else "false") if isinstance(v, bool) else str(v))
        for k, v in params.items()
        if v is not None
    }
    return "?" + urlencode(out) if out else ""


def _bool(v: bool | None) -> str | None:
    return None if v is None else ("true" if v else "false")


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    try:
        base = float(retry_after) if retry_after else 0.0
    except ValueError:
        base = 0.0
    return min(max(base, 0.1 * 2**attempt), 10.0) * (1 + 0.2 * random.random())
