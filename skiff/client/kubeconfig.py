"""Load a kubeconfig file into what the REST client needs: a server URL, TLS material and credentials.

Follows kubectl's rules: `current-context` (or an explicit context) names a cluster and a user; relative
file paths are relative to the kubeconfig's own directory; `*-data` fields are base64 PEM and win over
the matching file fields. Problems come out as `KubeconfigError`, one readable line.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used; the message is one line a user can act on."""


@dataclass
class KubeConfig:
    server: str
    namespace: str = "default"
    context: str | None = None
    # TLS: PEM bytes (from `*-data` or read from the files).
    ca_pem: bytes | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    # Credentials.
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Impersonation headers from the user's `as`, `as-groups`, `as-uid`, `as-user-extra` (kubectl --as).
    impersonate: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_tls(self) -> bool:
        return self.server.startswith("https://")

    def bearer_token(self) -> str | None:
        """The token; a token_file is re-read at most once a minute (projected tokens rotate)."""
        if self.token_file:
            now = time.monotonic()
            cached = self.extra.get("_token")
            if cached is not None and now - cached[1] < 60.0:
                return str(cached[0])
            try:
                token = Path(self.token_file).read_text().strip()
            except OSError as e:
                raise KubeconfigError(f"cannot read token file {self.token_file}: {e.strerror}") from None
            self.extra["_token"] = (token, now)
            return token
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS context for https (CA, client certificate, or no verification); True for plain http."""
        if not self.is_tls:
            return True
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_pem is not None:
            try:
                ctx.load_verify_locations(cadata=self.ca_pem.decode())
            except (ssl.SSLError, ValueError, UnicodeDecodeError) as e:
                raise KubeconfigError(f"certificate-authority is not a valid PEM certificate: {e}") from None
        if self.client_cert_pem is not None:
            if self.client_key_pem is None:
                raise KubeconfigError("client-certificate given without client-key")
            load_cert_chain(ctx, self.client_cert_pem, self.client_key_pem)
        return ctx


def load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # The ssl module only loads certificate chains from files: write them to a private temporary
    # directory that is removed as soon as they are loaded.
    with tempfile.TemporaryDirectory(prefix="skiff-tls-") as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as e:
            raise KubeconfigError(f"client-certificate/client-key cannot be loaded: {e}") from None


def default_path() -> str:
    env = os.environ.get("KUBECONFIG")
    if env:
        # kubectl merges a list; skiff takes the first file that exists.
        for part in env.split(os.pathsep):
            if part and os.path.exists(part):
                return part
        return env.split(os.pathsep)[0]
    return os.path.expanduser("~/.kube/config")


def load_kubeconfig(path: str | os.PathLike[str] | None = None, context: str | None = None) -> KubeConfig:
    """Read a kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)."""
    file = str(path) if path is not None else default_path()
    try:
        with open(file, "rb") as f:
            text = f.read()
    except OSError as e:
        raise KubeconfigError(f"cannot read kubeconfig {file}: {e.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KubeconfigError(f"kubeconfig {file} is not valid YAML: {_one_line(str(e))}") from None
    return parse_kubeconfig(
        doc, base_dir=os.path.dirname(os.path.abspath(file)), context=context, source=file
    )


def parse_kubeconfig(
    doc: Any, *, base_dir: str = ".", context: str | None = None, source: str | None = None
) -> KubeConfig:
    where = f"kubeconfig {source}" if source else "kubeconfig"
    if not isinstance(doc, dict):
        raise KubeconfigError(f"{where} is not a mapping")
    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise KubeconfigError(f"{where} has no current-context")
    ctx = _named(doc, "contexts", "context", ctx_name, where)
    cluster_name = ctx.get("cluster")
    if not cluster_name:
        raise KubeconfigError(f"{where}: context {ctx_name!r} names no cluster")
    cluster = _named(doc, "clusters", "cluster", cluster_name, where)
    user_name = ctx.get("user")
    user: dict[str, Any] = _named(doc, "users", "user", user_name, where) if user_name else {}

    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        raise KubeconfigError(f"{where}: cluster {cluster_name!r} has no http(s) server URL")

    def pem(obj: dict[str, Any], key: str) -> bytes | None:
        data = obj.get(f"{key}-data")
        if data:
            try:
                return base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise KubeconfigError(f"{where}: {key}-data is not valid base64") from None
        file = obj.get(key)
        if file:
            p = Path(os.path.expanduser(file))
            if not p.is_absolute():
                p = Path(base_dir) / p
            try:
                return p.read_bytes()
            except OSError as e:
                raise KubeconfigError(f"{where}: cannot read {key} {p}: {e.strerror}") from None
        return None

    token_file = user.get("tokenFile")
    if token_file and not os.path.isabs(token_file):
        token_file = os.path.join(base_dir, token_file)
    return KubeConfig(
        server=server.rstrip("/"),
        namespace=ctx.get("namespace") or "default",
        context=ctx_name,
        ca_pem=pem(cluster, "certificate-authority"),
        client_cert_pem=pem(user, "client-certificate"),
        client_key_pem=pem(user, "client-key"),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
        token=user.get("token"),
        token_file=token_file,
        username=user.get("username"),
        password=user.get("password"),
        source=source,
        impersonate=_impersonation(user),
    )


def _impersonation(user: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if user.get("as"):
        out["Impersonate-User"] = [str(user["as"])]
    if user.get("as-groups"):
        out["Impersonate-Group"] = [str(g) for g in user["as-groups"]]
    if user.get("as-uid"):
        out["Impersonate-Uid"] = [str(user["as-uid"])]
    for k, vs in (user.get("as-user-extra") or {}).items():
        out[f"Impersonate-Extra-{k}"] = [str(v) for v in (vs if isinstance(vs, list) else [vs])]
    return out


def _named(doc: dict[str, Any], section: str, inner: str, name: str, where: str) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(inner) or {}
            if not isinstance(value, dict):
                raise KubeconfigError(f"{where}: {inner} {name!r} is not a mapping")
            return value
    raise KubeconfigError(f"{where}: no {inner} named {name!r}")


def _one_line(s: str) -> str:
    return " ".join(s.split())
