"""The cluster CA and the certificates it signs, kept in DATA_DIR/pki.

- ``ca.crt`` / ``ca.key``: the cluster CA (EC P-256, 10 years). Every API server on a data dir uses the
  same one: creation happens under an exclusive lock on ``pki/.lock``, so two servers racing on first
  start end up with one CA.
- ``apiserver-<bind>.pem``: a serving certificate and its key in one file (so a reader never pairs one
  server's certificate with another's key), valid for 127.0.0.1, localhost, the host name and --bind.
- ``<name>.pem``: client certificates (CN = user, O = groups) for the admin and the components.

EC keys keep TLS handshakes cheap; certificates are renewed when less than 30 days remain.
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

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PKI = "pki"
CA_DAYS = 3650
CERT_DAYS = 365
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


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(cn: str, orgs: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name("skiff-ca")
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def load_or_create_ca(data_dir: str | os.PathLike[str]) -> CA:
    with locked(data_dir) as d:
        crt, key = d / "ca.crt", d / "ca.key"
        if not (crt.exists() and key.exists()):
            cert, k = create_ca()
            write_private(key, key_pem(k))
            write_private(crt, cert.public_bytes(serialization.Encoding.PEM))
            crt.chmod(0o644)
        return load_ca(data_dir)


def load_ca(data_dir: str | os.PathLike[str]) -> CA:
    d = pki_dir(data_dir)
    cert_pem = (d / "ca.crt").read_bytes()
    key = serialization.load_pem_private_key((d / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{d / 'ca.key'} is not an EC private key")
    return CA(x509.load_pem_x509_certificate(cert_pem), key, cert_pem, d / "ca.crt")


def issue(
    ca: CA,
    cn: str,
    orgs: Sequence[str] = (),
    *,
    hosts: Sequence[str] = (),
    days: int = CERT_DAYS,
    not_before: datetime.datetime | None = None,
) -> tuple[bytes, bytes]:
    """A certificate signed by ``ca`` as (cert PEM, key PEM): a server certificate when ``hosts`` (DNS
    names or IP addresses) are given, else a client certificate."""
    key = _new_key()
    start = not_before or _now() - datetime.timedelta(minutes=5)
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, orgs))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    if hosts:
        sans: list[x509.GeneralName] = []
        for h in dict.fromkeys(hosts):
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)


def _still_good(path: Path, hosts: Sequence[str] = ()) -> bool:
    """Whether the certificate in ``path`` exists, is not near expiry and names every host."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
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
    return cert.subject == _name(cn, orgs)


def split_pem(data: bytes) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) out of a file written as key then certificate."""
    i = data.index(b"-----BEGIN CERTIFICATE-----")
    return data[i:], data[:i]
