"""Who may call a kubelet's own server: a real `skiff kubelet` process (process runtime) running as
system:node:NODE with a serving certificate from the cluster CA, called with real certificates and
tokens. Anonymous -> 401; authenticated without rights on nodes/proxy (or nodes/metrics) -> 403; the
admin directly and through the API server (its kubelet-client identity) -> allowed."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from skiff import pki
from skiff.apiserver.auth import certs, kubeconfigs
from skiff.client import Client
from skiff.client.delegated import Attrs, Caller, DelegatedAuth
from skiff.kubelet.auth import node_attributes
from tests.apiserver.helpers import Kubectl
from tests.auth.conftest import cluster_role_binding, created, eventually
from tests.fixtures.apiserver import APIServerHandle, free_port
from tests.fixtures.processes import stop_process

POD = """
apiVersion: v1
kind: Pod
metadata: {name: NAME}
spec:
  nodeName: NODE
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo hello; while true; do sleep 1; done"]
"""
EXEC = "/exec/default/{pod}/main?command=echo&command=hi&stdout=true"
PROTOCOLS: Any = ["v5.channel.k8s.io", "v4.channel.k8s.io"]


class Target:
    """A component's HTTPS server (a kubelet's, the scheduler's metrics) and how to call it."""

    def __init__(self, handle: APIServerHandle, name: str, port: int, pod: str) -> None:
        self.handle = handle
        self.name = name
        self.base = f"https://127.0.0.1:{port}"
        self.pod = pod

    def context(self, user: str | None = None, groups: tuple[str, ...] = ()) -> ssl.SSLContext:
        """Trusts the cluster CA; presents a certificate for ``user`` when given."""
        ctx = ssl.create_default_context(cafile=self.handle.ca)
        if user is not None:
            name = "kt-" + user.replace(":", "-")
            certs.client_pem(self.handle.data_dir, name, user, groups)
            ctx.load_cert_chain(str(Path(self.handle.data_dir) / "pki" / f"{name}.pem"))
        return ctx

    def get(self, path: str, ctx: ssl.SSLContext, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.base + path, verify=ctx, headers=headers, timeout=30)

    async def exec(self, ctx: ssl.SSLContext, token: str | None = None) -> tuple[int, str]:
        """(HTTP status of a refused upgrade or 101, what came back)."""
        url = self.base.replace("https", "wss") + EXEC.format(pod=self.pod)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            async with websockets.connect(
                url, subprotocols=PROTOCOLS, ssl=ctx, additional_headers=headers
            ) as ws:
                msgs = [m async for m in ws]
        except websockets.InvalidStatus as e:
            return e.response.status_code, e.response.body.decode()
        out = b"".join(m[1:] for m in msgs if isinstance(m, bytes) and m[0] == 1)
        return 101, out.decode()


