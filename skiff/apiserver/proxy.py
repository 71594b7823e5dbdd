"""pods/log and pods/exec, proxied to the kubelet of the pod's node.

The kubelet contract (the kubelet implements its side to match):

- The kubelet serves HTTPS on ``node.status.daemonEndpoints.kubeletEndpoint.Port`` at the node's
  ``InternalIP`` address (``node.status.addresses``). The API server verifies the kubelet's serving
  certificate against the cluster CA (``skiff up`` issues it for the node's addresses) and presents its
  own client certificate, DATA_DIR/pki/apiserver-kubelet-client.pem: user
  ``kube-apiserver-kubelet-client`` in group ``skiff:kubelet-api-admins``, bound to the bootstrap
  ClusterRole ``system:kubelet-api-admin`` (Kubernetes' --kubelet-client-certificate).
- The kubelet authenticates every request (client certificate against the cluster CA, or a bearer
  token through a TokenReview; none: 401) and authorizes it with a SubjectAccessReview on resource
  ``nodes``, name = the node, subresource ``proxy`` for logs and exec, ``metrics`` for /metrics
  (refused: 403 ``Forbidden (user=U, verb=V, resource=nodes, subresource=S)``). The API server passes
  a kubelet's 401/403 on to its client.
- ``GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&previous=&timestamps=``
  answers the container's log as chunked ``text/plain``, flushed per line; with ``follow=true`` it
  stays open while the container runs. Unknown pod or container: 404 with a one-line message.
- ``GET /exec/{namespace}/{pod}/{container}?command=..&command=..&stdin=&stdout=&stderr=&tty=`` is a
  websocket speaking ``v5.channel.k8s.io`` (and ``v4.channel.k8s.io``): binary frames whose first byte
  is the channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize; v5 adds 255 = close a channel).
  Channel 3 carries a final Status: ``{"metadata":{},"status":"Success"}`` or a Failure with reason
  NonZeroExitCode and ``details.causes[{"reason":"ExitCode","message":"N"}]``.

The API server resolves the pod's node, then relays bytes: the log stream chunk by chunk, exec as
websocket-to-websocket (same subprotocol on both legs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import urllib.parse
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import websockets
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from skiff.apiserver import errors, negotiate, query
from skiff.apiserver.auth import certs
from skiff.apiserver.handlers import Handlers, Route
from skiff.apiserver.resources import Obj

if TYPE_CHECKING:
    from skiff.apiserver.app import API

log = logging.getLogger("skiff.apiserver.proxy")
SUBPROTOCOLS = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
]


def kubelet_client_context(data_dir: str | os.PathLike[str]) -> ssl.SSLContext:
    """TLS towards kubelets: their serving certificates verified against the cluster CA, and the API
    server's kubelet-client certificate presented."""
    ca = certs.load_or_create_ca(data_dir)
    ctx = ssl.create_default_context(cafile=str(ca.path))
    ctx.load_cert_chain(str(certs.kubelet_client_pem(data_dir)))
    return ctx


