"""API server benchmark (results in BENCHMARKS.md): a real `skiff apiserver` on SQLite.

- creates: pods/s and latency from C concurrent clients (keep-alive connections);
- get: latency of single-pod reads;
- list: time to list N pods (consistent list, served from the watch cache);
- watch: W watchers on one namespace while a writer creates pods at R/s; delivery latency is the
  time from the create's send to the event's arrival, over every (watcher, event) pair.

Clients speak raw HTTP/1.1 over asyncio streams (TLS with the admin's client certificate, as every
client does) so the client costs little of the machine's CPU. The watchers run in separate processes,
each reading its sockets with one selector and only counting events as they arrive: the k-th event a
watcher receives is the k-th pod by resourceVersion, whose send time the writer recorded.
``--insecure-http`` measures the same server without TLS and authentication, to see what they cost.
Run: python -m bench.apiserver [--pods N] [--watchers W] [--insecure-http] ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.tls import admin_tls
from skiff.ports import free_port


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(len(xs) * p))]


# The client TLS context (cluster CA + admin certificate); None against an --insecure-http server.
# A module global so that forked watcher processes inherit it.
TLS: ssl.SSLContext | None = None


class Conn:
    """One keep-alive HTTP/1.1 connection with Content-Length responses (no chunked bodies)."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())  # e.g. Impersonate-User
        self.r: asyncio.StreamReader
        self.w: asyncio.StreamWriter

    async def open(self) -> None:
        server_hostname = self.host if TLS else None
        self.r, self.w = await asyncio.open_connection(
            self.host, self.port, ssl=TLS, server_hostname=server_hostname
        )

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nAccept: application/json\r\n{self.extra}\r\n"
        ).encode()
        self.w.write(head + body)
        status_line = await self.r.readline()
        code = int(status_line.split()[1])
        length = 0
        chunked = False
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
            elif k.lower() == "transfer-encoding" and "chunked" in v:
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.r.readline()).strip(), 16)
                if size == 0:
                    await self.r.readline()
                    break
                parts.append(await self.r.readexactly(size))
                await self.r.readline()
            return code, b"".join(parts)
        return code, await self.r.readexactly(length)

    def close(self) -> None:
        self.w.close()


def pod_body(name: str) -> bytes:
    meta: dict[str, Any] = {"name": name, "labels": {"app": "bench"}}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": {
                "containers": [
                    {"name": "main", "image": "busybox:1", "resources": {"requests": {"cpu": "10m"}}}
                ]
            },
        }
    ).encode()


