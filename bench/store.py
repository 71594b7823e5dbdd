"""Store benchmark: SQLite throughput, watch latency and range time; etcd backend vs bare aetcd.

    python -m bench.store [--runs 5] [--only sqlite|etcd] [--etcd etcd://HOST:PORT,...]

Without --etcd a 3-member etcd cluster is started on loopback ports (tests/fixtures/etcd.py). Every
figure is the median of --runs runs; results print as a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/store.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skiff.store import Store, open_store
from skiff.store.sqlite import SQLiteStore

VALUE = b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}' + b" " * 900  # about 1 KiB, like a pod


range_cpu_ms: list[float] = []


def cpu_seconds() -> float:
    """CPU time of this process (all threads): unlike wall time, it does not grow when other work
    shares the machine's cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def creates_per_second(store: Store, prefix: str, n: int, concurrency: int) -> float:
    per = n // concurrency

    async def writer(w: int) -> None:
        for i in range(per):
            await store.create(f"{prefix}{w}-{i}", VALUE)

    t = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(concurrency)))
    return per * concurrency / (time.perf_counter() - t)


async def watch_latency_ms(
    store: Store, prefix: str, n: int, background: int
) -> tuple[float, float, float, float]:
    """Per event, while ``background`` other writers keep the store busy: write-issued to
    watcher-received (p50, p99), and for SQLite commit to watcher-received (p50, p99), in ms."""
    sent: dict[str, float] = {}
    committed: dict[int, float] = {}
    got: list[float] = []
    since_commit: list[float] = []
    if isinstance(store, SQLiteStore):
        store.commit_hook = committed.__setitem__
    start = await store.current_revision() + 1
    done = asyncio.Event()

    async def watcher() -> None:
        async for batch in store.watch(prefix + "w/", start):
            now = time.perf_counter()
            for ev in batch:
                got.append(now - sent[ev.kv.key])
                if ev.revision in committed:
                    since_commit.append(now - committed[ev.revision])
            if len(got) >= n:
                done.set()
                return

    stop = False

    async def noise(w: int) -> None:
        i = 0
        while not stop:
            await store.create(f"{prefix}noise/{w}-{i}", VALUE)
            i += 1

    wt = asyncio.create_task(watcher())
    await asyncio.sleep(0.05)
    bg = [asyncio.create_task(noise(w)) for w in range(background)]
    for i in range(n):
        key = f"{prefix}w/{i}"
        sent[key] = time.perf_counter()
        await store.create(key, VALUE)
        await asyncio.sleep(0.001)
    await done.wait()
    stop = True
    await asyncio.gather(*bg)
    wt.cancel()
    if isinstance(store, SQLiteStore):
        store.commit_hook = None
    got.sort()
    since_commit.sort()
    if not since_commit:  # only SQLite reports its commits
        since_commit.append(float("nan"))
    return (
        got[len(got) // 2] * 1e3,
        got[int(len(got) * 0.99)] * 1e3,
        since_commit[len(since_commit) // 2] * 1e3,
        since_commit[int(len(since_commit) * 0.99)] * 1e3,
    )


async def range_ms(store: Store, prefix: str, n: int) -> float:
    for i in range(0, n, 500):
        await asyncio.gather(*(store.create(f"{prefix}{j:06d}", VALUE) for j in range(i, min(n, i + 500))))
    times = []
    cpu = cpu_seconds()
    for _ in range(5):
        t = time.perf_counter()
        r = await store.range(prefix)
        times.append(time.perf_counter() - t)
        assert len(r.kvs) == n
    range_cpu_ms.append((cpu_seconds() - cpu) / 5 * 1e3)
    return statistics.median(times) * 1e3


async def sqlite_run(path: str) -> dict[str, float]:
    out: dict[str, float] = {}
    store = SQLiteStore(path, compact_interval=0)
    await store.start()
    try:
        cpu = cpu_seconds()
        out["sqlite creates/s, 64 writers"] = await creates_per_second(store, "/registry/a/", 20_000, 64)
        out["sqlite CPU us per create, 64 writers (load-independent)"] = (cpu_seconds() - cpu) / 20_000 * 1e6
        out["sqlite creates/s, 1 writer"] = await creates_per_second(store, "/registry/b/", 3_000, 1)
        for label, prefix, busy in (("idle", "/registry/c/", 0), ("16 busy writers", "/registry/d/", 16)):
            p50, p99, c50, c99 = await watch_latency_ms(store, prefix, 1000, busy)
            out[f"sqlite watch, commit to watcher p50 ms ({label})"] = c50
            out[f"sqlite watch, commit to watcher p99 ms ({label})"] = c99
            out[f"sqlite watch, write call to watcher p50 ms ({label})"] = p50
            out[f"sqlite watch, write call to watcher p99 ms ({label})"] = p99
        out["sqlite range of 10,000 keys ms"] = await range_ms(store, "/registry/e/", 10_000)
        out["sqlite range of 10,000 keys, CPU ms (load-independent)"] = range_cpu_ms.pop()
    finally:
        await store.close()
    # sync=full fsyncs every group commit (survives power loss, not only kill -9).
    store = SQLiteStore(path + "-full", compact_interval=0, sync="full")
    await store.start()
    try:
        out["sqlite sync=full creates/s, 64 writers"] = await creates_per_second(
            store, "/registry/f/", 10_000, 64
        )
        out["sqlite sync=full creates/s, 1 writer"] = await creates_per_second(
            store, "/registry/g/", 1_000, 1
        )
    finally:
        await store.close()
    return out


async def etcd_run(url: str, run: int) -> dict[str, float]:
    """The etcd store and the bare aetcd client on the same endpoint, same concurrency, same kind of
    write (a create: a transaction comparing create_revision to 0), side by side: interleaved rounds,
    alternating which goes first, so drift and noise hit both alike."""
    import aetcd

    from skiff.store import parse_endpoints

    endpoints = parse_endpoints(url, url.removeprefix("etcd://"))
    client = aetcd.Client(*endpoints[0])
    await client.connect()
    store = open_store(url, "/unused")
    await store.start()

    async def bare(prefix: str, n: int, concurrency: int) -> None:
        per = n // concurrency

        async def writer(w: int) -> None:
            for i in range(per):
                key = f"{prefix}{w}-{i}".encode()
                await client.transaction(
                    compare=[client.transactions.create(key) == 0],
                    success=[client.transactions.put(key, VALUE)],
                    failure=[],
                )

        await asyncio.gather(*(writer(w) for w in range(concurrency)))

    async def ours(prefix: str, n: int, concurrency: int) -> None:
        await creates_per_second(store, prefix, n, concurrency)

    out: dict[str, float] = {}
    try:
        for concurrency, n in ((64, 2_560), (1, 250)):
            spent = {"bare": 0.0, "ours": 0.0}
            rounds = 4
            for rnd in range(rounds):
                order = [("bare", bare), ("ours", ours)]
                if rnd % 2:
                    order.reverse()
                for name, fn in order:
                    t = time.perf_counter()
                    await fn(f"/bench/{run}/{name}{concurrency}/{rnd}/", n, concurrency)
                    spent[name] += time.perf_counter() - t
            ops = (n // concurrency) * concurrency * rounds
            out[f"bare aetcd creates/s, {concurrency} writers"] = ops / spent["bare"]
            out[f"etcd store creates/s, {concurrency} writers"] = ops / spent["ours"]
            out[f"etcd store / bare aetcd, {concurrency} writers"] = spent["bare"] / spent["ours"]
        p50, p99, _, _ = await watch_latency_ms(store, f"/bench/{run}/w/", 500, 0)
        out["etcd watch, write call to watcher p50 ms (idle)"] = p50
        out["etcd watch, write call to watcher p99 ms (idle)"] = p99
        out["etcd range of 10,000 keys ms"] = await range_ms(store, f"/bench/{run}/r/", 10_000)
        range_cpu_ms.clear()
        await store.compact(await store.current_revision())  # keep the cluster small between runs
    finally:
        await store.close()
        await client.close()
    return out


def report(results: list[dict[str, float]]) -> None:
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"runs: {len(results)} (median; min-max)\n")
    print("| measure | median | min | max |")
    print("|---|---:|---:|---:|")
    for name in results[0]:
        vals = [r[name] for r in results]
        fmt = "{:,.2f}" if max(vals) < 100 else "{:,.0f}"
        med, lo, hi = (fmt.format(v) for v in (statistics.median(vals), min(vals), max(vals)))
        print(f"| {name} | {med} | {lo} | {hi} |")


async def amain(args: argparse.Namespace) -> None:
    results: list[dict[str, float]] = []
    cluster = None
    url = args.etcd
    if args.only in (None, "etcd") and url is None:
        from tests.fixtures.etcd import EtcdCluster

        cluster = EtcdCluster(Path(tempfile.mkdtemp(prefix="bench-etcd-")), 3)
        cluster.start()
        url = cluster.url
    try:
        for run in range(args.runs):
            r: dict[str, float] = {}
            if args.only in (None, "sqlite"):
                with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as d:
                    r.update(await sqlite_run(os.path.join(d, "store.db")))
            if args.only in (None, "etcd"):
                assert url is not None
                r.update(await etcd_run(url, run))
            results.append(r)
            print(f"run {run + 1}: " + ", ".join(f"{k}={v:,.2f}" for k, v in r.items()), file=sys.stderr)
    finally:
        if cluster is not None:
            cluster.stop()
    report(results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "etcd"])
    parser.add_argument("--etcd", help="an existing etcd://... to use instead of starting a cluster")
    args = parser.parse_args()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
