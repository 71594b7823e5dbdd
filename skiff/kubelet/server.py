"""The kubelet's HTTPS server: container logs and exec, for the API server to proxy, and /metrics.

Contract (HTTPS on node.status.daemonEndpoints.kubeletEndpoint.Port at the node's InternalIP; every
request authenticated and authorized first, see auth.py: 401 anonymous, 403 without the right on
nodes/proxy or nodes/metrics of this node):
- `GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&previous=&timestamps=`:
  chunked text/plain, one chunk per line (so a follower sees each line at once).
- `GET /exec/{namespace}/{pod}/{container}?command=..&command=..&stdin=&stdout=&stderr=&tty=`:
  a websocket with subprotocol v5.channel.k8s.io (or v4.channel.k8s.io). Binary frames whose first
  byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 status (a metav1 Status JSON: Success, or Failure
  with reason NonZeroExitCode and a cause ExitCode carrying the code), 4 resize ({"Width","Height"}).
  In v5 a frame [255, channel] closes that channel (the client closing stdin).
- `GET /healthz`: "ok"; `GET /metrics`: Prometheus text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from skiff import metrics
from skiff.client.delegated import DelegatedAuth
from skiff.kubelet.auth import node_attributes
from skiff.runtime.base import ContainerInfo, Runtime, RuntimeError_
from skiff.serving import SecureServer

log = logging.getLogger("skiff.kubelet.server")

PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255

# (namespace, pod, container, previous) -> the container attempt, or an error message.
Lookup = Callable[[str, str, str, bool], "ContainerInfo | str"]


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def exec_status(code: int, command: list[str]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {command}, "
        f"exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


class KubeletServer(SecureServer):
    def __init__(
        self, runtime: Runtime, lookup: Lookup, auth: DelegatedAuth, tls: ssl.SSLContext, node: str
    ) -> None:
        self.runtime = runtime
        self.lookup = lookup
        app = Starlette(
            routes=[
                Route("/healthz", self.healthz),
                Route("/metrics", self.metrics),
                Route("/containerLogs/{namespace}/{pod}/{container}", self.logs),
                WebSocketRoute("/exec/{namespace}/{pod}/{container}", self.exec),
            ]
        )
        super().__init__(app, auth, node_attributes(node), tls, "kubelet-server")

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics(self, request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    async def logs(self, request: Request) -> Response:
        p = request.path_params
        q = request.query_params
        found = self.lookup(p["namespace"], p["pod"], p["container"], _bool(q.get("previous")))
        if isinstance(found, str):
            # Kubernetes: an unknown pod or container is 404; no previous attempt is a bad request.
            return PlainTextResponse(found + "\n", status_code=400 if found.startswith("previous") else 404)
        tail_raw = q.get("tailLines")
        try:
            tail = int(tail_raw) if tail_raw not in (None, "") else None
        except ValueError:
            return PlainTextResponse(f"invalid tailLines {tail_raw!r}\n", status_code=400)
        follow = _bool(q.get("follow")) and found.state == "running"

        async def body() -> AsyncIterator[bytes]:
            try:
                async for line in self.runtime.logs(
                    found.id, follow=follow, tail=tail, timestamps=_bool(q.get("timestamps"))
                ):
                    yield line
            except RuntimeError_ as exc:
                yield f"error reading logs: {exc.message}\n".encode()

        return StreamingResponse(body(), media_type="text/plain")

    async def exec(self, ws: WebSocket) -> None:
        p = ws.path_params
        q = ws.query_params
        offered = [s.strip() for s in ws.headers.get("sec-websocket-protocol", "").split(",") if s.strip()]
        chosen = next((proto for proto in PROTOCOLS if proto in offered), None)
        await ws.accept(subprotocol=chosen)
        command = q.getlist("command")
        found = self.lookup(p["namespace"], p["pod"], p["container"], False)

        async def fail(message: str) -> None:
            status = {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError"}
            with contextlib.suppress(Exception):
                await ws.send_bytes(bytes([STATUS]) + json.dumps(status).encode())
                await ws.close()

        if isinstance(found, str):
            await fail(found)
            return
        if found.state != "running":
            await fail(f"container {p['container']} is not running")
            return
        if not command:
            await fail("you must specify at least one command for the container")
            return
        want_stdin = _bool(q.get("stdin") or q.get("input"))
        tty = _bool(q.get("tty"))
        try:
            session = await self.runtime.exec(found.id, command, stdin=want_stdin, tty=tty)
        except RuntimeError_ as exc:
            await fail(exc.message)
            return

        async def pump_in() -> None:
            try:
                while True:
                    data = await ws.receive_bytes()
                    if not data:
                        continue
                    ch, payload = data[0], data[1:]
                    if ch == STDIN and want_stdin:
                        await session.write_stdin(payload)
                    elif ch == RESIZE:
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            size = json.loads(payload)
                            await session.resize(int(size["Width"]), int(size["Height"]))
                    elif ch == CLOSE and payload[:1] == bytes([STDIN]):
                        await session.close_stdin()
            except (WebSocketDisconnect, RuntimeError, KeyError):
                await session.close_stdin()

        reader = asyncio.create_task(pump_in())
        try:
            async for ch, data in session.output():
                await ws.send_bytes(bytes([ch]) + data)
            code = await session.wait()
            await ws.send_bytes(bytes([STATUS]) + json.dumps(exec_status(code, command)).encode())
            await ws.close()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            await session.close()
