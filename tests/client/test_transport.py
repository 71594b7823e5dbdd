"""skiff.client's own HTTP/1.1 transport against a minimal server: TLS with a CA and tls-server-name,
chunked watch streams, and keep-alive connections the server closed while they were idle."""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from skiff.api.core import Pod
from skiff.client import Client, ConnectError, KubeConfig

from .util import self_signed

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # True: keep the connection


@asynccontextmanager
async def _server(handler: Handler, tls: tuple[bytes, bytes] | None = None) -> AsyncIterator[str]:
    ctx = None
    if tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "c.pem").write_bytes(tls[0])
            (Path(d) / "k.pem").write_bytes(tls[1])
            ctx.load_cert_chain(str(Path(d) / "c.pem"), str(Path(d) / "k.pem"))

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                if not await handler(head, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ctx)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        srv.close()


def _json(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + (b"Content-Length: %d\r\n\r\n" % len(body) + body)
    )


async def test_tls_with_ca_and_server_name() -> None:
    cert, key = self_signed("apiserver.test", dns_name="apiserver.test")
    seen: list[bytes] = []

    async def handler(head: bytes, w: asyncio.StreamWriter) -> bool:
        seen.append(head.split(b"\r\n")[0])
        w.write(_json(b'{"major":"1","minor":"31"}'))
        return True

    async with _server(handler, (cert, key)) as url:
        # The certificate names apiserver.test, not 127.0.0.1: only tls-server-name makes it match.
        cfg = KubeConfig(server=url, ca_pem=cert, tls_server_name="apiserver.test")
        async with Client(cfg) as c:
            assert await c.get_raw("/version") == {"major": "1", "minor": "31"}
            assert await c.get_raw("/version", {"x": "a b"}) == {"major": "1", "minor": "31"}
    assert seen == [b"GET /version HTTP/1.1", b"GET /version?x=a+b HTTP/1.1"]


async def test_watch_reads_a_chunked_stream() -> None:
    events = [
        b'{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","resourceVersion":"5"}}}\n',
        b'{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"a","resourceVersion":"6"}}}\n',
    ]

    async def handler(head: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        whole = b"".join(events)
        for part in (whole[:30], whole[30:100], whole[100:]):  # chunks that split lines
            w.write(b"%x\r\n%s\r\n" % (len(part), part))
            await w.drain()
        w.write(b"0\r\n\r\n")
        return False

    async with _server(handler) as url, Client(KubeConfig(server=url)) as c:
        got = [(e.type, e.object.metadata.resource_version) async for e in c.watch(Pod, "default")]
    assert got == [("ADDED", "5"), ("MODIFIED", "6")]


async def test_a_keepalive_connection_closed_by_the_server_is_replaced() -> None:
    answered = 0

    async def handler(head: bytes, w: asyncio.StreamWriter) -> bool:
        nonlocal answered
        answered += 1
        w.write(_json(b"{}"))
        await w.drain()
        return False  # close after each answer, without saying so

    async with _server(handler) as url, Client(KubeConfig(server=url)) as c:
        for _ in range(3):
            await c.get_raw("/version")
            await asyncio.sleep(0.05)
    assert answered == 3


async def _second_request_dies_unanswered(method: str) -> tuple[list[bytes], Exception | None]:
    """A keep-alive connection whose server reads the second request and dies without answering (an
    API server killed mid-request); a fresh connection is answered. Returns what the server received."""
    received: list[bytes] = []

    async def handler(head: bytes, w: asyncio.StreamWriter) -> bool:
        received.append(head.split(b"\r\n")[0])
        if len(received) == 2:
            return False  # read, acted on perhaps, never answered
        w.write(_json(b"{}"))
        await w.drain()
        return True

    error: Exception | None = None
    async with _server(handler) as url, Client(KubeConfig(server=url), max_retries=0) as c:
        await c.get_raw("/version")
        try:
            await c.request(method, "/api/v1/namespaces/default/pods", body={"kind": "Pod"})
        except Exception as e:
            error = e
    return received, error


async def test_a_write_the_server_may_have_seen_is_not_sent_twice() -> None:
    received, error = await _second_request_dies_unanswered("POST")
    assert received == [b"GET /version HTTP/1.1", b"POST /api/v1/namespaces/default/pods HTTP/1.1"]
    assert isinstance(error, ConnectError)


async def test_a_read_on_a_dead_keepalive_connection_is_sent_again() -> None:
    received, error = await _second_request_dies_unanswered("GET")
    assert error is None
    assert received[1:] == [b"GET /api/v1/namespaces/default/pods HTTP/1.1"] * 2
