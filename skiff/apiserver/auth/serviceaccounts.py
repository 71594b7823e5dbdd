"""ServiceAccount tokens: signed JWTs issued by the TokenRequest API and checked on every request.

The signing key is DATA_DIR/pki/sa.key (RSA 2048, RS256 as Kubernetes signs), created under the pki
lock so every API server on a data dir issues and accepts the same tokens. A token authenticates as
system:serviceaccount:NS:NAME (groups system:serviceaccounts and system:serviceaccounts:NS) while it has
not expired, names the API's audience, and its ServiceAccount (and the pod it is bound to, if any)
still exists with the same uid: deleting the ServiceAccount revokes its tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from skiff.apiserver.auth import certs
from skiff.apiserver.auth.tokens import InvalidToken
from skiff.apiserver.auth.user import ALL_AUTHENTICATED, UserInfo

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
SA_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
MAX_SECONDS = 1 << 32
_VERIFIED_CACHE = 10000

# (namespace, name) -> the stored object or None; the same for pods and nodes of bound tokens.
Lookup = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(data_dir: str | Path) -> rsa.RSAPrivateKey:
    with certs.locked(data_dir) as d:
        path = d / "sa.key"
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            certs.write_private(path, pem)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return loaded


@dataclass(frozen=True)
class Claims:
    namespace: str
    name: str
    uid: str
    expires: int
    audiences: tuple[str, ...]
    bound: dict[str, str] | None  # kind, name, uid of the object the token is bound to


class ServiceAccountTokens:
    def __init__(self, key: rsa.RSAPrivateKey, lookup: Lookup) -> None:
        self.key = key
        self.public = key.public_key()
        der = self.public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = _b64(hashlib.sha256(der).digest())
        self.header = _b64(orjson.dumps({"alg": "RS256", "kid": self.kid}))
        self.lookup = lookup
        self.verified: dict[str, Claims] = {}

    # ------------------------------------------------------------------ issuing

    def issue(
        self,
        namespace: str,
        name: str,
        uid: str,
        audiences: list[str],
        seconds: int,
        bound: dict[str, str] | None = None,
    ) -> tuple[str, int]:
        """A signed token and its expiry (Unix seconds)."""
        now = int(time.time())
        exp = now + seconds
        info: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
        if bound is not None:
            info[bound["kind"].lower()] = {"name": bound["name"], "uid": bound["uid"]}
        payload = {
            "aud": audiences or list(API_AUDIENCES),
            "exp": exp,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "sub": f"{SA_PREFIX}{namespace}:{name}",
            "kubernetes.io": info,
        }
        signing_input = f"{self.header}.{_b64(orjson.dumps(payload))}"
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(sig)}", exp

    # ------------------------------------------------------------------ checking

    def _verify(self, token: str) -> Claims:
        claims = self.verified.get(token)
        if claims is not None:
            return claims
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("not a JWT")
        try:
            header = orjson.loads(_unb64(parts[0]))
            payload = orjson.loads(_unb64(parts[1]))
            sig = _unb64(parts[2])
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            raise InvalidToken("malformed JWT") from None
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise InvalidToken("unexpected signing algorithm")
        try:
            self.public.verify(sig, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise InvalidToken("invalid signature") from None
        claims = _claims(payload)
        if len(self.verified) >= _VERIFIED_CACHE:
            self.verified.clear()
        self.verified[token] = claims
        return claims

    async def authenticate(self, token: str) -> UserInfo | None:
        """The service account of a valid token; None when the token is not a JWT at all (another
        authenticator's); raises InvalidToken when it is one and is refused."""
        if token.count(".") != 2:
            return None
        claims = self._verify(token)
        if claims.expires <= time.time():
            raise InvalidToken("token has expired")
        if not set(claims.audiences) & set(API_AUDIENCES):
            raise InvalidToken("token audiences do not include the API server's")
        sa = await self.lookup("serviceaccounts", claims.namespace, claims.name)
        if sa is None or (sa.get("metadata") or {}).get("uid") != claims.uid:
            raise InvalidToken(f"service account {claims.namespace}/{claims.name} no longer exists")
        extra: dict[str, tuple[str, ...]] = {}
        if claims.bound is not None:
            kind = claims.bound["kind"]
            ns = claims.namespace if kind == "Pod" else ""
            obj = await self.lookup(kind.lower() + "s", ns, claims.bound["name"])
            if obj is None or (obj.get("metadata") or {}).get("uid") != claims.bound["uid"]:
                raise InvalidToken(f"the {kind.lower()} the token is bound to no longer exists")
            prefix = f"authentication.kubernetes.io/{kind.lower()}"
            extra = {f"{prefix}-name": (claims.bound["name"],), f"{prefix}-uid": (claims.bound["uid"],)}
        return UserInfo(
            name=f"{SA_PREFIX}{claims.namespace}:{claims.name}",
            uid=claims.uid,
            groups=(ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{claims.namespace}", ALL_AUTHENTICATED),
            extra=extra,
        )


def _claims(payload: Any) -> Claims:
    if not isinstance(payload, dict) or payload.get("iss") != ISSUER:
        raise InvalidToken("unknown issuer")
    info = payload.get("kubernetes.io")
    exp = payload.get("exp")
    aud = payload.get("aud")
    if not isinstance(info, dict) or not isinstance(exp, int):
        raise InvalidToken("missing claims")
    sa = info.get("serviceaccount")
    ns = info.get("namespace")
    if not isinstance(sa, dict) or not isinstance(ns, str):
        raise InvalidToken("missing service account claims")
    bound = None
    for kind in ("pod", "node"):
        ref = info.get(kind)
        if isinstance(ref, dict):
            bound = {"kind": kind.capitalize(), "name": str(ref.get("name")), "uid": str(ref.get("uid"))}
    audiences: tuple[str, ...] = ()
    if isinstance(aud, str):
        audiences = (aud,)
    elif isinstance(aud, list):
        audiences = tuple(a for a in aud if isinstance(a, str))
    return Claims(ns, str(sa.get("name")), str(sa.get("uid")), exp, audiences, bound)
