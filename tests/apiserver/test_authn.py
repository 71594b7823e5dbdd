"""Authentication over TLS: who gets in, as whom, and who is refused (issue 8)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from skiff.apiserver.auth import certs
from tests.fixtures.apiserver import APIServerHandle


def _client_context(handle: APIServerHandle, tmp_path: Path, cert: bytes, key: bytes) -> ssl.SSLContext:
    pem = tmp_path / "client.pem"
    pem.write_bytes(key + cert)
    ctx = ssl.create_default_context(cafile=handle.ca)
    ctx.load_cert_chain(str(pem))
    return ctx


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/version"])
def test_anonymous_may_only_check_health(shared_apiserver: APIServerHandle, path: str) -> None:
    with shared_apiserver.client(admin=False) as anon:
        assert anon.get(path).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1/namespaces", "/apis", "/openapi/v2", "/openapi/v3", "/metrics", "/nope"]
)
def test_anonymous_gets_401_elsewhere(shared_apiserver: APIServerHandle, path: str) -> None:
    with shared_apiserver.client(admin=False) as anon:
        r = anon.get(path)
    assert r.status_code == 401
    assert r.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_server_certificate_verifies_with_the_cluster_ca(shared_apiserver: APIServerHandle) -> None:
    # Neither by IP nor by name does the client need to skip verification.
    for host in ("127.0.0.1", "localhost"):
        url = shared_apiserver.url.replace("127.0.0.1", host)
        with shared_apiserver.client(url) as c:
            assert c.get("/api/v1/namespaces/default").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(shared_apiserver.url + "/healthz")  # the system trust store does not know the CA


def test_kubectl_verifies_the_server(shared_apiserver: APIServerHandle) -> None:
    cfg = Path(shared_apiserver.kubeconfig).read_text()
    assert "certificate-authority-data" in cfg and "insecure-skip-tls-verify" not in cfg
    out = subprocess.run(
        ["kubectl", "--kubeconfig", shared_apiserver.kubeconfig, "get", "ns", "default", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "namespace/default"


def test_certificate_from_another_ca_is_refused(shared_apiserver: APIServerHandle, tmp_path: Path) -> None:
    cert, key = certs.create_ca()
    other = certs.CA(cert, key, cert.public_bytes(serialization.Encoding.PEM), tmp_path / "ca.crt")
    forged_cert, forged_key = certs.issue(other, "kubernetes-admin", ["system:masters"])
    ctx = _client_context(shared_apiserver, tmp_path, forged_cert, forged_key)
    try:
        r = httpx.get(shared_apiserver.url + "/api/v1/namespaces", verify=ctx)
    except httpx.TransportError:
        return  # refused in the handshake
    assert r.status_code == 401


def test_expired_certificate_is_refused(shared_apiserver: APIServerHandle, tmp_path: Path) -> None:
    import datetime

    ca = certs.load_ca(shared_apiserver.data_dir)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    cert, key = certs.issue(ca, "kubernetes-admin", ["system:masters"], days=1, not_before=long_ago)
    ctx = _client_context(shared_apiserver, tmp_path, cert, key)
    try:
        r = httpx.get(shared_apiserver.url + "/api/v1/namespaces", verify=ctx)
    except httpx.TransportError:
        return
    assert r.status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer  two spaces", "bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.", "Bearer a.b.c"],
)
def test_bad_bearer_token_is_401_even_for_health(shared_apiserver: APIServerHandle, header: str) -> None:
    with shared_apiserver.client(admin=False, headers={"Authorization": header}) as c:
        assert c.get("/api/v1/namespaces").status_code == 401
        assert c.get("/healthz").status_code == 401
    log = "".join(p.read_text() for p in Path(shared_apiserver.data_dir).glob("apiserver*.log"))
    assert 'authentication failed reason="invalid bearer token"' in log
    assert "nope" not in log


def test_static_token_file(shared_apiserver: APIServerHandle) -> None:
    tokens = Path(shared_apiserver.data_dir) / "tokens.csv"
    tokens.write_text('# token,user,uid,"groups"\nsecret-token-1,alice,u1,"devs,ops"\n')
    with shared_apiserver.client(admin=False, headers={"Authorization": "Bearer secret-token-1"}) as c:
        # The file is re-read within a second of a change.
        import time

        deadline = time.monotonic() + 10
        while c.get("/version").status_code == 401 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c.get("/api/v1/namespaces/default").status_code in (200, 403)


@pytest.mark.parametrize("apiserver", ["etcd-2"], indirect=True)
def test_two_servers_on_one_data_dir_share_the_ca(apiserver: APIServerHandle) -> None:
    # Both started at the same moment on a fresh data dir: one CA, trusted by one client context.
    assert len(apiserver.urls) == 2
    for url in apiserver.urls:
        with apiserver.client(url) as c:
            assert c.get("/api/v1/namespaces/default").status_code == 200
    assert len(list(Path(apiserver.ca).parent.glob("ca.crt"))) == 1


def test_component_identities_come_from_the_ca(tmp_path: Path) -> None:
    from cryptography import x509

    from skiff.apiserver.auth import kubeconfigs
    from skiff.client.kubeconfig import parse_kubeconfig

    doc = kubeconfigs.for_user(
        tmp_path, "https://127.0.0.1:1", "system:node:n1", ["system:nodes"], "kubelet-n1"
    )
    cfg = parse_kubeconfig(doc)
    assert cfg.client_cert_pem is not None and cfg.ca_pem == (tmp_path / "pki" / "ca.crt").read_bytes()
    cert = x509.load_pem_x509_certificate(cfg.client_cert_pem)
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    assert isinstance(cfg.ssl_context(), ssl.SSLContext)
