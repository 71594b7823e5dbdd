"""Impersonation: Impersonate-User / -Group / -Uid / -Extra-KEY headers make a request run as another
user, when the requester may `impersonate` each of them (kubectl --as, --as-group, --as-uid)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Iterable

from skiff.apiserver import errors

from .attributes import Attributes, forbidden
from .user import ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS, UserInfo

SA_PREFIX = "system:serviceaccount:"
EXTRA_PREFIX = "impersonate-extra-"
Authorize = Callable[[Attributes], Awaitable[tuple[bool, str]]]


def requested(headers: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    """The request's impersonation headers (none: empty)."""
    return tuple((k, v) for k, v in headers if k.startswith(b"impersonate-"))


class Impersonation:
    """Remembers who a requester may act as until an RBAC object changes (the checks are RBAC's)."""

    LIMIT = 10000

    def __init__(self, authorize: Authorize, generation: Callable[[], int]) -> None:
        self.authorize = authorize
        self.generation = generation
        self._seen: dict[tuple[object, ...], UserInfo] = {}
        self._at = -1

    async def user(self, requester: UserInfo, headers: tuple[tuple[bytes, bytes], ...]) -> UserInfo:
        gen = self.generation()
        if gen != self._at or len(self._seen) > self.LIMIT:
            self._seen, self._at = {}, gen
        key = (requester.name, requester.groups, headers)
        got = self._seen.get(key)
        if got is None:
            got = await impersonate(requester, headers, self.authorize)
            self._seen[key] = got
        return got


async def impersonate(
    requester: UserInfo, headers: Iterable[tuple[bytes, bytes]], authorize: Authorize
) -> UserInfo:
    """The user to act as; raises 403 when the requester may not impersonate one of the parts."""
    name: str | None = None
    uid: str | None = None
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for k, v in headers:
        key = k.decode("latin-1").lower()
        value = v.decode("latin-1")
        if key == "impersonate-user":
            name = value
        elif key == "impersonate-group":
            groups.append(value)
        elif key == "impersonate-uid":
            uid = value
        elif key.startswith(EXTRA_PREFIX):
            extra.setdefault(urllib.parse.unquote(key[len(EXTRA_PREFIX) :]), []).append(value)
    if name is None:
        raise errors.bad_request(
            "requested impersonation of groups, uid or extra fields without impersonating a user"
        )
    checks = [_attrs(requester, "", "groups", g) for g in groups]
    if name.startswith(SA_PREFIX) and name.count(":") == 3:
        ns, sa = name[len(SA_PREFIX) :].split(":")
        checks.append(_attrs(requester, "", "serviceaccounts", sa, ns))
        if not groups:  # a service account's own groups come with it, unchecked
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
    else:
        checks.append(_attrs(requester, "", "users", name))
    if uid is not None:
        checks.append(_attrs(requester, "authentication.k8s.io", "uids", uid))
    for key, values in extra.items():
        checks += [_attrs(requester, "authentication.k8s.io", "userextras", v, sub=key) for v in values]
    for a in checks:
        allowed, reason = await authorize(a)
        if not allowed:
            raise forbidden(a, reason)
    if name == ANONYMOUS:
        if ALL_UNAUTHENTICATED not in groups:
            groups.append(ALL_UNAUTHENTICATED)
    elif ALL_AUTHENTICATED not in groups:
        groups.append(ALL_AUTHENTICATED)
    return UserInfo(
        name=name, uid=uid or "", groups=tuple(groups), extra={k: tuple(v) for k, v in extra.items()}
    )


def _attrs(user: UserInfo, group: str, resource: str, name: str, ns: str = "", sub: str = "") -> Attributes:
    return Attributes(
        user,
        "impersonate",
        True,
        namespace=ns,
        api_group=group,
        resource=resource,
        subresource=sub,
        name=name,
    )
