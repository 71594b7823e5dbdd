"""skiff.client's HTTP/1.1 transport: keep-alive asyncio connections, nothing else.

Measured here (bench/client_http.py, BENCHMARKS.md): a GET costs about 0.1 ms of client CPU this way
against about 0.23 ms through aiohttp and 1.2 ms through httpx, and the scheduler sends a binding,
an event and sometimes a status patch per pod. The API server speaks plain HTTP/1.1 with
Content-Length or chunked bodies, which is all this reads.

Requests share a pool of idle keep-alive connections (at most `max_connections` requests in flight);
a watch gets a connection of its own, held for the stream's life and closed after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class TransportError(Exception):
    """The server could not be reached, or the connection broke or timed out mid-request."""


@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]  # lower-cased names
    body: bytes


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Stream:
    """A response whose body is read as it arrives (a watch)."""

    def __init__(self, status: int, headers: dict[bytes, bytes], conn: _Conn, read_timeout: float | None):
        self.status = status
        self.headers = headers
        self._conn = conn
        self._read_timeout = read_timeout

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    async def chunks(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        last = loop.time()
        watchdog: asyncio.TimerHandle | None = None

        def check() -> None:
            # No byte for read_timeout: the server forgot the stream; breaking the connection ends
            # the read below with an error (cheaper than a timeout around every read).
            nonlocal watchdog
            assert self._read_timeout is not None
            if loop.time() - last > self._read_timeout:
                self._conn.writer.transport.abort()
            else:
                watchdog = loop.call_later(self._read_timeout / 4, check)

        if self._read_timeout is not None:
            watchdog = loop.call_later(self._read_timeout / 4, check)
        try:
            async for chunk in _body_chunks(self._conn.reader, self.status, self.headers):
                last = loop.time()
                yield chunk
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            raise TransportError(_describe(e)) from e
        finally:
            if watchdog is not None:
                watchdog.cancel()


class HttpTransport:
    def __init__(
        self,
        server: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        max_connections: int = 32,
        fixed_headers: dict[str, str | list[str]] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        u = urlsplit(server)
        self.tls = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.tls else 80)
        self.base = u.path.rstrip("/")
        self._ssl = ssl_context if self.tls else None
        self._server_hostname = (server_hostname or self.host) if self.tls else None
        self._connect_timeout = connect_timeout
        host = f"[{self.host}]" if ":" in self.host else self.host
        fixed: dict[str, str | list[str]] = {"Host": f"{host}:{self.port}", **(fixed_headers or {})}
        # a list value is a header sent once per value (Impersonate-Group)
        self._fixed = "".join(
            f"{k}: {v}\r\n" for k, vs in fixed.items() for v in (vs if isinstance(vs, list) else [vs])
        )
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._streams: set[_Conn] = set()

    async def _connect(self) -> _Conn:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives as the connection completes, and a cancelled watch would then run on.
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self._ssl, server_hostname=self._server_hostname, limit=1 << 20
                )
        except (OSError, TimeoutError, ssl.SSLError) as e:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {_describe(e)}") from e
        return _Conn(reader, writer)

    def _head(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        length = f"Content-Length: {len(body)}\r\n" if body is not None else ""
        head = f"{method} {self.base}{target} HTTP/1.1\r\n{self._fixed}{extra}{length}\r\n".encode()
        return head + body if body else head

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> Response:
        """One request over an idle keep-alive connection (or a new one); the whole body read."""
        data = self._head(method, target, headers, body)
        async with self._slots:
            conn: _Conn | None = None
            while self._idle and conn is None:
                conn = self._idle.pop()
                if not conn.usable:
                    conn.close()  # the server closed it while it was idle
                    conn = None
            reused = conn is not None
            for attempt in range(2):
                try:
                    if conn is None:
                        conn = await self._connect()
                    conn.writer.write(data)
                    async with asyncio.timeout(timeout):
                        status, resp_headers = await _read_head(conn.reader)
                        body_ = b"".join([c async for c in _body_chunks(conn.reader, status, resp_headers)])
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError, TransportError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    # A reused keep-alive connection the server had just closed: once more, fresh. A
                    # request the server may have seen (it may have died after acting on it) is
                    # repeated only if it is safe: a POST or a conditional PUT repeated after it was
                    # applied would answer 409 for a write that happened. (client-go also retries
                    # only GETs on a reset connection.)
                    if reused and attempt == 0 and method in _SAFE and not isinstance(e, TimeoutError):
                        continue
                    if isinstance(e, TransportError):
                        raise
                    raise TransportError(_describe(e)) from e
                except BaseException:  # cancelled mid-request: the connection's state is unknown
                    if conn is not None:
                        conn.close()
                    raise
                keep = b"close" not in resp_headers.get(b"connection", b"").lower() and _framed(
                    status, resp_headers
                )
                if keep:
                    self._idle.append(conn)
                else:
                    conn.close()
                return Response(status, resp_headers, body_)
        raise TransportError("unreachable")

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, target: str, headers: dict[str, str], read_timeout: float | None
    ) -> AsyncIterator[Stream]:
        """A request on a connection of its own whose body is read as it arrives; closed on exit."""
        conn = await self._connect()
        self._streams.add(conn)
        try:
            try:
                conn.writer.write(self._head(method, target, headers, None))
                async with asyncio.timeout(self._connect_timeout + (read_timeout or 0.0) or None):
                    status, resp_headers = await _read_head(conn.reader)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as e:
                raise TransportError(_describe(e)) from e
            yield Stream(status, resp_headers, conn, read_timeout)
        finally:
            self._streams.discard(conn)
            conn.close()

    async def aclose(self) -> None:
        for c in [*self._idle, *self._streams]:
            c.close()
        self._idle.clear()
        self._streams.clear()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    status = await reader.readline()
    if not status:
        raise ConnectionError("the server closed the connection")
    parts = status.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {status[:80]!r}")
    headers: dict[bytes, bytes] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ConnectionError("the server closed the connection mid-response")
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _framed(status: int, headers: dict[bytes, bytes]) -> bool:
    """Whether the body's end is known without the connection closing (else it cannot be reused)."""
    return (
        status < 200
        or status in (204, 304)
        or b"content-length" in headers
        or b"chunked" in headers.get(b"transfer-encoding", b"").lower()
    )


async def _body_chunks(
    reader: asyncio.StreamReader, status: int, headers: dict[bytes, bytes]
) -> AsyncIterator[bytes]:
    if status < 200 or status in (204, 304):
        return
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield await reader.readexactly(size)
            await reader.readexactly(2)
    length = headers.get(b"content-length")
    if length is not None:
        n = int(length)
        if n:
            yield await reader.readexactly(n)
        return
    while chunk := await reader.read(1 << 16):  # no length: the body ends with the connection
        yield chunk


def _describe(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())
