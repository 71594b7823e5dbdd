"""The registry of every kind skiff serves: names, scope, verbs, subresources and Struct types.

Discovery, routing, the OpenAPI document, kubectl's short names and the codec all read this table.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from . import authentication, authorization, coordination, core, events, policy, rbac, scheduling
from .meta import ListBase, Object

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    name: str  # "status", "binding", "log", ...
    kind: str  # the kind of the subresource's body (discovery's `kind`)
    verbs: tuple[str, ...]
    group: str | None = None  # set when the body's group differs from the parent's
    version: str | None = None
    type: type[Object] | None = None  # Struct of the request body, when it has one


@dataclass(frozen=True)
class Kind:
    group: str  # "" for core
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    type: type[Object]
    list_type: builtins.type[ListBase] | None
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = VERBS
    subresources: tuple[Subresource, ...] = ()
    # (group, plural) of the kind whose storage this one shares (events.k8s.io -> core events)
    storage: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def storage_key(self) -> tuple[str, str]:
        """(group, plural) naming the storage this kind reads and writes."""
        return self.storage if self.storage is not None else (self.group, self.plural)

    def subresource(self, name: str) -> Subresource | None:
        for s in self.subresources:
            if s.name == name:
                return s
        return None


KINDS: tuple[Kind, ...] = (
    Kind(
        group="",
        version="v1",
        kind="Pod",
        plural="pods",
        singular="pod",
        namespaced=True,
        type=core.Pod,
        list_type=core.PodList,
        short_names=("po",),
        categories=("all",),
        subresources=(
            Subresource("status", "Pod", STATUS_VERBS),
            Subresource("binding", "Binding", ("create",), type=core.Binding),
            Subresource("log", "Pod", ("get",)),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("eviction", "Eviction", ("create",), "policy", "v1", policy.Eviction),
        ),
    ),
    Kind(
        group="",
        version="v1",
        kind="Node",
        plural="nodes",
        singular="node",
        namespaced=False,
        type=core.Node,
        list_type=core.NodeList,
        short_names=("no",),
        subresources=(Subresource("status", "Node", STATUS_VERBS),),
    ),
    Kind(
        group="",
        version="v1",
        kind="Namespace",
        plural="namespaces",
        singular="namespace",
        namespaced=False,
        type=core.Namespace,
        list_type=core.NamespaceList,
        short_names=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=(
            Subresource("status", "Namespace", STATUS_VERBS),
            Subresource("finalize", "Namespace", ("update",)),
        ),
    ),
    Kind(
        group="",
        version="v1",
        kind="Event",
        plural="events",
        singular="event",
        namespaced=True,
        type=core.Event,
        list_type=core.EventList,
        short_names=("ev",),
    ),
    Kind(
        group="",
        version="v1",
        kind="Binding",
        plural="bindings",
        singular="binding",
        namespaced=True,
        type=core.Binding,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="coordination.k8s.io",
        version="v1",
        kind="Lease",
        plural="leases",
        singular="lease",
        namespaced=True,
        type=coordination.Lease,
        list_type=coordination.LeaseList,
    ),
    Kind(
        group="scheduling.k8s.io",
        version="v1",
        kind="PriorityClass",
        plural="priorityclasses",
        singular="priorityclass",
        namespaced=False,
        type=scheduling.PriorityClass,
        list_type=scheduling.PriorityClassList,
        short_names=("pc",),
    ),
    Kind(
        group="",
        version="v1",
        kind="ServiceAccount",
        plural="serviceaccounts",
        singular="serviceaccount",
        namespaced=True,
        type=core.ServiceAccount,
        list_type=core.ServiceAccountList,
        short_names=("sa",),
        subresources=(
            Subresource(
                "token",
                "TokenRequest",
                ("create",),
                "authentication.k8s.io",
                "v1",
                authentication.TokenRequest,
            ),
        ),
    ),
    Kind(
        group="authentication.k8s.io",
        version="v1",
        kind="SelfSubjectReview",
        plural="selfsubjectreviews",
        singular="selfsubjectreview",
        namespaced=False,
        type=authentication.SelfSubjectReview,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="authentication.k8s.io",
        version="v1",
        kind="TokenReview",
        plural="tokenreviews",
        singular="tokenreview",
        namespaced=False,
        type=authentication.TokenReview,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="events.k8s.io",
        version="v1",
        kind="Event",
        plural="events",
        singular="event",
        namespaced=True,
        type=events.Event,
        list_type=events.EventList,
        short_names=("ev",),
        storage=("", "events"),
    ),
    Kind(
        group="rbac.authorization.k8s.io",
        version="v1",
        kind="ClusterRoleBinding",
        plural="clusterrolebindings",
        singular="clusterrolebinding",
        namespaced=False,
        type=rbac.ClusterRoleBinding,
        list_type=rbac.ClusterRoleBindingList,
    ),
    Kind(
        group="rbac.authorization.k8s.io",
        version="v1",
        kind="ClusterRole",
        plural="clusterroles",
        singular="clusterrole",
        namespaced=False,
        type=rbac.ClusterRole,
        list_type=rbac.ClusterRoleList,
    ),
    Kind(
        group="rbac.authorization.k8s.io",
        version="v1",
        kind="RoleBinding",
        plural="rolebindings",
        singular="rolebinding",
        namespaced=True,
        type=rbac.RoleBinding,
        list_type=rbac.RoleBindingList,
    ),
    Kind(
        group="rbac.authorization.k8s.io",
        version="v1",
        kind="Role",
        plural="roles",
        singular="role",
        namespaced=True,
        type=rbac.Role,
        list_type=rbac.RoleList,
    ),
    # The access reviews: created (asked) and answered at once, never stored.
    Kind(
        group="authorization.k8s.io",
        version="v1",
        kind="LocalSubjectAccessReview",
        plural="localsubjectaccessreviews",
        singular="localsubjectaccessreview",
        namespaced=True,
        type=authorization.LocalSubjectAccessReview,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="authorization.k8s.io",
        version="v1",
        kind="SelfSubjectAccessReview",
        plural="selfsubjectaccessreviews",
        singular="selfsubjectaccessreview",
        namespaced=False,
        type=authorization.SelfSubjectAccessReview,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="authorization.k8s.io",
        version="v1",
        kind="SelfSubjectRulesReview",
        plural="selfsubjectrulesreviews",
        singular="selfsubjectrulesreview",
        namespaced=False,
        type=authorization.SelfSubjectRulesReview,
        list_type=None,
        verbs=("create",),
    ),
    Kind(
        group="authorization.k8s.io",
        version="v1",
        kind="SubjectAccessReview",
        plural="subjectaccessreviews",
        singular="subjectaccessreview",
        namespaced=False,
        type=authorization.SubjectAccessReview,
        list_type=None,
        verbs=("create",),
    ),
)

_BY_RESOURCE: dict[tuple[str, str, str], Kind] = {(k.group, k.version, k.plural): k for k in KINDS}
_BY_KIND: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in KINDS}
_BY_TYPE: dict[type, Kind] = {k.type: k for k in KINDS if k.kind != "Binding"}


def by_resource(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at /api(s)/GROUP/VERSION/PLURAL, or None."""
    return _BY_RESOURCE.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> Kind | None:
    """The kind named by an object's apiVersion and kind ("v1", "Pod"), or None."""
    return _BY_KIND.get((api_version, kind))


def by_type(tp: type) -> Kind | None:
    return _BY_TYPE.get(tp)


def group_versions() -> list[tuple[str, str]]:
    """Served (group, version) pairs in a stable order, core first."""
    seen: list[tuple[str, str]] = []
    for k in KINDS:
        gv = (k.group, k.version)
        if gv not in seen:
            seen.append(gv)
    return seen


def kinds_in(group: str, version: str) -> list[Kind]:
    return [k for k in KINDS if k.group == group and k.version == version]


def resolve(name: str) -> list[Kind]:
    """Kinds a user's resource name could mean: plural, singular, short name or kind (any case)."""
    n = name.lower()
    return [
        k
        for k in KINDS
        if n in (k.plural, k.singular, k.kind.lower()) or n in k.short_names or n == f"{k.plural}.{k.group}"
    ]
