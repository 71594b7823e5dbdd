"""The namespace and service account controllers on a live API server: a deleted namespace is emptied
through the API (bound pods gracefully) and goes; a deleted `default` ServiceAccount comes back."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.core import Namespace, Pod, ServiceAccount
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client

from ..auth.test_components import impersonating
from ..client.util import eventually, pod, unique
from ..kubelet.conftest import Cluster, create, pod_manifest, running
from .util import FAST, running_manager

NS_ONLY = dataclasses.replace(FAST, controllers=("namespace", "serviceaccount"))


@pytest.fixture
async def client(apiserver: Any) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(apiserver.kubeconfig) as c:
        yield c


async def gone(client: Client, kind: Any, name: str, ns: str | None = None) -> bool:
    try:
        await client.get(kind, name, ns)
    except ApiError as e:
        return e.not_found
    return False


def conditions(ns: Namespace) -> dict[str, tuple[str, str | None]]:
    return {c.type: (c.status, c.reason) for c in (ns.status.conditions if ns.status else None) or ()}


async def confirm_deletion(client: Client, name: str, ns: str) -> None:
    """What a kubelet does once the pod's containers stopped: delete it with grace 0."""
    await client.delete(Pod, name, ns, grace_period_seconds=0)


async def test_deleted_namespace_is_emptied_bound_pods_gracefully_then_goes(
    client: Client, apiserver: Any
) -> None:
    ns = unique("del")
    await client.create(Namespace(metadata=ObjectMeta(name=ns)))
    await client.create(pod("loose", ns))
    await client.create(pod("bound", ns, node="n1"))
    await client.create(ServiceAccount(metadata=ObjectMeta(name="robot", namespace=ns)))
    await client.create(
        Lease(metadata=ObjectMeta(name="l", namespace=ns), spec=LeaseSpec(holder_identity="x"))
    )
    async with running_manager(apiserver.kubeconfig, NS_ONLY) as manager:
        await client.delete(Namespace, ns)

        async def bound_marked() -> bool:
            p = await client.get(Pod, "bound", ns)
            return bool(p.metadata.deletion_timestamp)

        await eventually(bound_marked, what="the bound pod marked for graceful deletion")
        for kind, name in (
            (Pod, "loose"),
            (ServiceAccount, "robot"),
            (ServiceAccount, "default"),
            (Lease, "l"),
        ):
            await eventually(lambda k=kind, n=name: gone(client, k, n, ns), what=f"{name} deleted")

        async def remaining_recorded() -> bool:
            return conditions(await client.get(Namespace, ns)).get("NamespaceContentRemaining") == (
                "True",
                "SomeResourcesRemain",
            )

        await eventually(remaining_recorded, what="NamespaceContentRemaining")
        terminating = await client.get(Namespace, ns)
        assert terminating.status is not None and terminating.status.phase == "Terminating"
        conds = conditions(terminating)
        assert conds["NamespaceDeletionDiscoveryFailure"] == ("False", "ResourcesDiscovered")
        assert conds["NamespaceDeletionContentFailure"] == ("False", "ContentDeleted")
        assert terminating.spec is not None and terminating.spec.finalizers == ["kubernetes"]

        await confirm_deletion(client, "bound", ns)
        await eventually(lambda: gone(client, Namespace, ns), what="the namespace gone")
        assert manager.namespace is not None and manager.namespace.finalized >= 1


async def test_restarted_controller_manager_finishes_a_deletion(
    client: Client, apiserver: Any, tmp_path: Path
) -> None:
    ns = unique("restart")
    await client.create(Namespace(metadata=ObjectMeta(name=ns)))
    await client.create(pod("bound", ns, node="n1"))
    async with running_manager(apiserver.kubeconfig, NS_ONLY):
        await client.delete(Namespace, ns)

        async def marked() -> bool:
            return bool((await client.get(Pod, "bound", ns)).metadata.deletion_timestamp)

        await eventually(marked, what="the bound pod marked")
    # No controller runs now: the pod goes, the namespace stays Terminating.
    await confirm_deletion(client, "bound", ns)
    await asyncio.sleep(0.5)
    assert (await client.get(Namespace, ns)).status.phase == "Terminating"  # type: ignore[union-attr]
    # The next one runs as skiff's controller manager identity: its RBAC role covers the work.
    cm = impersonating(apiserver.kubeconfig, tmp_path / "cm.kubeconfig", "system:kube-controller-manager")
    async with running_manager(cm, NS_ONLY):
        await eventually(lambda: gone(client, Namespace, ns), what="the namespace gone after a restart")


async def test_deleted_default_service_account_is_recreated(client: Client, apiserver: Any) -> None:
    ns = unique("sa")
    await client.create(Namespace(metadata=ObjectMeta(name=ns)))
    first = await client.get(ServiceAccount, "default", ns)  # the API server made it with the namespace
    async with running_manager(apiserver.kubeconfig, NS_ONLY) as manager:
        await client.delete(ServiceAccount, "default", ns)

        async def recreated() -> bool:
            try:
                sa = await client.get(ServiceAccount, "default", ns)
            except ApiError as e:
                if e.not_found:
                    return False
                raise
            return sa.metadata.uid != first.metadata.uid

        await eventually(recreated, what="a new default ServiceAccount")
        assert manager.serviceaccounts is not None and manager.serviceaccounts.created >= 1
        other = await client.create(ServiceAccount(metadata=ObjectMeta(name="other", namespace=ns)))
        await client.delete(ServiceAccount, "other", ns)
        assert await gone(client, ServiceAccount, "other", ns) and other.metadata.uid


async def test_kubectl_delete_namespace_waits_and_its_running_pod_stops_gracefully(
    apiserver: Any, tmp_path: Path
) -> None:
    """The real kubectl against a real kubelet (process runtime) and the controllers in this loop."""
    async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
        cluster = Cluster(apiserver, client, tmp_path)
        k = await cluster.kubelet("process")
        try:
            ns = unique("kd")
            await cluster.kubectl("create", "namespace", ns)
            mark = tmp_path / "terminated"
            main = {
                "name": "app",
                "image": "x",
                "command": [
                    "sh",
                    "-c",
                    f"trap 'echo term > {mark}; exit 0' TERM; while true; do sleep 0.1; done",
                ],
            }
            manifest = pod_manifest("web", k.node, main, terminationGracePeriodSeconds=10)
            manifest["metadata"]["namespace"] = ns
            await create(client, manifest)
            await cluster.wait_pod("web", running, ns=ns)
            async with running_manager(apiserver.kubeconfig, NS_ONLY):
                _, out, _ = await cluster.kubectl("delete", "namespace", ns, "--timeout=60s")
                assert f'namespace "{ns}" deleted' in out
                # kubectl returned: the namespace is gone, the pod stopped through SIGTERM.
                assert await gone(client, Namespace, ns)
                assert mark.read_text() == "term\n"
                assert await k.runtime.list_containers() == []
                code, _, err = await cluster.kubectl("get", "namespace", ns, check=False)
                assert code != 0 and "NotFound" in err
        finally:
            await cluster.stop(k)
