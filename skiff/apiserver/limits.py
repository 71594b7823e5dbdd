"""Load limits in front of the handlers: requests in flight, and watches per user.

- At most ``max_inflight`` short requests run at once; beyond that the answer is 429 TooManyRequests
  with ``Retry-After: 1``, as kube-apiserver's --max-requests-inflight does. Long-running requests
  (watches, logs, exec) do not count, and system:masters is exempt, also as in Kubernetes: an admin
  can always get in to look at an overloaded server.
- At most ``max_watches`` open watches per user (a leaking client cannot hold every connection); the
  next one is refused with 429.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from skiff.apiserver.auth.user import MASTERS, UserInfo, user_of

TOO_MANY = orjson.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Too many requests, please try again later.",
        "reason": "TooManyRequests",
        "details": {"retryAfterSeconds": 1},
        "code": 429,
    }
)
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(TOO_MANY)).encode()),
    (b"retry-after", b"1"),
]

App = Callable[[Any, Any, Any], Awaitable[None]]


def is_watch(scope: Any) -> bool:
    if "/watch/" in scope["path"]:
        return True
    qs: bytes = scope.get("query_string", b"")
    if b"watch=" not in qs:
        return False
    for part in qs.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == b"watch":
            return value.lower() in (b"true", b"1", b"t")
    return False


def is_long_running(scope: Any) -> bool:
    path: str = scope["path"]
    return path.endswith(("/log", "/exec", "/attach", "/portforward")) or "/proxy" in path


async def too_many(send: Any) -> None:
    await send({"type": "http.response.start", "status": 429, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": TOO_MANY})


class Limits:
    def __init__(self, max_inflight: int, max_watches: int) -> None:
        self.max_inflight = max_inflight
        self.max_watches = max_watches
        self.inflight = 0
        self.watches: dict[str, int] = {}

    async def run(self, app: App, scope: Any, receive: Any, send: Any) -> None:
        """Run an HTTP request through ``app`` within the limits."""
        if is_watch(scope):
            await self._watch(app, user_of(scope), scope, receive, send)
            return
        if is_long_running(scope):
            await app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight and MASTERS not in user_of(scope).groups:
            await too_many(send)
            return
        self.inflight += 1
        try:
            await app(scope, receive, send)
        finally:
            self.inflight -= 1

    async def _watch(self, app: App, user: UserInfo, scope: Any, receive: Any, send: Any) -> None:
        n = self.watches.get(user.name, 0)
        if n >= self.max_watches:
            await too_many(send)
            return
        self.watches[user.name] = n + 1
        try:
            await app(scope, receive, send)
        finally:
            left = self.watches[user.name] - 1
            if left:
                self.watches[user.name] = left
            else:
                del self.watches[user.name]
