"""The store's health as the API answers it: 503 with Retry-After while the store is in trouble, and
the ``etcd`` check of /readyz.

A request whose store call fails with StoreUnavailableError (etcd without quorum, the SQLite file locked
by another process, the disk full) gets 503 ServiceUnavailable with ``Retry-After`` and
``details.retryAfterSeconds``: nothing was acknowledged, so the client may simply retry. Such a failure
also marks the store unhealthy at once; a probe (``Store.check``: a linearizable read on etcd, an empty
commit on SQLite) runs every ``period`` seconds and decides when it is healthy again. Nothing restarts:
the next request after the store returns simply works.

As in Kubernetes, /readyz fails (HTTP 500, ``[-]etcd failed: reason withheld``) while the store is
unreachable, /livez and /healthz do not (a restart would not bring the store back). Reads the watch
cache can answer (``resourceVersion=0`` lists and gets, watches) keep working; consistent reads need the
store's current revision, so on etcd they fail with the 503 too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from skiff.apiserver import errors
from skiff.store import Store, StoreError, StoreUnavailableError

log = logging.getLogger("skiff.apiserver.health")

RETRY_AFTER = 1  # seconds a client is asked to wait before retrying
PERIOD = 2.0
PROBE_TIMEOUT = 5.0


def unavailable(e: StoreUnavailableError) -> errors.APIError:
    err = errors.unavailable(f"the storage is unavailable, please try again: {e}")
    err.details = {"retryAfterSeconds": RETRY_AFTER}
    return err


class StoreHealth:
    def __init__(self, store: Store, period: float = PERIOD, timeout: float = PROBE_TIMEOUT) -> None:
        self.store = store
        self.period = period
        self.timeout = timeout
        self.error: str | None = None
        self.since = 0.0  # monotonic time the current trouble started
        self._task: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None

    def failed(self, why: str) -> None:
        if self.error is None:
            self.since = time.monotonic()
            log.warning("store unavailable", extra={"kv": {"error": why}})
        self.error = why

    def recovered(self) -> None:
        if self.error is not None:
            took = time.monotonic() - self.since
            log.info("store available again", extra={"kv": {"after_s": f"{took:.1f}"}})
        self.error = None

    async def probe(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                await self.store.check()
        except StoreError as e:
            self.failed(str(e))
        except TimeoutError:
            self.failed(f"the store did not answer within {self.timeout:g}s")
        else:
            self.recovered()
        return self.healthy

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("store probe failed")
            await asyncio.sleep(self.period)

    def readyz(self, request: Request, started: bool) -> Response:
        """Kubernetes' format: ``ok``, or the failed checks and HTTP 500; ``?verbose`` lists every check."""
        checks = [("ping", True), ("etcd", self.healthy), ("informer-sync", started)]
        ok = all(passed for _, passed in checks)
        if ok and "verbose" not in request.query_params:
            return PlainTextResponse("ok")
        lines = [
            f"[+]{name} ok" if passed else f"[-]{name} failed: reason withheld" for name, passed in checks
        ]
        text = "\n".join(lines) + "\n"
        if ok:
            return PlainTextResponse(text + "readyz check passed\n")
        return PlainTextResponse(text + "readyz check failed\n", 500)
