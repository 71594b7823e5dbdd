"""The cluster CA and the certificates it signs, kept in DATA_DIR/pki.

- ``ca.crt`` / ``ca.key``: the cluster CA (EC P-256, 10 years). Every API server on a data dir uses the
  same one: creation happens under an exclusive lock on ``pki/.lock``, so two servers racing on first
  start end up with one CA.
- ``apiserver-<bind>.pem``: a serving certificate and its key in one file (so a reader never pairs one
  server's certificate with another's key), valid for 127.0.0.1, localhost, the host name and --bind.
- ``<name>.pem``: client certificates (CN = user, O = groups) for the admin and the components.

Certificates are renewed when less than 30 days remain; the X.509 primitives are skiff.pki.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from skiff import pki

PKI = "pki"
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CA:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_pem: bytes
    path: Path  # ca.crt


def pki_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / PKI


@contextlib.contextmanager
def locked(data_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Exclusive access to DATA_DIR/pki across processes (flock on pki/.lock)."""
    d = pki_dir(data_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield d
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (keys are secrets; readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def create_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    return pki.create_ca("skiff-ca")


def load_or_create_ca(data_dir: str | os.PathLike[str]) -> CA:
    with locked(data_dir) as d:
        crt, key = d / "ca.crt", d / "ca.key"
        if not (crt.exists() and key.exists()):
            cert, k = create_ca()
            write_private(key, pki.key_pem(k))
            write_private(crt, pki.cert_pem(cert))
            crt.chmod(0o644)
        return load_ca(data_dir)


def load_ca(data_dir: str | os.PathLike[str]) -> CA:
    d = pki_dir(data_dir)
    cert_pem = (d / "ca.crt").read_bytes()
    key = serialization.load_pem_private_key((d / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{d / 'ca.key'} is not an EC private key")
    return CA(x509.load_pem_x509_certificate(cert_pem), key, cert_pem, d / "ca.crt")


def issue(ca: CA, cn: str, orgs: Sequence[str] = (), **kw: Any) -> tuple[bytes, bytes]:
    """A certificate signed by ``ca`` as (cert PEM, key PEM); ``kw`` as pki.sign (``hosts`` for a
    server certificate, ``days``, ``not_before``)."""
    return pki.sign(ca.cert, ca.key, cn, orgs, **kw)


def _still_good(path: Path, hosts: Sequence[str] = ()) -> bool:
    """Whether the certificate in ``path`` exists, is not near expiry and names every host."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    if cert.not_valid_after_utc - pki.now() < RENEW_BEFORE:
        return False
    if not hosts:
        return True
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    names = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return all(str(_normal_host(h)) in names for h in hosts)


def _normal_host(h: str) -> str:
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        return h


def serving_hosts(bind: str, extra: Sequence[str] = ()) -> list[str]:
    hosts = ["127.0.0.1", "localhost", socket.gethostname()]
    hosts += [h for h in (bind, *extra) if h and h not in ("0.0.0.0", "::")]
    return list(dict.fromkeys(hosts))


def serving_pem(data_dir: str | os.PathLike[str], bind: str, extra: Sequence[str] = ()) -> Path:
    """DATA_DIR/pki/apiserver-<bind>.pem (key and certificate), created or renewed when needed;
    ``extra``: more names clients use (a load balancer's host)."""
    ca = load_or_create_ca(data_dir)
    hosts = serving_hosts(bind, extra)
    with locked(data_dir) as d:
        path = d / f"apiserver-{bind or 'any'}.pem"
        if not _still_good(path, hosts):
            cert, key = issue(ca, "skiff-apiserver", hosts=hosts)
            write_private(path, key + cert)
        return path


def client_pem(
    data_dir: str | os.PathLike[str], name: str, cn: str, orgs: Sequence[str]
) -> tuple[bytes, bytes]:
    """(cert PEM, key PEM) of DATA_DIR/pki/<name>.pem for user ``cn`` in groups ``orgs``; created once,
    renewed near expiry."""
    ca = load_or_create_ca(data_dir)
    with locked(data_dir) as d:
        path = d / f"{name}.pem"
        if not _still_good(path) or not _same_subject(path, cn, orgs):
            cert, key = issue(ca, cn, orgs)
            write_private(path, key + cert)
        return split_pem(path.read_bytes())


def _same_subject(path: Path, cn: str, orgs: Sequence[str]) -> bool:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.subject == pki.name(cn, orgs)


def split_pem(data: bytes) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) out of a file written as key then certificate."""
    i = data.index(b"-----BEGIN CERTIFICATE-----")
    return data[i:], data[:i]


# The API server's identity towards kubelets (Kubernetes: --kubelet-client-certificate, made by kubeadm
# as CN kube-apiserver-kubelet-client); its group is bound to system:kubelet-api-admin (bootstrap.py).
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
KUBELET_API_ADMINS = "skiff:kubelet-api-admins"
# The process that plays every hollow node (`skiff up --runtime hollow`): its user and the group that
# the bootstrap role skiff:hollow-node is bound to.
HOLLOW_USER = "skiff:hollow-kubelets"
HOLLOW_NODES = "skiff:hollow-nodes"


def kubelet_client_pem(data_dir: str | os.PathLike[str]) -> Path:
    """DATA_DIR/pki/apiserver-kubelet-client.pem (key then certificate), created or renewed."""
    client_pem(data_dir, "apiserver-kubelet-client", KUBELET_CLIENT_USER, [KUBELET_API_ADMINS])
    return pki_dir(data_dir) / "apiserver-kubelet-client.pem"


def component_serving_pem(
    data_dir: str | os.PathLike[str], name: str, cn: str, orgs: Sequence[str], hosts: Sequence[str]
) -> Path:
    """DATA_DIR/pki/NAME-serving.pem: a component's serving certificate (key then certificate) for
    ``hosts`` plus 127.0.0.1 and localhost, signed by the cluster CA so that its clients can verify it.
    Created or renewed when needed."""
    ca = load_or_create_ca(data_dir)
    names = list(dict.fromkeys([*hosts, "127.0.0.1", "localhost"]))
    with locked(data_dir) as d:
        path = d / f"{name}-serving.pem"
        if not _still_good(path, names):
            cert, key = issue(ca, cn, orgs, hosts=names)
            write_private(path, key + cert)
        return path


def kubelet_serving_pem(data_dir: str | os.PathLike[str], node: str, hosts: Sequence[str]) -> Path:
    """DATA_DIR/pki/kubelet-NODE-serving.pem for the node's addresses ``hosts`` and its name: the API
    server verifies whom it reaches for logs and exec."""
    return component_serving_pem(
        data_dir, f"kubelet-{node}", f"system:node:{node}", ["system:nodes"], [*hosts, node]
    )
