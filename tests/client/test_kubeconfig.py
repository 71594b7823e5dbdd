"""The kubeconfig loader: contexts, files vs *-data, credentials, and one-line errors."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
import yaml

from skiff.client.kubeconfig import KubeconfigError, load_kubeconfig

from .util import self_signed


def _write(tmp_path: Path, doc: dict[str, object]) -> Path:
    p = tmp_path / "kubeconfig"
    p.write_text(yaml.safe_dump(doc))
    return p


def _doc(cluster: dict[str, object], user: dict[str, object], **ctx: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c1",
        "clusters": [{"name": "k", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c1", "context": {"cluster": "k", "user": "u", **ctx}}],
    }


def test_plain_http_with_token(tmp_path: Path) -> None:
    p = _write(tmp_path, _doc({"server": "http://127.0.0.1:6443/"}, {"token": "abc"}, namespace="team"))
    cfg = load_kubeconfig(p)
    assert cfg.server == "http://127.0.0.1:6443"
    assert cfg.namespace == "team"
    assert cfg.bearer_token() == "abc"
    assert not cfg.is_tls
    assert cfg.ssl_context() is True


def test_tls_with_embedded_data(tmp_path: Path) -> None:
    ca, _ = self_signed("ca")
    cert, key = self_signed("admin")
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    p = _write(
        tmp_path,
        _doc(
            {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(ca)},
            {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
        ),
    )
    cfg = load_kubeconfig(p)
    assert cfg.ca_pem == ca and cfg.client_cert_pem == cert and cfg.client_key_pem == key
    ctx = cfg.ssl_context()
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert any(c.get("subject") for c in ctx.get_ca_certs())


def test_tls_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    ca, _ = self_signed("ca")
    cert, key = self_signed("admin")
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(ca)
    (tmp_path / "pki" / "admin.crt").write_bytes(cert)
    (tmp_path / "pki" / "admin.key").write_bytes(key)
    (tmp_path / "token").write_text("from-file\n")
    p = _write(
        tmp_path,
        _doc(
            {"server": "https://127.0.0.1:6443", "certificate-authority": "pki/ca.crt"},
            {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key", "tokenFile": "token"},
        ),
    )
    cfg = load_kubeconfig(p)
    assert cfg.ca_pem == ca and cfg.client_cert_pem == cert
    assert cfg.bearer_token() == "from-file"
    assert isinstance(cfg.ssl_context(), ssl.SSLContext)


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    p = _write(tmp_path, _doc({"server": "https://h:1", "insecure-skip-tls-verify": True}, {}))
    ctx = load_kubeconfig(p).ssl_context()
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_NONE


def test_explicit_context_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _doc({"server": "http://a:1"}, {})
    doc["clusters"].append({"name": "k2", "cluster": {"server": "http://b:2"}})  # type: ignore[attr-defined]
    doc["contexts"].append({"name": "c2", "context": {"cluster": "k2", "user": "u"}})  # type: ignore[attr-defined]
    p = _write(tmp_path, doc)
    assert load_kubeconfig(p, context="c2").server == "http://b:2"
    monkeypatch.setenv("KUBECONFIG", str(p))
    assert load_kubeconfig().server == "http://a:1"


_Y = yaml.safe_dump
_HTTPS = "https://a"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [unclosed", "not valid YAML"),
        ("- a list", "is not a mapping"),
        (yaml.safe_dump({"clusters": []}), "has no current-context"),
        (
            yaml.safe_dump(_doc({"server": "http://a:1"}, {}) | {"current-context": "nope"}),
            "no context named",
        ),
        (yaml.safe_dump(_doc({"server": "ftp://a"}, {})), "no http(s) server URL"),
        (
            yaml.safe_dump(_doc({"server": "https://a", "certificate-authority-data": "@@"}, {})),
            "not valid base64",
        ),
        (
            yaml.safe_dump(_doc({"server": "https://a", "certificate-authority": "/none/ca"}, {})),
            "cannot read",
        ),
    ],
)
def test_errors_are_one_readable_line(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "kubeconfig"
    p.write_text(content)
    with pytest.raises(KubeconfigError) as e:
        load_kubeconfig(p)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="cannot read kubeconfig"):
        load_kubeconfig(tmp_path / "absent")