@pytest.fixture(scope="module")
def node(shared_apiserver: APIServerHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    h = shared_apiserver
    name = f"kt-{uuid.uuid4().hex[:6]}"
    tmp = tmp_path_factory.mktemp("kubelet-server")
    kubeconfig = kubeconfigs.write(
        tmp / "kubelet.kubeconfig",
        kubeconfigs.for_user(h.data_dir, h.url, f"system:node:{name}", ["system:nodes"], f"kubelet-{name}"),
    )
    port = free_port()
    log = open(tmp / "kubelet.log", "wb")  # noqa: SIM115 - closed below
    args = ["--node-name", name, "--runtime", "process", "--address", "127.0.0.1", "--port", str(port)]
    args += ["--root-dir", str(tmp / "root"), "--tls-cert-file", h.kubelet_serving_pem(name)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "skiff", "kubelet", "--kubeconfig", kubeconfig, *args],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        k = Kubectl(h.kubeconfig, tmp / "cache")
        deadline = time.monotonic() + 60
        while k.run("get", "node", name, check=False).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None, (tmp / "kubelet.log").read_text()
            time.sleep(0.2)
        pod = f"p-{name}"
        k("apply", "-f", "-", input=POD.replace("NAME", pod).replace("NODE", name))
        k("wait", "--for=condition=Ready", f"pod/{pod}", "--timeout=60s")
        yield Target(h, name, port, pod)
        k.run("delete", "pod", pod, "--grace-period=0", "--force", check=False)
        k.run("delete", "node", name, check=False)
    finally:
        stop_process(proc, 15)
        log.close()


def logs_path(node: Target) -> str:
    return f"/containerLogs/default/{node.pod}/main"


async def test_anonymous_is_401_everywhere(node: Target) -> None:
    anon = node.context()
    for path in (logs_path(node), "/metrics", "/healthz", "/stats/summary"):
        r = node.get(path, anon)
        assert (r.status_code, r.text) == (401, "Unauthorized\n"), path
    assert await node.exec(anon) == (401, "Unauthorized\n")
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
    assert node.get(logs_path(node), anon, token=forged).status_code == 401
    assert (await node.exec(anon, token="not-a-token"))[0] == 401


async def test_certificate_of_another_ca_is_refused_in_the_handshake(node: Target, tmp_path: Path) -> None:
    ca_cert, ca_key = pki.create_ca("elsewhere")
    cert, key = pki.sign(ca_cert, ca_key, "kubernetes-admin", ["system:masters"])
    (tmp_path / "forged.pem").write_bytes(key + cert)
    ctx = node.context()
    ctx.load_cert_chain(str(tmp_path / "forged.pem"))
    with pytest.raises((httpx.HTTPError, ssl.SSLError)):
        node.get(logs_path(node), ctx)


async def test_user_without_nodes_proxy_is_403(node: Target) -> None:
    jane = node.context("kt-jane", ("devs",))
    r = node.get(logs_path(node), jane)
    assert r.status_code == 403
    assert r.text.strip() == "Forbidden (user=kt-jane, verb=get, resource=nodes, subresource=proxy)"
    code, text = await node.exec(jane)
    assert code == 403 and "subresource=proxy" in text
    r = node.get("/metrics", jane)
    assert r.status_code == 403 and "subresource=metrics" in r.text


async def test_service_account_token_is_reviewed_and_authorized(node: Target) -> None:
    h = node.handle
    sa = f"robot-{uuid.uuid4().hex[:6]}"
    with h.client(timeout=30) as admin:
        created(admin.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": sa}}))
        token = created(
            admin.post(f"/api/v1/namespaces/default/serviceaccounts/{sa}/token", json={"spec": {}})
        )["status"]["token"]
        anon = node.context()
        r = node.get(logs_path(node), anon, token=token)
        assert r.status_code == 403 and f"user=system:serviceaccount:default:{sa}," in r.text
        # nodes/metrics only: /metrics answers, logs stay refused (they are nodes/proxy).
        role = {
            "metadata": {"name": f"kt-metrics-{sa}"},
            "rules": [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]}],
        }
        created(admin.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json=role))
        subject = {"kind": "ServiceAccount", "name": sa, "namespace": "default"}
        binding = cluster_role_binding(f"kt-metrics-{sa}", f"kt-metrics-{sa}", subject)
        created(admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding))
        user = f"system:serviceaccount:default:{sa}"
        eventually(lambda: _sar_allows(admin, user, node.name, "metrics"), "the binding reaches RBAC")
    # The kubelet has not asked about /metrics for this account before, so no denial is cached.
    r = node.get("/metrics", anon, token=token)
    assert r.status_code == 200 and "# TYPE" in r.text
    assert node.get(logs_path(node), anon, token=token).status_code == 403


async def test_admin_certificate_directly(node: Target) -> None:
    admin = node.context("kubernetes-admin", ("system:masters",))
    r = eventually(lambda: (resp := node.get(logs_path(node), admin)).text and resp, "logs")
    assert r.status_code == 200 and r.text.startswith("hello\n")
    assert node.get("/metrics", admin).status_code == 200
    assert await node.exec(admin) == (101, "hi\n")


async def test_admin_through_the_api_server(node: Target, tmp_path: Path) -> None:
    """The API server reaches the kubelet as kube-apiserver-kubelet-client (system:kubelet-api-admin);
    the kubelet, as system:node:NODE, may ask the API server about it."""
    k = Kubectl(node.handle.kubeconfig, tmp_path / "cache")
    assert k("logs", node.pod).startswith("hello\n")
    assert k("exec", node.pod, "--", "sh", "-c", "echo out; exit 0") == "out\n"
    res = k.run("exec", node.pod, "--", "sh", "-c", "exit 3", check=False)
    assert res.returncode == 3


async def test_nobody_else_reaches_the_kubelet_through_the_api_server(node: Target, tmp_path: Path) -> None:
    """A user with pods/log in the API but the kubelet refusing the API server would be a 403 passed
    on; here the API server's own RBAC refuses first (pods/log is not granted)."""
    cfg = kubeconfigs.for_user(node.handle.data_dir, node.handle.url, "kt-nolog", [], "kt-nolog")
    path = kubeconfigs.write(tmp_path / "nolog.kubeconfig", cfg)
    res = Kubectl(path, tmp_path / "cache").run("logs", node.pod, check=False)
    assert res.returncode != 0 and "forbidden" in res.stderr.lower()


def test_paths_map_to_subresources_as_in_kubernetes() -> None:
    attrs = node_attributes("n1")

    def of(method: str, path: str, websocket: bool = False) -> tuple[str, str]:
        a = attrs({"type": "websocket" if websocket else "http", "method": method, "path": path})
        assert (a.resource, a.name) == ("nodes", "n1")
        return a.verb, a.subresource

    assert of("GET", "/containerLogs/ns/p/c") == ("get", "proxy")
    assert of("GET", "/exec/ns/p/c", websocket=True) == ("get", "proxy")
    assert of("POST", "/exec/ns/p/c") == ("create", "proxy")
    assert of("GET", "/metrics") == ("get", "metrics")
    assert of("GET", "/metrics/cadvisor") == ("get", "metrics")
    assert of("GET", "/metricsx") == ("get", "proxy")
    assert of("GET", "/stats/summary") == ("get", "stats")
    assert of("DELETE", "/logs/x") == ("delete", "log")
    assert of("PUT", "/spec/") == ("update", "spec")
    assert of("GET", "/healthz") == ("get", "proxy")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sar_allows(admin: httpx.Client, user: str, node: str, subresource: str = "proxy") -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "resourceAttributes": {
                "verb": "get",
                "resource": "nodes",
                "subresource": subresource,
                "name": node,
            },
        },
    }
    r = admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
    return bool(created(r)["status"]["allowed"])


