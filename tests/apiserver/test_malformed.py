"""Thousands of malformed requests (hypothesis): every answer is a 4xx Status or a success, the
server stays up, and its data stays consistent (the store and the watch cache agree; every stored
object still decodes into its type)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skiff.api import codec, core
from tests.apiserver.helpers import make_namespace, pod
from tests.fixtures.apiserver import APIServerHandle

NS = "fuzz"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)

SUBS = ["status", "binding", "log", "x"]
ACCEPTS = ["", "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io", "text/html"]
segments = st.sampled_from(["web", "x", ".", "..", "a.b", "A_B", "%2F", "-", "a" * 300, "ü", "web:1", ""])
paths = st.one_of(
    st.builds(lambda s: f"/api/v1/namespaces/{NS}/pods/{s}", segments),
    st.builds(lambda s: f"/api/v1/namespaces/{s}/pods", segments),
    st.builds(
        lambda s: f"/api/v1/namespaces/{NS}/pods/web/{s}", st.sampled_from(["status", "binding", "log", "x"])
    ),
    st.sampled_from(
        [
            f"/api/v1/namespaces/{NS}/pods",
            "/api/v1/pods",
            "/api/v1/nodes",
            "/api/v1/namespaces",
            "/api/v2/pods",
            "/apis/nope/v1/things",
            f"/apis/events.k8s.io/v1/namespaces/{NS}/events",
            f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases",
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            "/api/v1/frobs",
        ]
    ),
)


def _mutated_pod(draw: Any) -> Any:
    body: dict[str, Any] = pod(draw(st.sampled_from(["web", "other", "Bad_Name", "", "a" * 300])))
    choice = draw(st.integers(0, 7))
    if choice == 0:
        body["kind"] = draw(st.sampled_from(["Node", "Pod", "", 5]))
    elif choice == 1:
        body["apiVersion"] = draw(st.sampled_from(["v2", "apps/v1", None]))
    elif choice == 2:
        body["spec"]["containers"] = draw(json_values)
    elif choice == 3:
        body["metadata"] = draw(json_values)
    elif choice == 4:
        body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": draw(st.text(max_size=8))}}
    elif choice == 5:
        body["spec"]["containers"].append(dict(body["spec"]["containers"][0]))
    elif choice == 6:
        body[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return body


@st.composite
def bodies(draw: Any) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    if kind == 2:
        return json.dumps(_mutated_pod(draw)).encode()
    if kind == 3:
        text = json.dumps(_mutated_pod(draw))
        cut = draw(st.integers(0, len(text)))
        return text[:cut].encode()
    return draw(st.sampled_from([b"a: [b", b"- - -\n  :", b"{{{{", b"kind: Pod\nmetadata: 5", b"\x00\xff"]))


queries = st.dictionaries(
    st.sampled_from(
        [
            "labelSelector",
            "fieldSelector",
            "limit",
            "continue",
            "resourceVersion",
            "resourceVersionMatch",
            "fieldValidation",
            "dryRun",
            "gracePeriodSeconds",
            "propagationPolicy",
            "fieldManager",
        ]
    ),
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(["-1", "0", "1", "99999999999", "a in (b", "x=y", "spec.nodeName=", "!x", "Strict"]),
    ),
    max_size=3,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/yaml",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
        "application/vnd.kubernetes.protobuf",
        "text/html",
        "",
    ]
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerHandle]:
    from tests.fixtures.apiserver import start

    handle, procs = start(tmp_path_factory.mktemp("fuzz") / "skiff", "sqlite")
    with handle.client() as c:
        make_namespace(c, NS)
        assert c.post(f"/api/v1/namespaces/{NS}/pods", json=pod("web")).status_code == 201
    try:
        yield handle
    finally:
        for p in procs:
            p.stop()


@pytest.fixture(scope="module")
def http(fuzz_server: APIServerHandle) -> Iterator[httpx.Client]:
    with fuzz_server.client(timeout=30) as c:
        yield c


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=paths,
    body=bodies(),
    params=queries,
    ctype=content_types,
    accept=st.sampled_from(
        ["", "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io", "text/html"]
    ),
)
def test_malformed_requests_get_status_answers(
    http: httpx.Client, method: str, path: str, body: bytes, params: dict[str, str], ctype: str, accept: str
) -> None:
    headers = {}
    if ctype:
        headers["Content-Type"] = ctype
    if accept:
        headers["Accept"] = accept
    content = body if method in ("POST", "PUT", "PATCH", "DELETE") else None
    r = http.request(method, path, params=params, content=content, headers=headers)
    # The one 5xx Kubernetes gives for a client's input: a resourceVersion from the future (504).
    too_new = r.status_code == 504 and "Too large resource version" in r.text
    assert r.status_code < 500 or too_new, (method, path, params, body[:200], r.text)
    if r.status_code >= 400 and r.status_code != 405:
        status = r.json()
        assert status["kind"] == "Status" and status["code"] == r.status_code, r.text


def test_data_consistent_after_fuzzing(http: httpx.Client) -> None:
    # Runs after the fuzzing in this module: the store (consistent list) and the cache (rv=0) agree.
    for path in (f"/api/v1/namespaces/{NS}/pods", "/api/v1/namespaces", "/api/v1/nodes"):
        from_store = http.get(path, params={"limit": "100000"}).json()["items"]
        from_cache = http.get(path, params={"resourceVersion": "0"}).json()["items"]
        key = [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in from_store]
        assert key == [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in from_cache]
    for p in http.get(f"/api/v1/namespaces/{NS}/pods").json()["items"]:
        codec.decode_fast(core.Pod, json.dumps(p))
        assert p["spec"]["containers"] and all(c.get("image") for c in p["spec"]["containers"])
    assert http.get("/readyz").status_code == 200
