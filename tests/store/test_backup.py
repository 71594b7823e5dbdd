"""Backup and restore through the real `skiff` command, in both directions between the backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skiff.store import KeyValue, Store, open_store
from skiff.store.backup import SCRATCH_KEY
from tests.fixtures.etcd import EtcdCluster


def skiff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skiff", *args], capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


async def populate(store: Store) -> None:
    """Keys with create != mod revision, deleted keys (gaps in the revisions), binary values."""
    kvs = {}
    for i in range(30):
        kvs[i] = await store.create(f"/registry/pods/default/p{i:02d}", f'{{"n":{i}}}'.encode())
    for i in range(0, 30, 3):
        kvs[i] = await store.update(kvs[i].key, b'{"updated":true}', kvs[i].mod_revision)
    for i in range(1, 30, 5):
        await store.delete(kvs[i].key)
    await store.create("/registry/secrets/bin", bytes(range(256)))
    await store.create("/registry/last", b"x")
    await store.delete("/registry/last")  # the snapshot revision is a delete: a gap at the end


async def contents(store: Store) -> tuple[int, list[KeyValue]]:
    return await store.current_revision(), (await store.range("")).kvs


async def check_restored(source: tuple[int, list[KeyValue]], target: Store) -> None:
    revision, kvs = source
    assert (await target.range("")).kvs == kvs  # every key, value, create and mod revision
    assert await target.get(SCRATCH_KEY) is None
    now = await target.current_revision()
    assert revision <= now <= revision + 1
    kv = await target.create("/registry/after-restore", b"x")
    assert kv.mod_revision == now + 1 > revision


async def test_sqlite_to_etcd_and_back(tmp_path: Path, etcd_single_fresh: EtcdCluster) -> None:
    src_url = f"sqlite:///{tmp_path}/src.db"
    src = open_store(src_url, str(tmp_path))
    await src.start()
    try:
        await populate(src)
        before = await contents(src)
    finally:
        await src.close()

    out = skiff("backup", "--store", src_url, str(tmp_path / "b1.jsonl"))
    assert out.returncode == 0, out.stderr
    assert f"at revision {before[0]}" in out.stdout

    out = skiff("restore", "--store", etcd_single_fresh.url, str(tmp_path / "b1.jsonl"))
    assert out.returncode == 0, out.stderr
    etcd = open_store(etcd_single_fresh.url, str(tmp_path))
    await etcd.start()
    try:
        assert (await etcd.range("")).kvs == before[1]
        assert await etcd.get(SCRATCH_KEY) is None
        after_restore = await contents(etcd)
    finally:
        await etcd.close()

    # And back: etcd -> a new SQLite store.
    out = skiff("backup", "--store", etcd_single_fresh.url, str(tmp_path / "b2.jsonl"))
    assert out.returncode == 0, out.stderr
    dst_url = f"sqlite:///{tmp_path}/dst.db"
    out = skiff("restore", "--store", dst_url, str(tmp_path / "b2.jsonl"))
    assert out.returncode == 0, out.stderr
    dst = open_store(dst_url, str(tmp_path))
    await dst.start()
    try:
        await check_restored(after_restore, dst)
    finally:
        await dst.close()

    etcd = open_store(etcd_single_fresh.url, str(tmp_path))
    await etcd.start()
    try:
        await check_restored(after_restore, etcd)
    finally:
        await etcd.close()


async def test_etcd_to_sqlite(tmp_path: Path, etcd_single_fresh: EtcdCluster) -> None:
    etcd = open_store(etcd_single_fresh.url, str(tmp_path))
    await etcd.start()
    try:
        await populate(etcd)
        before = await contents(etcd)
    finally:
        await etcd.close()
    assert skiff("backup", "--store", etcd_single_fresh.url, str(tmp_path / "b.jsonl")).returncode == 0
    out = skiff("restore", "--store", "sqlite", "--data-dir", str(tmp_path / "d"), str(tmp_path / "b.jsonl"))
    assert out.returncode == 0, out.stderr
    dst = open_store("sqlite", str(tmp_path / "d"))
    await dst.start()
    try:
        await check_restored(before, dst)
    finally:
        await dst.close()

    # etcd cannot go back in revisions: a used etcd is refused, with --force too, and left as it was.
    line = one_line_error(
        skiff("restore", "--store", etcd_single_fresh.url, "--force", str(tmp_path / "b.jsonl"))
    )
    assert "new etcd cluster" in line
    etcd = open_store(etcd_single_fresh.url, str(tmp_path))
    await etcd.start()
    try:
        assert await contents(etcd) == before
    finally:
        await etcd.close()


async def test_non_empty_target_needs_force_and_bad_files_leave_it_untouched(tmp_path: Path) -> None:
    src_url = f"sqlite:///{tmp_path}/src.db"
    dst_url = f"sqlite:///{tmp_path}/dst.db"
    for url, n in ((src_url, 5), (dst_url, 3)):
        s = open_store(url, str(tmp_path))
        await s.start()
        for i in range(n):
            await s.create(f"/registry/{url[-6:]}/{i}", b"x")
        await s.close()
    good = tmp_path / "b.jsonl"
    assert skiff("backup", "--store", src_url, str(good)).returncode == 0

    async def dst_state() -> tuple[int, list[KeyValue]]:
        s = open_store(dst_url, str(tmp_path))
        await s.start()
        try:
            return await contents(s)
        finally:
            await s.close()

    original = await dst_state()
    line = one_line_error(skiff("restore", "--store", dst_url, str(good)))
    assert "not empty" in line and "--force" in line
    assert await dst_state() == original

    data = good.read_bytes()
    corrupt = tmp_path / "corrupt.jsonl"
    middle = len(data) // 2
    corrupt.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"hello\nworld\n")
    for bad, why in ((corrupt, "checksum"), (truncated, "truncated"), (garbage, "")):
        line = one_line_error(skiff("restore", "--store", dst_url, "--force", str(bad)))
        assert str(bad) in line and why in line
        assert await dst_state() == original
    line = one_line_error(skiff("restore", "--store", dst_url, str(tmp_path / "missing.jsonl")))
    assert "missing.jsonl" in line

    out = skiff("restore", "--store", dst_url, "--force", str(good))
    assert out.returncode == 0, out.stderr
    s = open_store(src_url, str(tmp_path))
    await s.start()
    source = await contents(s)
    await s.close()
    d = open_store(dst_url, str(tmp_path))
    await d.start()
    try:
        await check_restored(source, d)
    finally:
        await d.close()


def test_bad_store_url_and_missing_store_are_one_line(tmp_path: Path) -> None:
    line = one_line_error(skiff("backup", "--store", "postgres://x", str(tmp_path / "b")))
    assert "invalid store URL" in line
    line = one_line_error(skiff("backup", "--store", f"sqlite:///{tmp_path}/none.db", str(tmp_path / "b")))
    assert "no SQLite store" in line
    line = one_line_error(skiff("backup", "--store", "etcd://127.0.0.1:1", str(tmp_path / "b")))
    assert "127.0.0.1:1" in line
