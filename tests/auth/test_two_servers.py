"""Two API servers on one etcd: a binding written through one authorizes on the other (each server
keeps its own RBAC index, fed by its own watch cache), and a revocation reaches both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apiserver.helpers import unique
from tests.auth.conftest import admin_client, created, eventually

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.mark.parametrize("apiserver", ["etcd-2"], indirect=True)
def test_binding_on_one_server_authorizes_on_the_other(apiserver: Any) -> None:
    user = unique("reader")
    h = {"Impersonate-User": user}
    with admin_client(apiserver) as first:
        make = getattr(apiserver, "client", None)
        second = (
            make(url=apiserver.urls[1], timeout=30)
            if make
            else type(first)(base_url=apiserver.urls[1], timeout=30)
        )
        with second:
            assert second.get("/api/v1/nodes", headers=h).status_code == 403
            binding = {
                "metadata": {"name": user},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:node",
                },
                "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
            }
            created(first.post(f"{RBAC}/clusterrolebindings", json=binding))
            eventually(
                lambda: second.get("/api/v1/nodes", headers=h).status_code == 200, "allowed on the second"
            )
            assert first.get("/api/v1/nodes", headers=h).status_code == 200
            assert second.delete(f"{RBAC}/clusterrolebindings/{user}").status_code == 200
            eventually(
                lambda: first.get("/api/v1/nodes", headers=h).status_code == 403, "revoked on the first"
            )
