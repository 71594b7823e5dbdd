"""The authentication API: TokenRequest (POST serviceaccounts/NAME/token), SelfSubjectReview (who am I:
`kubectl auth whoami`) and TokenReview. Nothing is stored; each answer is the request with its status."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from skiff.api import authentication, codec
from skiff.apiserver import errors, negotiate
from skiff.apiserver.auth.authenticate import AuthenticationFailed, Authenticator
from skiff.apiserver.auth.serviceaccounts import (
    API_AUDIENCES,
    DEFAULT_SECONDS,
    MAX_SECONDS,
    MIN_SECONDS,
    ServiceAccountTokens,
)
from skiff.apiserver.auth.user import UserInfo, user_of
from skiff.apiserver.handlers import Handlers, Route
from skiff.apiserver.timeutil import now_rfc3339, rfc3339

GROUP = "authentication.k8s.io"
API_VERSION = "authentication.k8s.io/v1"
BOUND_KINDS = ("Pod", "Node")


def _decode(tp: type[codec.T], body: Any, what: str) -> codec.T:
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of the request must be a {what} object")
    try:
        return codec.from_builtins(tp, body)
    except codec.DecodeError as e:
        raise errors.bad_request(f"{what}: {e}") from None


def _invalid(name: str, field: str, message: str) -> errors.APIError:
    return errors.invalid(
        GROUP, "TokenRequest", name, [{"reason": "FieldValueInvalid", "message": message, "field": field}]
    )


async def token_request(
    h: Handlers, r: Route, request: Request, body: Any, tokens: ServiceAccountTokens
) -> Response:
    assert r.name is not None and r.namespace is not None
    req = _decode(authentication.TokenRequest, body, "TokenRequest")
    spec = req.spec
    seconds = spec.expiration_seconds if spec.expiration_seconds is not None else DEFAULT_SECONDS
    if seconds < MIN_SECONDS:
        raise _invalid(
            r.name,
            "spec.expirationSeconds",
            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes",
        )
    if seconds > MAX_SECONDS:
        raise _invalid(
            r.name,
            "spec.expirationSeconds",
            f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds",
        )
    sa, _ = await h.storage.get(r.info, r.namespace, r.name)  # 404 when the account does not exist
    bound: dict[str, str] | None = None
    ref = spec.bound_object_ref
    if ref is not None:
        if ref.kind not in BOUND_KINDS:
            raise errors.invalid(
                GROUP,
                "TokenRequest",
                r.name,
                [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": f'Unsupported value: "{ref.kind}": supported values: "Pod", "Node"',
                        "field": "spec.boundObjectRef.kind",
                    }
                ],
            )
        plural = "pods" if ref.kind == "Pod" else "nodes"
        obj, _ = await h.storage.get(
            h.by_store_plural[plural], r.namespace if plural == "pods" else "", ref.name or ""
        )
        uid = str((obj.get("metadata") or {}).get("uid", ""))
        if ref.uid and ref.uid != uid:
            raise errors.conflict(
                "",
                plural,
                ref.name or "",
                f"the UID in the bound object reference ({ref.uid}) does not match the UID in record",
            )
        bound = {"kind": ref.kind, "name": ref.name or "", "uid": uid}
    audiences = list(spec.audiences or API_AUDIENCES)
    sa_uid = str((sa.get("metadata") or {}).get("uid", ""))
    token, exp = tokens.issue(r.namespace, r.name, sa_uid, audiences, seconds, bound)
    out: dict[str, Any] = {
        "kind": "TokenRequest",
        "apiVersion": API_VERSION,
        "metadata": {"name": r.name, "namespace": r.namespace, "creationTimestamp": now_rfc3339()},
        "spec": {"audiences": audiences, "expirationSeconds": seconds},
        "status": {"token": token, "expirationTimestamp": rfc3339(exp)},
    }
    if ref is not None:
        out["spec"]["boundObjectRef"] = {
            "kind": ref.kind,
            "apiVersion": "v1",
            "name": ref.name,
            "uid": bound["uid"] if bound else "",
        }
    return negotiate.respond(out, 201)


def _user_info(user: UserInfo) -> dict[str, Any]:
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(v) for k, v in user.extra.items()}
    return info


def self_subject_review(request: Request, body: Any) -> Response:
    _decode(authentication.SelfSubjectReview, body if body is not None else {}, "SelfSubjectReview")
    out = {
        "kind": "SelfSubjectReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": now_rfc3339()},
        "status": {"userInfo": _user_info(user_of(request.scope))},
    }
    return negotiate.respond(out, 201)


async def token_review(request: Request, body: Any, authenticator: Authenticator | None) -> Response:
    review = _decode(authentication.TokenReview, body, "TokenReview")
    token = review.spec.token or ""
    status: dict[str, Any] = {"authenticated": False}
    if authenticator is None:
        status["error"] = "authentication is off"
    elif not token:
        raise errors.invalid(
            GROUP,
            "TokenReview",
            "",
            [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.token"}],
        )
    else:
        try:
            user = await authenticator.bearer(token)
        except AuthenticationFailed as e:
            status["error"] = str(e)
        else:
            status = {"authenticated": True, "user": _user_info(user), "audiences": list(API_AUDIENCES)}
    out = {
        "kind": "TokenReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": now_rfc3339()},
        "spec": {"token": token},
        "status": status,
    }
    return negotiate.respond(out, 201)
