"""Where a kind lives in the REST API: group, version, plural, scope, and the Struct it decodes into.

`resource_for` turns what callers pass (an api Struct class such as `core.Pod`, or a `Resource`) into a
`Resource`, looking the kind up in `skiff.api.kinds` once and caching it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

T = TypeVar("T")


@dataclass(frozen=True)
class Resource(Generic[T]):
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    type: type[T]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The URL path of the collection (name None) or of one object, optionally a subresource."""
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts.append(f"/namespaces/{quote(namespace, safe='')}")
        parts.append(f"/{self.plural}")
        if name is not None:
            if not name:
                raise ValueError(f"a {self.kind} needs a name")
            parts.append(f"/{quote(name, safe='')}")
            if subresource:
                parts.append(f"/{subresource}")
        return "".join(parts)


_cache: dict[Any, Resource[Any]] = {}


def resource_for(kind: type[T] | Resource[T]) -> Resource[T]:
    """The Resource of an api Struct class (via the kinds registry), or the Resource itself."""
    if isinstance(kind, Resource):
        return kind
    found = _cache.get(kind)
    if found is None:
        found = _lookup(kind)
        _cache[kind] = found
    return found


def _lookup(tp: type[Any]) -> Resource[Any]:
    from skiff.api import kinds

    info = kinds.by_type(tp)
    if info is None:
        raise TypeError(f"{getattr(tp, '__name__', tp)!r} is not a kind served by the API (skiff.api.kinds)")
    return Resource(
        group=info.group,
        version=info.version,
        plural=info.plural,
        kind=info.kind,
        namespaced=info.namespaced,
        type=tp,
    )


def dict_resource(
    group: str, version: str, plural: str, kind: str, namespaced: bool
) -> Resource[dict[str, Any]]:
    """A Resource whose objects are plain dicts (for kinds the object model has no Struct for)."""
    return Resource(group=group, version=version, plural=plural, kind=kind, namespaced=namespaced, type=dict)
