"""The RBAC authorizer: Roles and ClusterRoles granted through RoleBindings and ClusterRoleBindings.

The authorizer never reads the store on a request. It keeps an index built from the API server's
watch cache (every rule reachable from each subject, per namespace), rebuilt when an RBAC object
changes: the index registers as a watcher of the four RBAC resources in the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from skiff.api import codec, core, labels
from skiff.apiserver.cache import Change, ResourceCache, WatchCache, Watcher

from .attributes import Attributes
from .user import UserInfo

Obj = dict[str, Any]
RBAC_PLURALS = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
ALL = "*"


class Rule:
    """One PolicyRule, compiled to sets. Empty sets of names mean "any name"."""

    __slots__ = ("groups", "names", "resources", "urls", "verbs")

    def __init__(self, r: Obj) -> None:
        self.verbs = frozenset(_strs(r.get("verbs")))
        self.groups = frozenset(_strs(r.get("apiGroups")))
        self.resources = frozenset(_strs(r.get("resources")))
        self.names = frozenset(_strs(r.get("resourceNames")))
        self.urls = tuple(_strs(r.get("nonResourceURLs")))

    def allows(self, a: Attributes) -> bool:
        if a.verb not in self.verbs and ALL not in self.verbs:
            return False
        if not a.resource_request:
            return any(_url_matches(u, a.path) for u in self.urls)
        if a.api_group not in self.groups and ALL not in self.groups:
            return False
        if not _resource_matches(self.resources, a.resource, a.subresource):
            return False
        return not self.names or a.name in self.names

    def as_dict(self) -> Obj:
        out: Obj = {"verbs": sorted(self.verbs)}
        if self.urls:
            out["nonResourceURLs"] = list(self.urls)
            return out
        out["apiGroups"] = sorted(self.groups)
        out["resources"] = sorted(self.resources)
        if self.names:
            out["resourceNames"] = sorted(self.names)
        return out


def _strs(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list) else []


def _resource_matches(rule_resources: frozenset[str], resource: str, sub: str) -> bool:
    if ALL in rule_resources:
        return True
    if not sub:
        return resource in rule_resources
    # "pods/status" names one subresource; "*/status" that subresource of every resource.
    return f"{resource}/{sub}" in rule_resources or f"*/{sub}" in rule_resources


def _url_matches(rule: str, path: str) -> bool:
    if rule in (ALL, path):
        return True
    return rule.endswith("*") and path.startswith(rule[:-1])


def subject_keys(user: UserInfo) -> list[str]:
    """The index keys a user is found under: its name and each of its groups."""
    return ["u:" + user.name, *("g:" + g for g in user.groups)]


def _subject_key(s: Obj, binding_namespace: str) -> str | None:
    kind = s.get("kind")
    name = str(s.get("name") or "")
    if kind == "User":
        return "u:" + name
    if kind == "Group":
        return "g:" + name
    if kind == "ServiceAccount":
        ns = str(s.get("namespace") or binding_namespace)
        return f"u:system:serviceaccount:{ns}:{name}" if ns else None
    return None


class _Invalidate(Watcher):
    """A watcher of one RBAC resource whose only job is to mark the index stale (and to tell the
    aggregation of ClusterRoles that one changed)."""

    def __init__(self, index: RBACIndex, plural: str) -> None:
        super().__init__(None, None, 0)
        self.index = index
        self.plural = plural

    def offer(self, ch: Change) -> None:
        self.index.stale = True
        if self.plural == "clusterroles" and self.index.on_cluster_roles is not None:
            self.index.on_cluster_roles()

    def end(self, why: str) -> None:
        self.index.stale = True


class RBACIndex:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache
        self.stale = True
        self.generation = 0  # bumped on every rebuild: decision caches key on it
        self._watched: dict[str, ResourceCache] = {}
        self._watchers = {p: _Invalidate(self, p) for p in RBAC_PLURALS}
        self.on_cluster_roles: Callable[[], None] | None = None
        # subject key -> rules granted cluster-wide; namespace -> subject key -> rules granted there
        self.cluster: dict[str, list[Rule]] = {}
        self.namespaced: dict[str, dict[str, list[Rule]]] = {}

    def _objects(self, plural: str) -> Iterable[Obj]:
        rc = self.cache.resource(plural)
        if self._watched.get(plural) is not rc:  # the cache was (re)loaded: follow its new resource
            rc.watchers.add(self._watchers[plural])
            self._watched[plural] = rc
        return [c.obj for c in rc.objects.values()]

    def refresh(self) -> None:
        """Rebuild when an RBAC object changed since the last build (cheap check otherwise)."""
        if not self.stale and all(self.cache.resources.get(p) is rc for p, rc in self._watched.items()):
            return
        self.stale = False
        self._build()
        self.generation += 1

    def current_generation(self) -> int:
        """The generation of the index as it is now (rebuilt first if an RBAC object changed)."""
        self.refresh()
        return self.generation

    def _build(self) -> None:
        cluster_roles = {str(o["metadata"].get("name")): o for o in self._objects("clusterroles")}
        compiled: dict[str, list[Rule]] = {}
        for name, role in cluster_roles.items():
            compiled[name] = [Rule(r) for r in rules_of(role, cluster_roles)]
        roles: dict[tuple[str, str], list[Rule]] = {}
        for o in self._objects("roles"):
            m = o["metadata"]
            roles[(str(m.get("namespace")), str(m.get("name")))] = [Rule(r) for r in _rule_list(o)]
        cluster: dict[str, list[Rule]] = {}
        for b in self._objects("clusterrolebindings"):
            ref = b.get("roleRef") or {}
            rules = compiled.get(str(ref.get("name"))) if ref.get("kind") == "ClusterRole" else None
            if rules:
                for s in _subjects(b):
                    key = _subject_key(s, "")
                    if key is not None:
                        cluster.setdefault(key, []).extend(rules)
        namespaced: dict[str, dict[str, list[Rule]]] = {}
        for b in self._objects("rolebindings"):
            ns = str(b["metadata"].get("namespace") or "")
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                rules = compiled.get(str(ref.get("name")))
            else:
                rules = roles.get((ns, str(ref.get("name"))))
            if rules:
                per = namespaced.setdefault(ns, {})
                for s in _subjects(b):
                    key = _subject_key(s, ns)
                    if key is not None:
                        per.setdefault(key, []).extend(rules)
        self.cluster, self.namespaced = cluster, namespaced

    def rules_for(self, user: UserInfo, namespace: str) -> Iterator[Rule]:
        """Every rule granted to the user cluster-wide and, when given, in the namespace."""
        self.refresh()
        keys = subject_keys(user)
        per = self.namespaced.get(namespace) if namespace else None
        for k in keys:
            yield from self.cluster.get(k, ())
            if per:
                yield from per.get(k, ())

    def allows(self, a: Attributes) -> bool:
        return any(r.allows(a) for r in self.rules_for(a.user, a.namespace))


def _subjects(b: Obj) -> list[Obj]:
    s = b.get("subjects")
    return [x for x in s if isinstance(x, dict)] if isinstance(s, list) else []


def _rule_list(role: Obj) -> list[Obj]:
    rules = role.get("rules")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def rules_of(role: Obj, cluster_roles: dict[str, Obj]) -> list[Obj]:
    """A ClusterRole's rules; an aggregated one's are the rules of every ClusterRole its selectors
    pick, whatever it stores (aggregation.py writes them into it, as Kubernetes' controller does)."""
    agg = role.get("aggregationRule")
    if not isinstance(agg, dict):
        return _rule_list(role)
    out: list[Obj] = []
    selectors = []
    for sel in agg.get("clusterRoleSelectors") or ():
        try:
            selectors.append(codec.from_builtins(core.LabelSelector, sel))
        except codec.DecodeError:
            continue
    for other in cluster_roles.values():
        if other is role or isinstance(other.get("aggregationRule"), dict):
            continue
        lbls = (other.get("metadata") or {}).get("labels") or {}
        if any(labels.matches_label_selector(s, lbls) for s in selectors):
            out.extend(r for r in _rule_list(other) if r not in out)
    return out
