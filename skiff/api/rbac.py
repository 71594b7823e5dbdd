"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding."""

from __future__ import annotations

import msgspec

from .core import LabelSelector
from .meta import Base, ListBase, Object

GROUP = "rbac.authorization.k8s.io"
API_VERSION = "rbac.authorization.k8s.io/v1"

# Subject kinds, and the apiGroup each is written with.
USER = "User"
GROUP_KIND = "Group"
SERVICE_ACCOUNT = "ServiceAccount"
SUBJECT_GROUPS = {USER: GROUP, GROUP_KIND: GROUP, SERVICE_ACCOUNT: ""}

# Bootstrap objects carrying this annotation are brought back to their defaults on every start.
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"


class PolicyRule(Base):
    verbs: list[str] = msgspec.field(default_factory=list)
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = msgspec.field(default=None, name="nonResourceURLs")


class AggregationRule(Base):
    cluster_role_selectors: list[LabelSelector] | None = None


class Role(Object):
    KIND = "Role"
    API_VERSION = API_VERSION

    rules: list[PolicyRule] | None = None


class ClusterRole(Object):
    KIND = "ClusterRole"
    API_VERSION = API_VERSION

    rules: list[PolicyRule] | None = None
    aggregation_rule: AggregationRule | None = None


class Subject(Base):
    kind: str = ""
    api_group: str | None = None
    name: str = ""
    namespace: str | None = None


class RoleRef(Base):
    api_group: str = ""
    kind: str = ""
    name: str = ""


class RoleBinding(Object):
    KIND = "RoleBinding"
    API_VERSION = API_VERSION

    subjects: list[Subject] | None = None
    role_ref: RoleRef = msgspec.field(default_factory=RoleRef)


class ClusterRoleBinding(RoleBinding):
    """The same shape as a RoleBinding, granting a ClusterRole everywhere."""

    KIND = "ClusterRoleBinding"


class RoleList(ListBase):
    kind: str = "RoleList"
    api_version: str = API_VERSION
    items: list[Role] = msgspec.field(default_factory=list)


class ClusterRoleList(ListBase):
    kind: str = "ClusterRoleList"
    api_version: str = API_VERSION
    items: list[ClusterRole] = msgspec.field(default_factory=list)


class RoleBindingList(ListBase):
    kind: str = "RoleBindingList"
    api_version: str = API_VERSION
    items: list[RoleBinding] = msgspec.field(default_factory=list)


class ClusterRoleBindingList(ListBase):
    kind: str = "ClusterRoleBindingList"
    api_version: str = API_VERSION
    items: list[ClusterRoleBinding] = msgspec.field(default_factory=list)


def service_account_user(namespace: str, name: str) -> str:
    """The user name a ServiceAccount authenticates as."""
    return f"system:serviceaccount:{namespace}:{name}"


def default_binding(b: RoleBinding | ClusterRoleBinding) -> None:
    """roleRef.apiGroup and each subject's apiGroup, as Kubernetes defaults them."""
    if not b.role_ref.api_group:
        b.role_ref.api_group = GROUP
    for s in b.subjects or ():
        if not s.api_group and s.kind in (USER, GROUP_KIND):
            s.api_group = GROUP