class Kubelets:
    """How the API server reaches kubelets: the TLS context (kubelet_client_context) and one pooled
    HTTP client, so that log requests to a kubelet reuse kept-alive connections instead of paying a
    handshake each (exec dials a websocket per session)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self._http: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        if self._http is None:  # made on first use, inside the serving event loop
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, read=None),  # a followed log may be quiet for long
                verify=self.tls or True,
                # Idle connections are dropped here before the kubelet drops them (skiff.serving:
                # KEEP_ALIVE), so a request never goes out on a connection the kubelet is closing.
                limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=64, keepalive_expiry=30.0
                ),
                trust_env=False,
            )
        return self._http


async def _target(h: Handlers, r: Route, container: str | None) -> tuple[str, str]:
    """(kubelet base address host:port, container name) for the pod of the route."""
    assert r.name is not None
    pod, _ = await h.storage.get(r.info, r.namespace or "", r.name)
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    names += [c.get("name") for c in spec.get("initContainers") or []]
    if not container:
        main = [c.get("name") for c in spec.get("containers") or []]
        if len(main) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {r.name}, "
                f"choose one of: [{' '.join(map(str, main))}]"
            )
        container = str(main[0])
    elif container not in names:
        raise errors.bad_request(f"container {container} is not valid for pod {r.name}")
    node_name = spec.get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {r.name} does not have a host assigned")
    nodes = h.by_store_plural["nodes"]
    node, _ = await h.storage.get(nodes, "", node_name)
    return kubelet_address(node), container


async def exec_without_upgrade(h: Handlers, r: Route, request: Request) -> NoReturn:
    """An exec or attach that is not a websocket: what kubectl sends (SPDY, a POST) after its
    websocket upgrade was refused. The pod's own problem (no host assigned, no such container, not
    found) is the answer, as on Kubernetes; past those, SPDY, which skiff does not speak."""
    await _target(h, r, request.query_params.get("container"))
    raise errors.bad_request(
        f"pods/{r.sub} needs a websocket upgrade ({', '.join(SUBPROTOCOLS)}; kubectl 1.29 or later):"
        " SPDY is not supported"
    )


def kubelet_address(node: Obj) -> str:
    status = node.get("status") or {}
    port = (((status.get("daemonEndpoints") or {}).get("kubeletEndpoint")) or {}).get("Port")
    addrs = status.get("addresses") or []
    ip = next((a.get("address") for a in addrs if a.get("type") == "InternalIP"), None)
    if ip is None:
        ip = next((a.get("address") for a in addrs if a.get("type") == "Hostname"), None)
    if not port or not ip:
        name = (node.get("metadata") or {}).get("name", "")
        raise errors.APIError(503, "ServiceUnavailable", f"the kubelet of node {name} publishes no address")
    host = f"[{ip}]" if ":" in str(ip) else str(ip)
    return f"{host}:{port}"


PASSED_ON = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}


async def logs(h: Handlers, r: Route, request: Request, kubelets: Kubelets) -> Response:
    q = request.query_params
    follow = query.boolean(q, "follow")
    previous = query.boolean(q, "previous")
    timestamps = query.boolean(q, "timestamps")
    tail = query.integer(q, "tailLines", None)
    addr, container = await _target(h, r, q.get("container"))
    params: dict[str, str] = {
        "follow": str(follow).lower(),
        "previous": str(previous).lower(),
        "timestamps": str(timestamps).lower(),
    }
    if tail is not None:
        params["tailLines"] = str(tail)
    for extra in ("sinceSeconds", "sinceTime", "limitBytes"):
        if q.get(extra):
            params[extra] = q[extra]
    url = f"https://{addr}/containerLogs/{r.namespace}/{r.name}/{container}"
    client = kubelets.http()
    try:
        resp = await client.send(client.build_request("GET", url, params=params), stream=True)
    except httpx.HTTPError as e:
        raise errors.APIError(500, "InternalError", f'Get "{url}": {e}') from None
    if resp.status_code != 200:
        text = (await resp.aread()).decode(errors="replace").strip()
        await resp.aclose()
        code = resp.status_code if resp.status_code in PASSED_ON else 500
        raise errors.APIError(code, PASSED_ON.get(code, "InternalError"), text)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            return
        finally:
            await resp.aclose()

    return StreamingResponse(body(), 200, media_type="text/plain")


async def exec_ws(api: API, ws: WebSocket) -> None:
    path = ws.url.path
    try:
        r, _ = api.parse(path)
        if r is None or r.sub not in ("exec", "attach") or r.name is None:
            raise errors.page_not_found(path)
        # A websocket upgrade is a GET, but exec and attach are authorized as "create" (Kubernetes).
        await api.authorize_route(r, ws.scope, ws.query_params, verb="create")
        q = ws.query_params
        addr, container = await _target(api.h, r, q.get("container"))
    except errors.APIError as e:
        await ws.close(code=1008, reason=e.message[:120])
        return
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    proto = next((p for p in offered if p in SUBPROTOCOLS), None)
    pairs = [(k, v) for k, v in q.multi_items() if k != "container"]
    url = f"wss://{addr}/exec/{r.namespace}/{r.name}/{container}?{urllib.parse.urlencode(pairs)}"
    try:
        upstream = await websockets.connect(
            url,
            subprotocols=[proto] if proto else None,  # type: ignore[list-item]
            max_size=None,
            ssl=api.kubelets.tls or True,
        )
    except Exception as e:
        await ws.accept(subprotocol=proto)
        code, detail = 500, str(e)[:200]
        if isinstance(e, websockets.InvalidStatus) and e.response.status_code in PASSED_ON:
            code, detail = e.response.status_code, e.response.body.decode(errors="replace").strip()[:200]
        failure = {
            "metadata": {},
            "status": "Failure",
            "message": f"error dialing the kubelet: {detail}",
            "reason": PASSED_ON.get(code, "InternalError"),
            "code": code,
        }
        msg = json.dumps(failure)
        await ws.send_bytes(b"\x03" + msg.encode())
        await ws.close()
        return
    await ws.accept(subprotocol=proto)

    async def down() -> None:
        try:
            async for msg in upstream:
                if isinstance(msg, bytes):
                    await ws.send_bytes(msg)
                else:
                    await ws.send_text(msg)
        except websockets.ConnectionClosed:
            pass

    async def up() -> None:
        try:
            while True:
                m: Any = await ws.receive()
                if m["type"] == "websocket.disconnect":
                    return
                if m.get("bytes") is not None:
                    await upstream.send(m["bytes"])
                elif m.get("text") is not None:
                    await upstream.send(m["text"])
        except (WebSocketDisconnect, websockets.ConnectionClosed):
            pass

    t_down = asyncio.create_task(down())
    t_up = asyncio.create_task(up())
    await asyncio.wait({t_down}, return_when=asyncio.FIRST_COMPLETED)
    t_up.cancel()
    await upstream.close()
    try:
        await ws.close()
    except RuntimeError:
        pass
    _ = negotiate
