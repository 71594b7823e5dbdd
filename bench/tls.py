"""The client side of the cluster's TLS for benchmarks: trust the data dir's CA, present the admin's
client certificate (DATA_DIR/pki, written by the API server)."""

from __future__ import annotations

import ssl
from pathlib import Path


def admin_tls(data_dir: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(data_dir / "pki" / "admin.pem"))
    return ctx


def ready(data_dir: Path) -> bool:
    """Whether the API server has written the CA and the admin certificate yet."""
    return (data_dir / "pki" / "admin.pem").exists() and (data_dir / "kubeconfig").exists()
