"""ServiceAccounts, their tokens (TokenRequest), `kubectl auth whoami` and the Authorization header
under fuzzing (issue 8)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skiff.apiserver.auth import kubeconfigs
from skiff.apiserver.auth.serviceaccounts import ServiceAccountTokens, load_or_create_key
from tests.apiserver.helpers import make_namespace, unique
from tests.fixtures.apiserver import APIServerHandle


def kubectl(kubeconfig: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["kubectl", "--kubeconfig", kubeconfig, *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: {res.stderr}")
    return res


def token_kubeconfig(handle: APIServerHandle, tmp_path: Path, token: str) -> str:
    doc = kubeconfigs.kubeconfig(handle.url, Path(handle.ca).read_bytes(), user="sa", token=token)
    return kubeconfigs.write(tmp_path / f"token-{unique()}.kubeconfig", doc)


def whoami(kubeconfig: str) -> dict[str, Any]:
    out = kubectl(kubeconfig, "auth", "whoami", "-o", "json").stdout
    return json.loads(out)["status"]["userInfo"]  # type: ignore[no-any-return]


@pytest.fixture
def ns(shared_apiserver: APIServerHandle) -> str:
    name = unique("sa")
    with shared_apiserver.client() as c:
        make_namespace(c, name)
    return name


def test_every_namespace_has_a_default_service_account(shared_apiserver: APIServerHandle, ns: str) -> None:
    with shared_apiserver.client() as c:
        for namespace in ("default", "kube-system", ns):
            r = c.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
            assert r.status_code == 200, r.text
            assert r.json()["kind"] == "ServiceAccount"
    out = kubectl(shared_apiserver.kubeconfig, "get", "sa", "-n", ns).stdout.split()
    assert out[:4] == ["NAME", "SECRETS", "AGE", "default"]


def test_admin_whoami(shared_apiserver: APIServerHandle) -> None:
    info = whoami(shared_apiserver.kubeconfig)
    assert info == {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}


def test_client_certificate_user_and_groups_reach_whoami(
    shared_apiserver: APIServerHandle, tmp_path: Path
) -> None:
    doc = kubeconfigs.for_user(shared_apiserver.data_dir, shared_apiserver.url, "jane", ["devs", "ops"])
    path = kubeconfigs.write(tmp_path / "jane.kubeconfig", doc)
    assert whoami(path) == {"username": "jane", "groups": ["devs", "ops", "system:authenticated"]}


def test_kubectl_create_token_authenticates_as_the_service_account(
    shared_apiserver: APIServerHandle, ns: str, tmp_path: Path
) -> None:
    kubectl(shared_apiserver.kubeconfig, "create", "serviceaccount", "robot", "-n", ns)
    token = kubectl(shared_apiserver.kubeconfig, "create", "token", "robot", "-n", ns).stdout.strip()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["sub"] == f"system:serviceaccount:{ns}:robot"
    assert payload["exp"] - payload["iat"] == 3600
    info = whoami(token_kubeconfig(shared_apiserver, tmp_path, token))
    assert info["username"] == f"system:serviceaccount:{ns}:robot"
    assert info["groups"] == [
        "system:serviceaccounts",
        f"system:serviceaccounts:{ns}",
        "system:authenticated",
    ]
    assert info["uid"]


def test_token_request_validation(shared_apiserver: APIServerHandle, ns: str) -> None:
    res = kubectl(
        shared_apiserver.kubeconfig, "create", "token", "default", "-n", ns, "--duration", "5m", check=False
    )
    assert res.returncode != 0
    assert (
        "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes"
        in res.stderr
    )
    res = kubectl(shared_apiserver.kubeconfig, "create", "token", "ghost", "-n", ns, check=False)
    assert 'serviceaccounts "ghost" not found' in res.stderr
    with shared_apiserver.client() as c:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 7200},
        }
        r = c.post(f"/api/v1/namespaces/{ns}/serviceaccounts/default/token", json=body)
        assert r.status_code == 201, r.text
        got = r.json()
        assert got["kind"] == "TokenRequest" and got["spec"]["expirationSeconds"] == 7200
        assert got["status"]["token"] and got["status"]["expirationTimestamp"].endswith("Z")


def test_token_of_a_deleted_service_account_is_refused(shared_apiserver: APIServerHandle, ns: str) -> None:
    kubectl(shared_apiserver.kubeconfig, "create", "serviceaccount", "temp", "-n", ns)
    token = kubectl(shared_apiserver.kubeconfig, "create", "token", "temp", "-n", ns).stdout.strip()
    with shared_apiserver.client(admin=False, headers={"Authorization": f"Bearer {token}"}) as c:
        review = c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={})
        assert review.status_code == 201
        kubectl(shared_apiserver.kubeconfig, "delete", "serviceaccount", "temp", "-n", ns)
        deadline = time.monotonic() + 10
        while c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}).status_code != 401:
            assert time.monotonic() < deadline, "the token still works"
            time.sleep(0.05)
        # A new account of the same name is another account: the old token stays refused.
        kubectl(shared_apiserver.kubeconfig, "create", "serviceaccount", "temp", "-n", ns)
        assert c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}).status_code == 401


def test_forged_expired_and_foreign_tokens_are_refused(shared_apiserver: APIServerHandle, ns: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    with shared_apiserver.client() as admin:
        sa = admin.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default").json()
    uid = sa["metadata"]["uid"]
    real = ServiceAccountTokens(load_or_create_key(shared_apiserver.data_dir), lookup=None)  # type: ignore[arg-type]
    forger = ServiceAccountTokens(rsa.generate_private_key(public_exponent=65537, key_size=2048), lookup=None)  # type: ignore[arg-type]
    good, _ = real.issue(ns, "default", uid, [], 3600)
    bad = {
        "forged": forger.issue(ns, "default", uid, [], 3600)[0],
        "expired": real.issue(ns, "default", uid, [], -10)[0],
        "foreign audience": real.issue(ns, "default", uid, ["vault"], 3600)[0],
        "wrong uid": real.issue(ns, "default", "not-the-uid", [], 3600)[0],
        "truncated": good[:-5],
        "garbled": good.replace(".", ".x", 1),
    }
    with shared_apiserver.client(admin=False) as c:
        auth = {"Authorization": f"Bearer {good}"}
        assert (
            c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}, headers=auth).status_code
            == 201
        )
        for what, token in bad.items():
            r = c.get("/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, what


def test_token_review(shared_apiserver: APIServerHandle, ns: str) -> None:
    token = kubectl(shared_apiserver.kubeconfig, "create", "token", "default", "-n", ns).stdout.strip()
    with shared_apiserver.client() as c:
        url = "/apis/authentication.k8s.io/v1/tokenreviews"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        status = c.post(url, json=body).json()["status"]
        assert status["authenticated"] is True
        assert status["user"]["username"] == f"system:serviceaccount:{ns}:default"
        body["spec"]["token"] = "nope"  # type: ignore[index]
        status = c.post(url, json=body).json()["status"]
        assert status["authenticated"] is False and "invalid bearer token" in status["error"]


def test_official_client_token_request(shared_apiserver: APIServerHandle, ns: str) -> None:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=shared_apiserver.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        core = client.CoreV1Api(api)
        req = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=900)
        )
        got = core.create_namespaced_service_account_token("default", ns, req)
        assert got.status.token.count(".") == 2
        review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
        assert review.status.user_info.username == "kubernetes-admin"


# ------------------------------------------------------------------ fuzzing the Authorization header

_valid_token: list[str] = []


def _header_values() -> st.SearchStrategy[bytes]:
    visible = st.binary(min_size=0, max_size=300).map(
        lambda b: bytes(c for c in b if c == 0x20 or 0x21 <= c <= 0x7E or c >= 0x80).strip()
    )
    schemes = st.sampled_from([b"Bearer ", b"bearer ", b"BEARER ", b"Basic ", b"Bearer", b""])
    jwtish = st.lists(
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=60),
        min_size=1,
        max_size=5,
    ).map(lambda parts: ".".join(parts).encode())
    return st.one_of(
        visible,
        st.tuples(schemes, st.one_of(visible, jwtish)).map(lambda t: (t[0] + t[1]).strip()),
        st.tuples(st.integers(0, 400), st.integers(0, 255)).map(_mutated_token),
    )


def _mutated_token(at: tuple[int, int] | Any, value: int | None = None) -> bytes:
    pos, byte = at if value is None else (at, value)
    token = bytearray(_valid_token[0].encode())
    pos %= len(token)
    token[pos] = byte if 0x21 <= byte <= 0x7E else ord("A") + byte % 26
    return b"Bearer " + bytes(token)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(header=_header_values())
def test_authorization_header_fuzz_is_always_401(shared_apiserver: APIServerHandle, header: bytes) -> None:
    if not _valid_token:
        with shared_apiserver.client() as c:
            body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
            r = c.post("/api/v1/namespaces/default/serviceaccounts/default/token", json=body)
            _valid_token.append(r.json()["status"]["token"])
    if header == b"Bearer " + _valid_token[0].encode():
        return
    with shared_apiserver.client(admin=False, timeout=30) as c:
        r = c.get("/api/v1/namespaces", headers={"Authorization": header})
    assert r.status_code == 401, (header, r.text)
    assert r.json()["reason"] == "Unauthorized"