async def test_decisions_are_cached_no_longer_than_their_ttl(shared_apiserver: APIServerHandle) -> None:
    """Allowed answers live 5 minutes, denied ones 30 s (Kubernetes' kubelet defaults); a removed
    binding stops granting once the allowed TTL is over. A fake clock steps through the TTLs."""
    h = shared_apiserver
    user, node = f"kt-cache-{uuid.uuid4().hex[:6]}", "kt-cache-node"
    clock = Clock()
    client = Client.from_kubeconfig(h.kubeconfig)
    auth = DelegatedAuth(client, clock=clock)
    proxy, metrics = Attrs("get", "nodes", "proxy", node), Attrs("get", "nodes", "metrics", node)
    caller = Caller(user, groups=("system:authenticated",))
    binding = cluster_role_binding(user, "system:kubelet-api-admin", {"kind": "User", "name": user})
    bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    try:
        with h.client(timeout=30) as admin:
            created(admin.post(bindings, json=binding))
            eventually(lambda: _sar_allows(admin, user, node), "the binding reaches the authorizer")
            assert (await auth.authorize(caller, proxy)).code == 0
            assert auth.reviews == 1
            assert admin.delete(f"{bindings}/{user}").status_code == 200
            eventually(lambda: not _sar_allows(admin, user, node), "the removal reaches the authorizer")
            clock.now += 299  # still within the allowed TTL: the cached answer stands, nothing asked
            assert (await auth.authorize(caller, proxy)).code == 0
            assert auth.reviews == 1
            clock.now += 2  # past 5 minutes: asked again, refused
            denied = await auth.authorize(caller, proxy)
            assert denied.code == 403 and auth.reviews == 2
            assert denied.message == f"Forbidden (user={user}, verb=get, resource=nodes, subresource=proxy)"
            # Granted again: the denial is cached for 30 s, then the new answer is seen.
            created(admin.post(bindings, json=binding))
            eventually(lambda: _sar_allows(admin, user, node), "the new binding reaches the authorizer")
            clock.now += 29
            assert (await auth.authorize(caller, proxy)).code == 403 and auth.reviews == 2
            clock.now += 2
            assert (await auth.authorize(caller, proxy)).code == 0 and auth.reviews == 3
            # Other attributes are their own entries.
            assert (await auth.authorize(caller, metrics)).code == 0 and auth.reviews == 4
    finally:
        with h.client(timeout=30) as admin:
            admin.delete(f"{bindings}/{user}")
        await client.aclose()


def test_scheduler_metrics_are_authenticated_and_authorized(
    apiserver: APIServerHandle, tmp_path: Path
) -> None:
    """`skiff scheduler` (as system:kube-scheduler, with a serving certificate from the cluster CA)
    serves /metrics over HTTPS to whoever may `get` the non-resource path /metrics."""
    h = apiserver
    kubeconfig = kubeconfigs.write(
        tmp_path / "scheduler.kubeconfig",
        kubeconfigs.for_user(h.data_dir, h.url, "system:kube-scheduler", []),
    )
    pem = certs.component_serving_pem(h.data_dir, "scheduler", "kube-scheduler", [], [])
    port = free_port()
    args = ["--kubeconfig", kubeconfig, "--metrics-port", str(port), "--tls-cert-file", str(pem)]
    with (tmp_path / "scheduler.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "skiff", "scheduler", *args], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        metrics = Target(h, "", port, "")
        anon = metrics.context()
        first = eventually(lambda: _answer(metrics, anon), "the scheduler serves /metrics")
        assert (first.status_code, first.text) == (401, "Unauthorized\n")
        r = metrics.get("/metrics", metrics.context("kt-jane", ("devs",)))
        assert (r.status_code, r.text) == (403, "Forbidden (user=kt-jane, verb=get, path=/metrics)\n")
        r = metrics.get("/metrics", metrics.context("kt-prometheus", ("system:monitoring",)))
        assert r.status_code == 200 and "scheduler_schedule_attempts_total" in r.text
        r = metrics.get("/metrics", metrics.context("kubernetes-admin", ("system:masters",)))
        assert r.status_code == 200
    finally:
        stop_process(proc, 15)


def _answer(node: Target, ctx: ssl.SSLContext) -> httpx.Response | None:
    try:
        return node.get("/metrics", ctx)
    except httpx.ConnectError:
        return None