async def bench_creates(
    host: str,
    port: int,
    ns: str,
    total: int,
    clients: int,
    headers: dict[str, str] | None = None,
    prefix: str = "p",
) -> dict[str, float]:
    lat: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        c = Conn(host, port, headers)
        await c.open()
        for i in counter:
            body = pod_body(f"{prefix}{i:06d}")
            t0 = time.perf_counter()
            code, resp = await c.request("POST", f"/api/v1/namespaces/{ns}/pods", body)
            lat.append(time.perf_counter() - t0)
            if code != 201:
                raise RuntimeError(f"create failed {code}: {resp[:200]!r}")
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    dt = time.perf_counter() - t0
    return {"rate": total / dt, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


async def bench_gets(host: str, port: int, ns: str, total: int, clients: int, names: int) -> dict[str, float]:
    lat: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        c = Conn(host, port)
        await c.open()
        for i in counter:
            t0 = time.perf_counter()
            code, _ = await c.request("GET", f"/api/v1/namespaces/{ns}/pods/p{i % names:06d}")
            lat.append(time.perf_counter() - t0)
            assert code == 200
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    dt = time.perf_counter() - t0
    return {"rate": total / dt, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


async def bench_list(host: str, port: int, ns: str, runs: int) -> dict[str, float]:
    c = Conn(host, port)
    await c.open()
    times = []
    n = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        code, body = await c.request("GET", f"/api/v1/namespaces/{ns}/pods")
        times.append(time.perf_counter() - t0)
        assert code == 200
        n = body.count(b'"kind":"Pod"')
    c.close()
    return {"items": n, "median_ms": statistics.median(times) * 1e3, "max_ms": max(times) * 1e3}


# Every event of the bench's watch is an ADDED pod, and a watch delivers in resourceVersion order.
_ADDED = b'{"type":"ADDED","object":'


class _WatchStream:
    """One watch connection in a watcher process: per read, its arrival time and how many events it
    completed. Which pods those were follows from the order (the k-th event is the k-th pod by
    resourceVersion), so the reader only counts: a C-level scan, no parsing while events stream in."""

    __slots__ = ("got", "reads", "sock", "tail")

    def __init__(self, sock: socket.socket, tail: bytes) -> None:
        self.sock = sock
        self.tail = b""
        self.reads: list[tuple[float, int]] = []
        self.got = 0
        self.feed(tail, time.time())

    def feed(self, data: bytes, now: float) -> None:
        buf = self.tail + data
        n = buf.count(_ADDED)  # the tail is shorter than the marker: nothing is counted twice
        self.tail = buf[-(len(_ADDED) - 1) :]
        if n:
            self.reads.append((now, n))
            self.got += n


def _open_watch(host: str, port: int, path: str) -> _WatchStream:
    sock: socket.socket = socket.create_connection((host, port))
    if TLS is not None:
        sock = TLS.wrap_socket(sock, server_hostname=host)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        more = sock.recv(65536)
        if not more:
            raise RuntimeError("watch closed before its response head")
        head += more
    code = int(head.split(None, 2)[1])
    if code != 200:
        raise RuntimeError(f"watch answered {code}: {head[:300]!r}")
    sock.setblocking(False)
    return _WatchStream(sock, head.split(b"\r\n\r\n", 1)[1])


def _watch_proc(host: str, port: int, ns: str, rv: str, count: int, expect: int, q: Any) -> None:
    """``count`` watchers in one process, read with one selector over non-blocking sockets.

    The load generator shares the machine with the server it measures, so it must take as little
    CPU as it can: OpenSSL decrypts straight from each socket and each read is only counted.
    """
    path = f"/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion={rv}"
    streams = [_open_watch(host, port, path) for _ in range(count)]
    sel = selectors.DefaultSelector()
    for st in streams:
        sel.register(st.sock, selectors.EVENT_READ, st)
    open_ = count
    while open_:
        ready = sel.select(timeout=60)
        if not ready:
            break  # nothing for a minute: report what arrived
        for key, _ in ready:
            st = key.data
            while True:
                try:
                    data = st.sock.recv(1 << 20)
                except (ssl.SSLWantReadError, BlockingIOError):
                    break
                if not data:
                    sel.unregister(st.sock)
                    open_ -= 1
                    break
                st.feed(data, time.time())
                if st.got >= expect:
                    sel.unregister(st.sock)
                    open_ -= 1
                    break
    for st in streams:
        st.sock.close()
    q.put(([st.reads for st in streams], time.process_time()))


async def bench_watch(
    host: str, port: int, ns: str, watchers: int, rate: int, seconds: float, procs: int
) -> dict[str, float]:
    c = Conn(host, port)
    await c.open()
    _, body = await c.request("GET", f"/api/v1/namespaces/{ns}/pods?limit=1")
    rv = json.loads(body)["metadata"]["resourceVersion"]
    total = int(rate * seconds)
    q: Any = mp.Queue()
    per = watchers // procs
    ps = [
        mp.Process(target=_watch_proc, args=(host, port, ns, rv, per, total, q), daemon=True)
        for _ in range(procs)
    ]
    for p in ps:
        p.start()
    await asyncio.sleep(2.0)  # let the watchers connect
    # Enough writers that the paced load does not depend on create latency (16 sequential writers
    # capped the rate at 16 / latency: ~650/s at 25 ms).
    writers = 64
    conns = [Conn(host, port) for _ in range(writers)]
    for w in conns:
        await w.open()
    sent_at: dict[str, float] = {}  # pod name -> wall-clock time its create was sent
    answered_at: dict[str, float] = {}  # ... and its 201 arrived
    t0 = time.perf_counter()

    async def writer(k: int) -> None:
        for i in range(k, total, writers):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            name = f"w{i:06d}"
            body = pod_body(name)
            sent_at[name] = time.time()
            code, resp = await conns[k].request("POST", f"/api/v1/namespaces/{ns}/pods", body)
            answered_at[name] = time.time()
            if code != 201:
                raise RuntimeError(f"create failed {code}: {resp[:200]!r}")

    await asyncio.gather(*(writer(k) for k in range(writers)))
    achieved = total / (time.perf_counter() - t0)
    reads: list[list[tuple[float, int]]] = []
    client_cpu = 0.0
    for _ in ps:
        got, cpu = q.get(timeout=120)
        reads += got
        client_cpu += cpu
    for p in ps:
        p.join(10)
    # The k-th event every watcher received is the k-th pod in resourceVersion order.
    _, body = await c.request("GET", f"/api/v1/namespaces/{ns}/pods")
    items = sorted(json.loads(body)["items"], key=lambda p: int(p["metadata"]["resourceVersion"]))
    names = [p["metadata"]["name"] for p in items]
    sent = [sent_at[n] for n in names]
    answered = [answered_at[n] for n in names]
    lat: list[float] = []
    after_answer: list[float] = []  # the watch path's share: from the create's 201 to the event
    for one in reads:
        k = 0
        for arrived, n in one:
            lat += [arrived - t for t in sent[k : k + n]]
            after_answer += [arrived - t for t in answered[k : k + n]]
            k += n
    create_ms = [(a - t) * 1e3 for a, t in zip(answered, sent, strict=True)]
    return {
        "watchers": watchers,
        "write_rate": achieved,
        "delivered": len(lat),
        "expected": watchers * total,
        "p50_ms": pct(lat, 0.5) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "create_p50_ms": pct(create_ms, 0.5),
        "create_p99_ms": pct(create_ms, 0.99),
        "after_answer_p50_ms": pct(after_answer, 0.5) * 1e3,
        "after_answer_p99_ms": pct(after_answer, 0.99) * 1e3,
        "watch_clients_cpu_s": client_cpu,
    }


def start_server(data_dir: Path, port: int, insecure: bool = False) -> subprocess.Popen[bytes]:
    """Start a server; sets TLS for the clients unless ``insecure`` (plain HTTP, no authentication)."""
    global TLS
    argv = [sys.executable, "-m", "skiff", "apiserver", "--data-dir", str(data_dir), "--port", str(port)]
    proc = subprocess.Popen(
        argv + (["--insecure-http"] if insecure else []),
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "apiserver.log", "wb"),  # noqa: SIM115
    )
    scheme = "http" if insecure else "https"
    for _ in range(400):
        try:
            verify: ssl.SSLContext | bool = False
            if not insecure and (data_dir / "pki" / "admin.pem").exists():
                verify = admin_tls(data_dir)
            if verify is not False or insecure:
                r = httpx.get(f"{scheme}://127.0.0.1:{port}/readyz", timeout=1, verify=verify)
                if r.status_code == 200:
                    TLS = None if insecure else admin_tls(data_dir)
                    return proc
        except (httpx.HTTPError, ssl.SSLError):
            pass
        time.sleep(0.05)
    raise RuntimeError("apiserver did not start")


def cpu_seconds(pid: int, system_only: bool = False) -> float:
    """User+system CPU time of a process (the server's cost, whatever else runs on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[12]) if system_only else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    host = "127.0.0.1"
    c = Conn(host, port)
    await c.open()
    for ns in ("bench", "watch"):
        await c.request("POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": ns}}).encode())
    out: dict[str, Any] = {}
    c0 = cpu_seconds(pid)
    k0 = client_cpu()
    out["create"] = await bench_creates(host, port, "bench", args.pods, args.clients)
    c1 = cpu_seconds(pid)
    out["create"]["server_cpu_us_per_op"] = (c1 - c0) / args.pods * 1e6
    out["create"]["client_cpu_us_per_op"] = (client_cpu() - k0) / args.pods * 1e6
    out["get"] = await bench_gets(host, port, "bench", args.gets, args.get_clients, args.pods)
    c2 = cpu_seconds(pid)
    out["get"]["server_cpu_us_per_op"] = (c2 - c1) / args.gets * 1e6
    out["list"] = await bench_list(host, port, "bench", 5)
    c3 = cpu_seconds(pid)
    out["list"]["server_cpu_ms_per_list"] = (c3 - c2) / 5 * 1e3
    if args.watchers:
        s3 = cpu_seconds(pid, system_only=True)
        t3 = time.perf_counter()
        out["watch"] = await bench_watch(
            host, port, "watch", args.watchers, args.rate, args.seconds, args.watch_procs
        )
        # Shares of one core over the whole phase (connecting, writing, draining).
        dt = time.perf_counter() - t3
        out["watch"]["server_cpu_share"] = (cpu_seconds(pid) - c3) / dt
        out["watch"]["server_kernel_share"] = (cpu_seconds(pid, True) - s3) / dt
        out["watch"]["server_cpu_us_per_delivery"] = (cpu_seconds(pid) - c3) / out["watch"]["delivered"] * 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--gets", type=int, default=5000)
    ap.add_argument("--get-clients", type=int, default=1)
    ap.add_argument("--watchers", type=int, default=200)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--watch-procs", type=int, default=4)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pid", type=int, default=0, help="bench a running server (its pid) on --port")
    ap.add_argument("--data-dir", default="", help="with --pid: the server's data dir (its CA, admin cert)")
    ap.add_argument("--insecure-http", action="store_true", help="a server without TLS and authentication")
    args = ap.parse_args()
    port = args.port
    if not port:
        port = free_port()
    if args.pid:
        import uvloop

        global TLS
        TLS = admin_tls(Path(args.data_dir)) if args.data_dir and not args.insecure_http else None
        print(json.dumps(uvloop.run(run(args, port, args.pid)), indent=1))
        return
    with tempfile.TemporaryDirectory() as d:
        proc = start_server(Path(d), port, args.insecure_http)
        try:
            import uvloop

            res = uvloop.run(run(args, port, proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    res["tls_and_authentication"] = not args.insecure_http
    print(json.dumps(res, indent=1))
    print(f"machine: {os.cpu_count()} cores, {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
