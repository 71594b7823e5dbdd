"""Defaults and validation of the RBAC kinds (Kubernetes' field paths and messages).

Imported at the end of validation.py, whose helpers it uses, and registered in its dispatch tables.
"""

from __future__ import annotations

from typing import Any

from . import rbac
from .validation import (
    FieldError,
    invalid,
    not_supported,
    required,
    validate_object_meta,
    validate_object_meta_update,
)


def path_segment_name(value: str) -> list[str]:
    """RBAC names are URL path segments (so "system:node" is a valid name)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def _rules(rules: list[rbac.PolicyRule] | None, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, r in enumerate(rules or ()):
        p = f"{path}[{i}]"
        if not r.verbs:
            errs.append(required(f"{p}.verbs", "verbs must contain at least one value"))
        if r.non_resource_urls:
            if namespaced:
                errs.append(
                    invalid(
                        f"{p}.nonResourceURLs",
                        r.non_resource_urls,
                        "namespaced rules cannot apply to non-resource URLs",
                    )
                )
            if r.api_groups or r.resources or r.resource_names:
                errs.append(
                    invalid(
                        f"{p}.nonResourceURLs",
                        r.non_resource_urls,
                        "rules cannot apply to both regular resources and non-resource URLs",
                    )
                )
            continue
        if not r.api_groups:
            errs.append(required(f"{p}.apiGroups", "resource rules must supply at least one api group"))
        if not r.resources:
            errs.append(required(f"{p}.resources", "resource rules must supply at least one resource"))
    return errs


def validate_role(role: rbac.Role) -> list[FieldError]:
    return validate_object_meta(role.metadata, True, path_segment_name) + _rules(role.rules, True, "rules")


def validate_cluster_role(role: rbac.ClusterRole) -> list[FieldError]:
    errs = validate_object_meta(role.metadata, False, path_segment_name)
    errs += _rules(role.rules, False, "rules")
    agg = role.aggregation_rule
    if agg is not None and not agg.cluster_role_selectors:
        errs.append(
            required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            )
        )
    return errs


def _binding(b: rbac.RoleBinding | rbac.ClusterRoleBinding, namespaced: bool) -> list[FieldError]:
    errs = validate_object_meta(b.metadata, namespaced, path_segment_name)
    ref = b.role_ref
    if ref.api_group != rbac.GROUP:
        errs.append(not_supported("roleRef.apiGroup", ref.api_group, [rbac.GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.kind not in kinds:
        errs.append(not_supported("roleRef.kind", ref.kind, kinds))
    if not ref.name:
        errs.append(required("roleRef.name"))
    else:
        for msg in path_segment_name(ref.name):
            errs.append(invalid("roleRef.name", ref.name, msg))
    for i, s in enumerate(b.subjects or ()):
        p = f"subjects[{i}]"
        if not s.name:
            errs.append(required(f"{p}.name"))
        if s.kind == rbac.SERVICE_ACCOUNT:
            if s.api_group:
                errs.append(not_supported(f"{p}.apiGroup", s.api_group, [""]))
            if not namespaced and not s.namespace:
                errs.append(required(f"{p}.namespace"))
        elif s.kind in (rbac.USER, rbac.GROUP_KIND):
            if s.api_group != rbac.GROUP:
                errs.append(not_supported(f"{p}.apiGroup", s.api_group, [rbac.GROUP]))
        else:
            errs.append(
                not_supported(f"{p}.kind", s.kind, [rbac.SERVICE_ACCOUNT, rbac.USER, rbac.GROUP_KIND])
            )
    return errs


def validate_role_binding(b: rbac.RoleBinding) -> list[FieldError]:
    return _binding(b, True)


def validate_cluster_role_binding(b: rbac.ClusterRoleBinding) -> list[FieldError]:
    return _binding(b, False)


def _binding_update(new: Any, old: Any, namespaced: bool) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs += [e for e in _binding(new, namespaced) if not e.field.startswith("metadata.")]
    if new.role_ref != old.role_ref:
        errs.append(invalid("roleRef", _ref_text(new.role_ref), "cannot change roleRef"))
    return errs


def _ref_text(ref: rbac.RoleRef) -> str:
    return f"{{APIGroup:{ref.api_group} Kind:{ref.kind} Name:{ref.name}}}"


CREATE: dict[type, Any] = {
    rbac.Role: validate_role,
    rbac.ClusterRole: validate_cluster_role,
    rbac.RoleBinding: validate_role_binding,
    rbac.ClusterRoleBinding: validate_cluster_role_binding,
}

UPDATE: dict[type, Any] = {
    rbac.Role: lambda new, old: (
        validate_object_meta_update(new.metadata, old.metadata) + _rules(new.rules, True, "rules")
    ),
    rbac.ClusterRole: lambda new, old: (
        validate_object_meta_update(new.metadata, old.metadata)
        + [e for e in validate_cluster_role(new) if not e.field.startswith("metadata.")]
    ),
    rbac.RoleBinding: lambda new, old: _binding_update(new, old, True),
    rbac.ClusterRoleBinding: lambda new, old: _binding_update(new, old, False),
}
