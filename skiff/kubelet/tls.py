"""The kubelet's serving TLS: a certificate from --tls-cert-file/--tls-private-key-file (skiff up issues
one signed by the cluster CA for the node's addresses, so the API server can verify the kubelet), or,
as Kubernetes' kubelet does without one, a self-signed certificate made at start (kept in memory only).
Client certificates are verified against the cluster CA of the kubelet's kubeconfig.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence

from skiff import pki
from skiff.client.kubeconfig import load_cert_chain


def self_signed(node: str, hosts: Sequence[str]) -> tuple[bytes, bytes]:
    """(certificate chain PEM, key PEM): a serving certificate for ``hosts`` signed by a throwaway CA
    named after the node and the time, as Kubernetes' kubelet makes its own."""
    ca_cert, ca_key = pki.create_ca(f"{node}-ca@{int(time.time())}", days=365)
    cert, key = pki.sign(ca_cert, ca_key, node, hosts=[*hosts, node, "127.0.0.1", "localhost"])
    return cert + pki.cert_pem(ca_cert), key


def serving_context(
    node: str,
    hosts: Sequence[str],
    client_ca_pem: bytes | None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> ssl.SSLContext:
    """The server's TLS context. ``key_file`` defaults to ``cert_file`` (one file holding both)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert_file:
        try:
            ctx.load_cert_chain(cert_file, key_file or cert_file)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"--tls-cert-file {cert_file}: {e}") from None
    else:
        chain, key = self_signed(node, hosts)
        load_cert_chain(ctx, chain, key)
    if client_ca_pem:
        ctx.load_verify_locations(cadata=client_ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a certificate is one credential; a token is the other
    return ctx
