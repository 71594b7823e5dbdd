"""skiff.client.rest against a live skiff API server: CRUD, typed errors, patches, subresources, watch."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from skiff.api.coordination import Lease, LeaseSpec
from skiff.api.core import Node, Pod, PodCondition, PodStatus
from skiff.api.meta import ObjectMeta
from skiff.client import ApiError, Client, ConnectError, KubeConfig, WatchEvent

from .util import pod, unique


async def test_create_get_update_delete(client: Client, ns: str) -> None:
    created = await client.create(pod("web", ns, labels={"app": "web"}))
    assert isinstance(created, Pod)
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.namespace == ns
    assert created.kind == "Pod" and created.api_version == "v1"

    got = await client.get(Pod, "web", ns)
    assert got.metadata.uid == created.metadata.uid
    assert got.spec.containers[0].image == "busybox"

    assert got.metadata.labels is not None
    got.metadata.labels["tier"] = "front"
    updated = await client.update(got)
    assert updated.metadata.labels == {"app": "web", "tier": "front"}
    assert int(updated.metadata.resource_version or 0) > int(got.metadata.resource_version or 0)

    gone = await client.delete(Pod, "web", ns)  # unbound: deleted at once
    assert gone is None or gone.metadata.name == "web"
    with pytest.raises(ApiError) as e:
        await client.get(Pod, "web", ns)
    assert e.value.not_found


async def test_errors_carry_the_status(client: Client, ns: str) -> None:
    with pytest.raises(ApiError) as e:
        await client.get(Pod, "absent", ns)
    assert (e.value.code, e.value.reason) == (404, "NotFound")
    assert e.value.message == 'pods "absent" not found'
    assert e.value.details.get("name") == "absent"
    assert e.value.status["kind"] == "Status"

    first = await client.create(pod("dup", ns))
    with pytest.raises(ApiError) as e:
        await client.create(pod("dup", ns))
    assert e.value.already_exists and e.value.code == 409
    assert e.value.message == 'pods "dup" already exists'

    # A stale resourceVersion: 409 Conflict with Kubernetes' message.
    await client.patch(Pod, "dup", {"metadata": {"labels": {"x": "1"}}}, ns)
    with pytest.raises(ApiError) as e:
        await client.update(first)
    assert e.value.conflict
    assert "the object has been modified" in e.value.message

    with pytest.raises(ApiError) as e:
        await client.create(pod("Not_A_DNS_Name", ns))
    assert e.value.invalid and e.value.reason == "Invalid"
    causes = e.value.details.get("causes") or []
    assert any(c.get("field") == "metadata.name" for c in causes)

    # A delete guarded by a uid that no longer matches.
    with pytest.raises(ApiError) as e:
        await client.delete(Pod, "dup", ns, uid="00000000-0000-0000-0000-000000000000")
    assert e.value.code == 409


async def test_cannot_connect_is_a_connect_error() -> None:
    async with Client(KubeConfig(server="http://127.0.0.1:9")) as c:
        with pytest.raises(ConnectError):
            await c.get(Pod, "x", "default")


async def test_list_selectors_and_paging(client: Client, ns: str) -> None:
    for i in range(7):
        await client.create(pod(f"p{i}", ns, labels={"parity": "even" if i % 2 == 0 else "odd"}))
    everything = await client.list(Pod, ns)
    assert sorted(p.metadata.name or "" for p in everything.items) == [f"p{i}" for i in range(7)]
    assert everything.resource_version

    even = await client.list(Pod, ns, label_selector={"parity": "even"})
    assert sorted(p.metadata.name or "" for p in even.items) == ["p0", "p2", "p4", "p6"]
    odd = await client.list(Pod, ns, label_selector="parity!=even")
    assert len(odd.items) == 3
    one = await client.list(Pod, ns, field_selector={"metadata.name": "p3"})
    assert [p.metadata.name for p in one.items] == ["p3"]

    page = await client.list(Pod, ns, limit=3)
    assert len(page.items) == 3 and page.continue_
    rest = await client.list(Pod, ns, limit=3, continue_=page.continue_)
    assert len(rest.items) == 3
    assert not {p.metadata.name for p in page.items} & {p.metadata.name for p in rest.items}

    paged = await client.list_all(Pod, ns, page_size=2)
    assert sorted(p.metadata.name or "" for p in paged.items) == [f"p{i}" for i in range(7)]

    # Cluster-scoped kinds and across-namespace lists.
    nodes = await client.list(Node)
    assert isinstance(nodes.items, list)
    across = await client.list(Pod, label_selector={"parity": "odd"})
    assert {p.metadata.namespace for p in across.items} >= {ns}


async def test_patch_types(client: Client, ns: str) -> None:
    await client.create(pod("pt", ns, labels={"a": "1"}))
    p = await client.patch(Pod, "pt", {"metadata": {"labels": {"b": "2"}}}, ns)
    assert p.metadata.labels == {"a": "1", "b": "2"}
    p = await client.patch(Pod, "pt", [{"op": "remove", "path": "/metadata/labels/a"}], ns, patch_type="json")
    assert p.metadata.labels == {"b": "2"}
    image = {"spec": {"containers": [{"name": "c", "image": "busybox:latest"}]}}
    p = await client.patch(Pod, "pt", image, ns, patch_type="strategic")
    assert [(c.name, c.image) for c in p.spec.containers] == [("c", "busybox:latest")]
    applied = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "applied", "namespace": ns},
        "spec": {"holderIdentity": "me"},
    }
    lease = await client.patch(Lease, "applied", applied, ns, patch_type="apply", field_manager="test")
    assert isinstance(lease, Lease) and lease.spec.holder_identity == "me"
    with pytest.raises(ValueError):
        await client.patch(Lease, "applied", applied, ns, patch_type="apply")


async def test_status_binding_and_eviction(client: Client, ns: str) -> None:
    created = await client.create(pod("st", ns))
    created.status = PodStatus(phase="Running", conditions=[PodCondition(type="Ready", status="True")])
    created.spec.containers[0].image = "changed-but-ignored"
    after = await client.update_status(created)
    assert after.status is not None and after.status.phase == "Running"
    assert after.spec.containers[0].image == "busybox"  # the status subresource ignores spec

    patched = await client.patch(Pod, "st", {"status": {"message": "hello"}}, ns, subresource="status")
    assert patched.status is not None and patched.status.message == "hello"

    await client.create(pod("bind-me", ns))
    await client.bind(ns, "bind-me", "node-a")
    assert (await client.get(Pod, "bind-me", ns)).spec.node_name == "node-a"
    with pytest.raises(ApiError) as e:
        await client.bind(ns, "bind-me", "node-b")
    assert e.value.code == 409

    await client.evict(ns, "bind-me")
    evicted = await client.get(Pod, "bind-me", ns)  # bound: deleted gracefully
    assert evicted.metadata.deletion_timestamp is not None


async def test_cluster_scoped_and_other_groups(client: Client, ns: str) -> None:
    name = unique("node")
    node = await client.create(Node(metadata=ObjectMeta(name=name, labels={"t": "1"})))
    assert node.metadata.namespace is None
    assert (await client.get(Node, name)).metadata.labels == {"t": "1"}
    lease = await client.create(
        Lease(metadata=ObjectMeta(name="l", namespace=ns), spec=LeaseSpec(holder_identity="x"))
    )
    assert lease.api_version == "coordination.k8s.io/v1"
    assert (await client.get(Lease, "l", ns)).spec.holder_identity == "x"
    await client.delete(Node, name)


async def _collect(events: Any, n: int) -> list[WatchEvent[Pod]]:
    out: list[WatchEvent[Pod]] = []
    async with contextlib.aclosing(events):
        async for ev in events:
            if ev.type != "BOOKMARK":
                out.append(ev)
            if len(out) == n:
                break
    return out


async def test_watch_from_a_resource_version_and_resume(client: Client, ns: str) -> None:
    start = await client.list(Pod, ns)
    await client.create(pod("w", ns))
    await client.patch(Pod, "w", {"metadata": {"labels": {"v": "2"}}}, ns)
    await client.delete(Pod, "w", ns)

    evs = await _collect(client.watch(Pod, ns, resource_version=start.resource_version), 3)
    assert [e.type for e in evs] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(isinstance(e.object, Pod) and e.object.metadata.name == "w" for e in evs)
    rvs = [int(e.resource_version or 0) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > int(start.resource_version)

    # Resuming from the first event's resourceVersion replays only what came after it.
    resumed = await _collect(client.watch(Pod, ns, resource_version=evs[0].resource_version), 2)
    assert [e.type for e in resumed] == ["MODIFIED", "DELETED"]


async def test_watch_ends_at_timeout_seconds(client: Client, ns: str) -> None:
    seen = [ev async for ev in client.watch(Pod, ns, timeout_seconds=1)]
    assert all(ev.type == "BOOKMARK" for ev in seen)


async def test_watch_with_selectors(client: Client, ns: str) -> None:
    start = await client.list(Pod, ns)
    await client.create(pod("blue", ns, labels={"color": "blue"}))
    await client.create(pod("red", ns, labels={"color": "red"}))
    evs = await _collect(
        client.watch(Pod, ns, resource_version=start.resource_version, label_selector={"color": "red"}), 1
    )
    assert [e.object.metadata.name for e in evs] == ["red"]


async def test_watch_from_a_too_old_resource_version_is_410(client: Client, ns: str) -> None:
    await client.create(pod("old", ns))
    with pytest.raises(ApiError) as e:
        await _collect(client.watch(Pod, ns, resource_version="1"), 1)
    assert e.value.expired and e.value.code == 410
    assert e.value.reason in ("Expired", "Gone")
