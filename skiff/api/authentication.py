"""authentication.k8s.io/v1: TokenRequest (POST serviceaccounts/NAME/token), SelfSubjectReview (who am
I) and TokenReview (is this token valid). None of them is stored: the answer is in the status."""

from __future__ import annotations

import msgspec

from .meta import Base, Object


class BoundObjectReference(Base):
    kind: str | None = None
    api_version: str | None = None
    name: str | None = None
    uid: str | None = msgspec.field(default=None, name="uid")


class TokenRequestSpec(Base):
    audiences: list[str] | None = None
    expiration_seconds: int | None = None
    bound_object_ref: BoundObjectReference | None = None


class TokenRequestStatus(Base):
    token: str = ""
    expiration_timestamp: str = ""


class TokenRequest(Object):
    KIND = "TokenRequest"
    API_VERSION = "authentication.k8s.io/v1"

    spec: TokenRequestSpec = msgspec.field(default_factory=TokenRequestSpec)
    status: TokenRequestStatus | None = None


class UserInfo(Base):
    username: str | None = None
    uid: str | None = msgspec.field(default=None, name="uid")
    groups: list[str] | None = None
    extra: dict[str, list[str]] | None = None


class SelfSubjectReviewStatus(Base):
    user_info: UserInfo | None = None


class SelfSubjectReview(Object):
    KIND = "SelfSubjectReview"
    API_VERSION = "authentication.k8s.io/v1"

    status: SelfSubjectReviewStatus | None = None


class TokenReviewSpec(Base):
    token: str | None = None
    audiences: list[str] | None = None


class TokenReviewStatus(Base):
    authenticated: bool | None = None
    user: UserInfo | None = None
    audiences: list[str] | None = None
    error: str | None = None


class TokenReview(Object):
    KIND = "TokenReview"
    API_VERSION = "authentication.k8s.io/v1"

    spec: TokenReviewSpec = msgspec.field(default_factory=TokenReviewSpec)
    status: TokenReviewStatus | None = None
