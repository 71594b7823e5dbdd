"""authorization.k8s.io/v1: the access reviews (asked, answered, never stored)."""

from __future__ import annotations

import msgspec

from .meta import Base, Object

API_VERSION = "authorization.k8s.io/v1"


class FieldSelectorAttributes(Base):
    raw_selector: str | None = None
    requirements: list[dict[str, object]] | None = None


class LabelSelectorAttributes(Base):
    raw_selector: str | None = None
    requirements: list[dict[str, object]] | None = None


class ResourceAttributes(Base):
    namespace: str | None = None
    verb: str | None = None
    group: str | None = None
    version: str | None = None
    resource: str | None = None
    subresource: str | None = None
    name: str | None = None
    field_selector: FieldSelectorAttributes | None = None
    label_selector: LabelSelectorAttributes | None = None


class NonResourceAttributes(Base):
    path: str | None = None
    verb: str | None = None


class SubjectAccessReviewSpec(Base):
    resource_attributes: ResourceAttributes | None = None
    non_resource_attributes: NonResourceAttributes | None = None
    user: str | None = None
    groups: list[str] | None = None
    extra: dict[str, list[str]] | None = None
    uid: str | None = None


class SubjectAccessReviewStatus(Base):
    allowed: bool = False
    denied: bool | None = None
    reason: str | None = None
    evaluation_error: str | None = None


class SubjectAccessReview(Object):
    KIND = "SubjectAccessReview"
    API_VERSION = API_VERSION

    spec: SubjectAccessReviewSpec = msgspec.field(default_factory=SubjectAccessReviewSpec)
    status: SubjectAccessReviewStatus | None = None


class LocalSubjectAccessReview(SubjectAccessReview):
    """A SubjectAccessReview inside one namespace (namespace admins may ask it)."""

    KIND = "LocalSubjectAccessReview"


class SelfSubjectAccessReviewSpec(Base):
    resource_attributes: ResourceAttributes | None = None
    non_resource_attributes: NonResourceAttributes | None = None


class SelfSubjectAccessReview(Object):
    KIND = "SelfSubjectAccessReview"
    API_VERSION = API_VERSION

    spec: SelfSubjectAccessReviewSpec = msgspec.field(default_factory=SelfSubjectAccessReviewSpec)
    status: SubjectAccessReviewStatus | None = None


class SelfSubjectRulesReviewSpec(Base):
    namespace: str | None = None


class ResourceRule(Base):
    verbs: list[str] = msgspec.field(default_factory=list)
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None


class NonResourceRule(Base):
    verbs: list[str] = msgspec.field(default_factory=list)
    non_resource_urls: list[str] | None = msgspec.field(default=None, name="nonResourceURLs")


class SubjectRulesReviewStatus(Base):
    resource_rules: list[ResourceRule] = msgspec.field(default_factory=list)
    non_resource_rules: list[NonResourceRule] = msgspec.field(default_factory=list)
    incomplete: bool = False
    evaluation_error: str | None = None


class SelfSubjectRulesReview(Object):
    KIND = "SelfSubjectRulesReview"
    API_VERSION = API_VERSION

    spec: SelfSubjectRulesReviewSpec = msgspec.field(default_factory=SelfSubjectRulesReviewSpec)
    status: SubjectRulesReviewStatus | None = None
