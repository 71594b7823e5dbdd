"""Liveness, readiness and startup probes (exec, httpGet, tcpSocket) for one running container.

Kubernetes' rules: probes start after initialDelaySeconds and run every periodSeconds (default 10)
with timeoutSeconds (default 1); a result flips after successThreshold (default 1) successes or
failureThreshold (default 3) failures in a row. While a startup probe has not succeeded, liveness and
readiness do not run and the container is neither started nor ready; a startup or liveness failure
kills the container (the restart policy decides what follows). Without a readiness probe a started
container is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import httpx

from skiff.api import core
from skiff.runtime.base import Runtime

log = logging.getLogger("skiff.kubelet.probes")

USER_AGENT = "kube-probe/1.32"


def resolve_port(port: int | str, container: core.Container) -> int:
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for p in container.ports or []:
        if p.name == port:
            return p.container_port
    raise ValueError(f"port {port!r} is not a port of container {container.name}")


async def run_probe(
    probe: core.Probe | core.LifecycleHandler,
    runtime: Runtime,
    container_id: str,
    container: core.Container,
    pod_ip: str,
    http: httpx.AsyncClient,
    timeout: float,
) -> tuple[bool, str]:
    """One probe (or lifecycle hook) run: (success, message for the Unhealthy event)."""
    try:
        if probe.exec is not None:
            code, out = await runtime.exec_sync(container_id, list(probe.exec.command or []), timeout)
            if code == 0:
                return True, ""
            text = out.decode(errors="replace").strip()
            return False, f"command {probe.exec.command!r} exited with {code}: {text}"
        if probe.http_get is not None:
            g = probe.http_get
            port = resolve_port(g.port, container)
            scheme = (g.scheme or "HTTP").lower()
            host = g.host or pod_ip
            path = g.path or "/"
            if not path.startswith("/"):
                path = "/" + path
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
            for h in g.http_headers or []:
                headers[h.name] = h.value
            url = f"{scheme}://{host}:{port}{path}"
            resp = await http.get(url, headers=headers, timeout=timeout)
            if 200 <= resp.status_code < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {resp.status_code}"
        if probe.tcp_socket is not None:
            port = resolve_port(probe.tcp_socket.port, container)
            host = probe.tcp_socket.host or pod_ip
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True, ""
        if isinstance(probe, core.LifecycleHandler) and probe.sleep is not None:
            await asyncio.sleep(probe.sleep.seconds)
            return True, ""
        if isinstance(probe, core.Probe) and probe.grpc is not None:
            return False, "grpc probes are not supported by skiff"
        return True, ""
    except TimeoutError:
        return False, f"timeout after {timeout:g}s"
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return False, str(exc) or type(exc).__name__
    except Exception as exc:  # a probe never takes the kubelet down
        return False, f"{type(exc).__name__}: {exc}"


class Prober:
    """The probes of one container attempt. `on_change` is called when ready/started flip;
    `on_kill(kind, message)` when liveness or startup fails for good; `on_event(reason, message)`
    records Unhealthy events."""

    def __init__(
        self,
        runtime: Runtime,
        container_id: str,
        container: core.Container,
        pod_ip: str,
        http: httpx.AsyncClient,
        started_at: float,
        on_change: Callable[[], None],
        on_kill: Callable[[str, str], None],
        on_event: Callable[[str, str], None],
    ) -> None:
        self.runtime = runtime
        self.container_id = container_id
        self.container = container
        self.pod_ip = pod_ip
        self.http = http
        self.started_at = started_at
        self.on_change = on_change
        self.on_kill = on_kill
        self.on_event = on_event
        self.started = container.startup_probe is None
        self.ready = container.readiness_probe is None and self.started
        self._started_event = asyncio.Event()
        if self.started:
            self._started_event.set()
        self.tasks: list[asyncio.Task[None]] = []
        self.killed = False

    def start(self) -> None:
        c = self.container
        if c.startup_probe is not None:
            self.tasks.append(asyncio.create_task(self._loop("Startup", c.startup_probe)))
        if c.liveness_probe is not None:
            self.tasks.append(asyncio.create_task(self._loop("Liveness", c.liveness_probe)))
        if c.readiness_probe is not None:
            self.tasks.append(asyncio.create_task(self._loop("Readiness", c.readiness_probe)))

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()

    async def _loop(self, kind: str, probe: core.Probe) -> None:
        period = max(1, probe.period_seconds or 10)
        timeout = max(1, probe.timeout_seconds or 1)
        success_needed = max(1, probe.success_threshold or 1)
        failure_needed = max(1, probe.failure_threshold or 3)
        if kind != "Startup":
            await self._started_event.wait()
        delay = self.started_at + (probe.initial_delay_seconds or 0) - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        successes = failures = 0
        while not self.killed:
            ok, message = await run_probe(
                probe, self.runtime, self.container_id, self.container, self.pod_ip, self.http, timeout
            )
            if ok:
                successes, failures = successes + 1, 0
                if successes >= success_needed:
                    if kind == "Startup":
                        self.started = True
                        self.ready = self.container.readiness_probe is None
                        self._started_event.set()
                        self.on_change()
                        return
                    if kind == "Readiness" and not self.ready:
                        self.ready = True
                        self.on_change()
            else:
                successes, failures = 0, failures + 1
                self.on_event("Unhealthy", f"{kind} probe failed: {message}")
                if kind == "Readiness" and self.ready and failures >= failure_needed:
                    self.ready = False
                    self.on_change()
                if kind in ("Liveness", "Startup") and failures >= failure_needed:
                    self.killed = True
                    self.on_kill(kind, message)
                    return
            await asyncio.sleep(period)
