"""RBAC escalation prevention: a user may write a Role or ClusterRole only with permissions it holds
itself (or with the `escalate` verb on it), and bind a role only when it holds the role's permissions
(or has the `bind` verb on it). So a namespace admin cannot grant itself more than it has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skiff.apiserver import errors

from .attributes import Attributes
from .authorizer import Authorizer
from .rbac import Rule, rules_of
from .user import MASTERS, UserInfo

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = {"roles": "Role", "clusterroles": "ClusterRole"}
BINDINGS = ("rolebindings", "clusterrolebindings")


def _atoms(rule: Obj) -> Iterator[tuple[str, ...]]:
    """A rule as its smallest parts: (verb, group, resource, name) or (verb, url)."""
    verbs = rule.get("verbs") or []
    urls = rule.get("nonResourceURLs") or []
    for v in verbs:
        for u in urls:
            yield (v, u)
        for g in rule.get("apiGroups") or []:
            for r in rule.get("resources") or []:
                for n in rule.get("resourceNames") or [""]:
                    yield (v, g, r, n)


def _covered(held: list[Rule], user: UserInfo, atom: tuple[str, ...]) -> bool:
    if len(atom) == 2:
        a = Attributes(user, atom[0], False, path=atom[1])
    else:
        resource, _, sub = atom[2].partition("/")
        a = Attributes(
            user, atom[0], True, api_group=atom[1], resource=resource, subresource=sub, name=atom[3]
        )
    return any(r.allows(a) for r in held)


def missing(held: list[Rule], user: UserInfo, rules: list[Obj]) -> list[Obj]:
    """The rules (of those asked) that the held rules do not cover, each in full."""
    return [r for r in rules if not all(_covered(held, user, atom) for atom in _atoms(r))]


def _refuse(plural: str, name: str, user: UserInfo, what: str) -> errors.APIError:
    groups = " ".join(f'"{g}"' for g in user.groups)
    message = (
        f'{plural}.{GROUP} "{name}" is forbidden: user "{user.name}" (groups=[{groups}]) is attempting to '
        f"{what}"
    )
    return errors.APIError(403, "Forbidden", message, {"name": name, "group": GROUP, "kind": plural})


def _rule_text(r: Obj) -> str:
    parts = []
    for key, label in (
        ("apiGroups", "APIGroups"),
        ("resources", "Resources"),
        ("resourceNames", "ResourceNames"),
        ("nonResourceURLs", "NonResourceURLs"),
        ("verbs", "Verbs"),
    ):
        if r.get(key):
            parts.append(f"{label}:[{' '.join(repr(x).replace(chr(39), chr(34)) for x in r[key])}]")
    return "{" + ", ".join(parts) + "}"


async def check(authz: Authorizer, user: UserInfo, plural: str, obj: Obj) -> None:
    """403 when writing this RBAC object would grant more than the user holds."""
    if MASTERS in user.groups or (plural not in ROLE_KINDS and plural not in BINDINGS):
        return
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    ns = str(meta.get("namespace") or "") if plural in ("roles", "rolebindings") else ""
    if plural in ROLE_KINDS:
        verb_ok, _ = await authz.authorize(
            Attributes(user, "escalate", True, namespace=ns, api_group=GROUP, resource=plural, name=name)
        )
        if verb_ok:
            return
        asked = list(obj.get("rules") or [])
        if isinstance(obj.get("aggregationRule"), dict):
            asked.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})  # may gather anything
        held = list(authz.rbac.rules_for(user, ns))
        lacking = missing(held, user, [r for r in asked if isinstance(r, dict)])
        if lacking:
            text = "\n".join(_rule_text(r) for r in lacking)
            raise _refuse(plural, name, user, f"grant RBAC permissions not currently held:\n{text}")
        return
    ref = obj.get("roleRef") or {}
    role_plural = "roles" if ref.get("kind") == "Role" else "clusterroles"
    role_name = str(ref.get("name") or "")
    verb_ok, _ = await authz.authorize(
        Attributes(user, "bind", True, namespace=ns, api_group=GROUP, resource=role_plural, name=role_name)
    )
    if verb_ok:
        return
    rules = role_rules(authz, role_plural, ns, role_name)
    held = list(authz.rbac.rules_for(user, ns))
    if missing(held, user, rules):
        raise _refuse(
            plural,
            name,
            user,
            f'grant RBAC permissions not currently held: binding {ref.get("kind")} "{role_name}" needs its '
            "permissions or the bind verb on it",
        )


def role_rules(authz: Authorizer, plural: str, ns: str, name: str) -> list[Obj]:
    """The rules a binding would grant (a missing role grants nothing)."""
    objects = authz.rbac.cache.resource(plural).objects
    if plural == "roles":
        c = objects.get(f"{ns}/{name}")
        return list(c.obj.get("rules") or []) if c is not None else []
    c = objects.get(f"/{name}")
    if c is None:
        return []
    roles = {str(x.obj["metadata"].get("name")): x.obj for x in objects.values()}
    return rules_of(c.obj, roles)
