"""Who made a request: the user an authenticator found, as Kubernetes' user.Info describes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

USER_SCOPE_KEY = "skiff.user"

ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
MASTERS = "system:masters"
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# Until a request has been authenticated, the server treats it as this user.
ADMIN = UserInfo(name="kubernetes-admin", groups=(MASTERS, ALL_AUTHENTICATED))


def user_of(scope: Mapping[str, Any]) -> UserInfo:
    user = scope.get(USER_SCOPE_KEY)
    return user if isinstance(user, UserInfo) else ADMIN
