"""Helpers for tests that drive a live API server through skiff.client."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from skiff.api.core import Container, Namespace, Pod, PodSpec
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client

T = TypeVar("T")


async def eventually(
    check: Callable[[], Any | Awaitable[Any]], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll check() until it returns something truthy; fail after timeout (a hang guard, not a
    speed assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        r = check()
        if inspect.isawaitable(r):
            r = await r
        if r:
            return r
        last = r
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {what or check} (last: {last!r})")
        await asyncio.sleep(interval)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def namespace(client: Client, prefix: str = "t") -> AsyncIterator[str]:
    name = unique(prefix)
    await client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            await client.delete(Namespace, name)
        except ApiError:
            pass


def pod(name: str, namespace: str, *, labels: dict[str, str] | None = None, node: str | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=PodSpec(containers=[Container(name="c", image="busybox")], node_name=node),
    )


def self_signed(cn: str, dns_name: str | None = None) -> tuple[bytes, bytes]:
    """A self-signed CA certificate and its key (PEM), naming dns_name as a server when given."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if dns_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
