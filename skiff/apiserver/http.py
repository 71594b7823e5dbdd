"""uvicorn's httptools protocol, writing a response's head and its first body part in one write.

uvicorn writes the head when the application sends ``http.response.start`` and the body on the next
message: two send() calls and two TCP segments per response, and the head's is the one that wakes
the client (py-spy: ~20% of a pod create's CPU went to those two writes). Here the head waits for the
first body message and leaves with it. Nothing else changes: a HEAD response (no body written) and a
connection closed meanwhile still get the head first.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _Held:
    """Stands in for the transport while the head is written: keeps the bytes."""

    __slots__ = ("data", "real")

    def __init__(self, real: Any) -> None:
        self.real = real
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class _Prefixed:
    """Stands in for the transport during the first body message: its first write carries the head."""

    __slots__ = ("head", "real")

    def __init__(self, real: Any, head: bytes) -> None:
        self.real = real
        self.head = head

    def flush(self) -> None:
        if self.head:
            self.real.write(self.head)
            self.head = b""

    def write(self, data: bytes) -> None:
        if self.head:
            data = self.head + data
            self.head = b""
        self.real.write(data)

    def close(self) -> None:
        self.flush()
        self.real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class _Cycle(RequestResponseCycle):
    held: bytes | None = None

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not self.response_started:
            real = self.transport
            hold = _Held(real)
            self.transport = hold  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = real
            self.held = hold.data
            return
        head = self.held
        if head is None:
            await super().send(message)
            return
        self.held = None
        real = self.transport
        pre = _Prefixed(real, head)
        self.transport = pre  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = real
            pre.flush()


class HTTPProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the one-write response head (pass as ``http=``)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _Cycle
