"""NodeRestriction admission: what a node may create, judged on the object itself."""

from __future__ import annotations

from typing import Any

from skiff.apiserver import errors

from .node import LEASE_NAMESPACE, node_name
from .user import UserInfo

MIRROR = "kubernetes.io/config.mirror"


def _forbidden(group: str, plural: str, name: str, why: str) -> errors.APIError:
    qualified = f"{plural}.{group}" if group else plural
    details = {"name": name, "kind": plural, **({"group": group} if group else {})}
    return errors.APIError(403, "Forbidden", f'{qualified} "{name}" is forbidden: {why}', details)


def admit_create(user: UserInfo, group: str, plural: str, obj: dict[str, Any]) -> None:
    """Raise 403 when a node creates something that is not its own."""
    node = node_name(user)
    if node is None:
        return
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    if group == "" and plural == "nodes" and name != node:
        raise _forbidden(group, plural, name, f'node "{node}" is not allowed to modify node "{name}"')
    lease = group == "coordination.k8s.io" and plural == "leases"
    if lease and meta.get("namespace") == LEASE_NAMESPACE and name != node:
        raise _forbidden(
            group, plural, name, "can only access node lease with the same name as the requesting node"
        )
    if group == "" and plural == "pods":
        if MIRROR not in (meta.get("annotations") or {}):
            raise _forbidden(
                group,
                plural,
                name,
                f'pod does not have "{MIRROR}" annotation, node "{node}" can only create mirror pods',
            )
        if (obj.get("spec") or {}).get("nodeName") != node:
            raise _forbidden(
                group, plural, name, f'node "{node}" can only create pods with spec.nodeName set to itself'
            )
        for ref in meta.get("ownerReferences") or ():
            if not isinstance(ref, dict) or ref.get("kind") != "Node" or ref.get("name") != node:
                raise _forbidden(
                    group,
                    plural,
                    name,
                    f'node "{node}" can only create pods with an owner reference set to itself',
                )


def admit_update(user: UserInfo, group: str, plural: str, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Raise 403 when a node changes the taints of its Node (only administrators and controllers
    may: a node must not lift what keeps pods away from it)."""
    node = node_name(user)
    if node is None or group != "" or plural != "nodes":
        return
    if (new.get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
        name = str((new.get("metadata") or {}).get("name") or "")
        raise _forbidden(group, plural, name, f'node "{node}" is not allowed to modify taints')
