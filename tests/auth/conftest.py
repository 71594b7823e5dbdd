"""Identities for the authorization tests: the admin acts as each identity through impersonation
(Impersonate-User / Impersonate-Group headers), which needs no credentials per identity;
test_credentials.py does the same with real ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.apiserver import APIServerHandle

SCHEDULER = {"Impersonate-User": "system:kube-scheduler"}
CONTROLLER_MANAGER = {"Impersonate-User": "system:kube-controller-manager"}
ANONYMOUS = {"Impersonate-User": "system:anonymous"}


def node(name: str) -> dict[str, str]:
    return {"Impersonate-User": f"system:node:{name}", "Impersonate-Group": "system:nodes"}


def service_account(ns: str, name: str) -> dict[str, str]:
    return {"Impersonate-User": f"system:serviceaccount:{ns}:{name}"}


def admin_client(handle: APIServerHandle) -> httpx.Client:
    """An httpx client as the admin (over TLS with the admin's certificate once the fixture has it)."""
    make = getattr(handle, "client", None)
    return make(timeout=30) if make is not None else httpx.Client(base_url=handle.url, timeout=30)


def tls(handle: APIServerHandle) -> dict[str, Any]:
    """Keyword arguments for httpx's one-shot calls (the CA and admin certificate once served)."""
    return dict(getattr(handle, "tls", {}))


@pytest.fixture
def admin(shared_apiserver: APIServerHandle) -> Iterator[httpx.Client]:
    with admin_client(shared_apiserver) as c:
        yield c


def eventually(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """RBAC changes reach the authorizer through the watch cache, a moment after the write."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def cluster_role_binding(name: str, role: str, subject: dict[str, str]) -> dict[str, Any]:
    """A ClusterRoleBinding body binding ``role`` to one subject (kind, name[, namespace])."""
    if subject["kind"] != "ServiceAccount":
        subject = {**subject, "apiGroup": "rbac.authorization.k8s.io"}
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }
