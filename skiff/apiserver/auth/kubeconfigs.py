"""Kubeconfig files that carry the cluster CA and a credential (client certificate or token).

The admin kubeconfig (DATA_DIR/kubeconfig) holds a client certificate for kubernetes-admin in
system:masters; `skiff up` writes one per component the same way (kubelet-NODE.kubeconfig, ...).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from skiff.apiserver.auth import certs
from skiff.apiserver.auth.user import MASTERS

ADMIN_USER = "kubernetes-admin"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(
    url: str,
    ca_pem: bytes | None,
    *,
    user: str = "admin",
    cert_pem: bytes | None = None,
    key_pem: bytes | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = _b64(ca_pem)
    creds: dict[str, Any] = {}
    if cert_pem is not None and key_pem is not None:
        creds["client-certificate-data"] = _b64(cert_pem)
        creds["client-key-data"] = _b64(key_pem)
    if token is not None:
        creds["token"] = token
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "skiff", "cluster": cluster}],
        "users": [{"name": user, "user": creds}],
        "contexts": [
            {"name": "skiff", "context": {"cluster": "skiff", "user": user, "namespace": "default"}}
        ],
        "current-context": "skiff",
        "preferences": {},
    }


def for_user(
    data_dir: str | os.PathLike[str], url: str, cn: str, groups: Sequence[str], name: str | None = None
) -> dict[str, Any]:
    """A kubeconfig for ``url`` authenticating as ``cn`` in ``groups`` with a certificate from the
    data dir's CA (kept as pki/<name>.pem, ``name`` defaulting to ``cn`` made file-safe)."""
    file = name or cn.replace(":", "-")
    cert, key = certs.client_pem(data_dir, file, cn, groups)
    ca = certs.load_or_create_ca(data_dir)
    return kubeconfig(url, ca.cert_pem, user=file, cert_pem=cert, key_pem=key)


def admin(data_dir: str | os.PathLike[str], url: str) -> dict[str, Any]:
    return for_user(data_dir, url, ADMIN_USER, [MASTERS], name="admin")


def write(path: str | os.PathLike[str], doc: dict[str, Any]) -> str:
    """Write atomically with mode 0600 (the file holds a private key)."""
    certs.write_private(Path(path), yaml.safe_dump(doc, sort_keys=False).encode())
    return str(path)
