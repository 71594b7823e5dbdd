"""Load limits: requests in flight and watches per user answer 429 beyond their cap (issue 8)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from skiff.apiserver.auth import certs
from tests.fixtures.apiserver import APIServerHandle, start


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerHandle]:
    args = ["--max-requests-inflight", "1", "--max-watches-per-user", "2"]
    handle, procs = start(tmp_path_factory.mktemp("limited") / "skiff", args=args)
    try:
        yield handle
    finally:
        for p in procs:
            p.stop()


def _user_context(handle: APIServerHandle, tmp: Path, name: str) -> ssl.SSLContext:
    cert, key = certs.issue(certs.load_ca(handle.data_dir), name, ["devs"])
    (tmp / f"{name}.pem").write_bytes(key + cert)
    ctx = ssl.create_default_context(cafile=handle.ca)
    ctx.load_cert_chain(str(tmp / f"{name}.pem"))
    return ctx


def test_requests_beyond_the_inflight_limit_get_429(limited: APIServerHandle, tmp_path: Path) -> None:
    host, port = limited.url.removeprefix("https://").split(":")
    # The admin holds the only slot with a request whose body never comes.
    raw = socket.create_connection((host, int(port)))
    slow = limited.ssl_context().wrap_socket(raw, server_hostname=host)
    slow.sendall(
        b"POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    user = _user_context(limited, tmp_path, "tester")
    with httpx.Client(base_url=limited.url, verify=user, timeout=30) as c:
        deadline = time.monotonic() + 20
        r = c.get("/api/v1/namespaces/default/pods")
        while r.status_code != 429 and time.monotonic() < deadline:
            time.sleep(0.05)
            r = c.get("/api/v1/namespaces/default/pods")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        status = r.json()
        assert (status["kind"], status["reason"], status["code"]) == ("Status", "TooManyRequests", 429)
        # system:masters is exempt, as in Kubernetes.
        with limited.client() as admin:
            assert admin.get("/api/v1/namespaces/default").status_code == 200
        slow.close()
        deadline = time.monotonic() + 20
        while c.get("/api/v1/namespaces/default/pods").status_code == 429:
            assert time.monotonic() < deadline, "the slot was never released"
            time.sleep(0.05)


def test_watches_per_user_are_capped(limited: APIServerHandle) -> None:
    path = "/api/v1/namespaces/default/pods"
    with limited.client(timeout=30) as c, ExitStack() as open_watches:
        for _ in range(2):
            r = open_watches.enter_context(c.stream("GET", path, params={"watch": "true"}))
            assert r.status_code == 200
        third = c.get(path, params={"watch": "1"})
        assert third.status_code == 429 and third.json()["reason"] == "TooManyRequests"
        assert c.get(path).status_code == 200  # a list is no watch
    # Closed watches free their places.
    with limited.client(timeout=30) as c:
        deadline = time.monotonic() + 20
        while True:
            with c.stream("GET", path, params={"watch": "true", "timeoutSeconds": "1"}) as r:
                if r.status_code == 200:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_body_and_object_size_limits(shared_apiserver: APIServerHandle) -> None:
    def pod(size: int) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"big-{size}"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["a" * size]}]},
        }

    with shared_apiserver.client(timeout=60) as c:
        too_big_body = c.post("/api/v1/namespaces/default/pods", json=pod(4 * 1024 * 1024))
        assert too_big_body.status_code == 413
        assert too_big_body.json()["message"] == "Request entity too large: limit is 3145728"
        too_big_object = c.post("/api/v1/namespaces/default/pods", json=pod(2 * 1024 * 1024))
        assert (
            too_big_object.status_code == 413 and too_big_object.json()["reason"] == "RequestEntityTooLarge"
        )
        assert c.get("/api/v1/namespaces/default/pods/big-2097152").status_code == 404
