"""The namespace controller (kube-controller-manager's, by behaviour): empties a namespace being deleted.

A DELETE only marks a namespace (deletionTimestamp, phase Terminating; the API server's
NamespaceLifecycle admission refuses new content in it from then on). For each such namespace this
controller, through the API only:

1. makes sure status.phase is Terminating;
2. finds every namespaced resource the server serves (discovery) that can be listed and deleted, and
   deletes its objects in the namespace (deletecollection, else one by one). Pods go the normal
   graceful way: those bound to a node get a deletionTimestamp and stay until their kubelet confirms;
3. records the namespace conditions Kubernetes records (NamespaceDeletionDiscoveryFailure,
   NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
   NamespaceContentRemaining, NamespaceFinalizersRemaining);
4. while content remains, looks again after estimate/2 + 1 s (estimate: the longest grace period of
   its pods, 1 s for objects held by finalizers), and at once when a pod of the namespace goes;
5. when nothing is left, removes the `kubernetes` finalizer (PUT namespaces/NAME/finalize): with no
   finalizer left the API server deletes the namespace.

Every pass starts from the API's state (a fresh GET), so a controller-manager restarted or newly
elected mid-deletion finishes the job: its informer lists every namespace being deleted at start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from skiff.api.core import Namespace, NamespaceCondition, NamespaceStatus, Pod
from skiff.api.meta import now_rfc3339
from skiff.client.informer import InformerFactory
from skiff.client.resources import Resource, dict_resource
from skiff.client.rest import ApiError, Client, ClientError

from .workqueue import WorkQueue

log = logging.getLogger("skiff.controllers.namespace")

FINALIZER = "kubernetes"
TERMINATING = "Terminating"
DISCOVERY_TTL = 10.0  # seconds a discovery result is reused between passes
POD_GONE_DELAY = 0.2  # pods of one namespace going together cost one pass

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
# (type, reason, message) of each condition when all is well (status "False").
OK_CONDITIONS = (
    (DISCOVERY_FAILURE, "ResourcesDiscovered", "All resources successfully discovered"),
    (GV_PARSING_FAILURE, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    (CONTENT_FAILURE, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    (CONTENT_REMAINING, "ContentRemoved", "All content successfully removed"),
    (FINALIZERS_REMAINING, "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
)


@dataclass
class Deletion:
    """What one pass over a namespace's content found."""

    estimate: int = 0  # seconds until the rest is expected gone
    remaining: dict[str, int] = field(default_factory=dict)  # "plural.group" -> objects left
    finalizers: dict[str, int] = field(default_factory=dict)  # finalizer -> objects it holds
    failures: list[str] = field(default_factory=list)
    discovery_error: str | None = None

    def problems(self) -> dict[str, tuple[str, str]]:
        """The failing conditions: type -> (reason, message)."""
        out: dict[str, tuple[str, str]] = {}
        if self.discovery_error is not None:
            out[DISCOVERY_FAILURE] = ("DiscoveryFailed", self.discovery_error)
        if self.failures:
            msgs = sorted(self.failures)
            out[CONTENT_FAILURE] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(msgs)} remaining: {', '.join(msgs)}",
            )
        if self.remaining:
            left = ", ".join(sorted(f"{r} has {n} resource instances" for r, n in self.remaining.items()))
            out[CONTENT_REMAINING] = ("SomeResourcesRemain", f"Some resources are remaining: {left}")
        if self.finalizers:
            held = ", ".join(sorted(f"{f} in {n} resource instances" for f, n in self.finalizers.items()))
            out[FINALIZERS_REMAINING] = (
                "SomeFinalizersRemain",
                f"Some content in the namespace has finalizers remaining: {held}",
            )
        return out


class NamespaceController:
    def __init__(self, client: Client, factory: InformerFactory, *, workers: int = 2) -> None:
        self.client = client
        self.workers = workers
        self.queue = WorkQueue()
        self.namespaces = factory.informer(Namespace)
        self.pods = factory.informer(Pod)
        self.namespaces.add_handler(
            on_add=self._namespace_seen, on_update=lambda _o, n: self._namespace_seen(n)
        )
        self.pods.add_handler(on_delete=self._pod_gone)
        self._discovered: tuple[float, list[tuple[Resource[dict[str, Any]], tuple[str, ...]]]] | None = None
        self.finalized = 0  # namespaces this controller emptied and finalized

    # -------------------------------------------------------------------------- events

    def _namespace_seen(self, ns: Namespace) -> None:
        if ns.metadata.deletion_timestamp:
            self.queue.add(ns.metadata.name or "")

    def _pod_gone(self, pod: Pod) -> None:
        ns = self.namespaces.get(pod.metadata.namespace or "")
        if ns is not None and ns.metadata.deletion_timestamp:
            self.queue.add_after(ns.metadata.name or "", POD_GONE_DELAY)

    # -------------------------------------------------------------------------- workers

    async def run(self) -> None:
        try:
            await asyncio.gather(
                *(
                    self.queue.serve(self.sync, log, "namespace deletion failed", "namespace")
                    for _ in range(self.workers)
                )
            )
        finally:
            self.queue.shutdown()

    async def sync(self, name: str) -> float | None:
        """One pass; returns the delay before the next one while content remains, else None."""
        try:
            ns = await self.client.get(Namespace, name)
        except ApiError as e:
            if e.not_found:
                return None
            raise
        if not ns.metadata.deletion_timestamp:
            return None
        ns = await self._ensure_terminating(ns)
        if FINALIZER not in ((ns.spec.finalizers if ns.spec else None) or ()):
            return None  # our part is done; other finalizers hold it
        result = await self.delete_content(name)
        ns = await self._record_conditions(ns, result.problems())
        if result.discovery_error is not None or result.failures:
            raise ClientError(result.discovery_error or "; ".join(result.failures))
        if result.remaining:
            return result.estimate / 2 + 1
        await self._finalize(ns)
        return None

    # -------------------------------------------------------------------------- content

    async def delete_content(self, ns: str) -> Deletion:
        out = Deletion()
        try:
            resources = await self._discover()
        except ClientError as e:
            out.discovery_error = str(e)
            return out
        for res, verbs in resources:
            label = f"{res.plural}.{res.group}"
            try:
                if res.plural == "pods" and not res.group:
                    out.estimate = max(out.estimate, await self._pod_estimate(ns))
                if "deletecollection" in verbs:
                    await self.client.delete_collection(res, ns)
                else:
                    for obj in (await self.client.list(res, ns)).items:
                        await self._delete_one(res, ns, obj)
                left = (await self.client.list(res, ns)).items
            except ClientError as e:
                out.failures.append(f"{label}: {e}")
                continue
            if left:
                out.remaining[label] = len(left)
                for obj in left:
                    for f in (obj.get("metadata") or {}).get("finalizers") or ():
                        out.finalizers[f] = out.finalizers.get(f, 0) + 1
                        out.estimate = max(out.estimate, 1)
        return out

    async def _delete_one(self, res: Resource[dict[str, Any]], ns: str, obj: dict[str, Any]) -> None:
        try:
            await self.client.delete(res, (obj.get("metadata") or {}).get("name", ""), ns)
        except ApiError as e:
            if not e.not_found:
                raise

    async def _pod_estimate(self, ns: str) -> int:
        """The longest grace period of the namespace's pods still running (Kubernetes' estimate)."""
        longest = 0
        for pod in self.pods.list():
            if pod.metadata.namespace != ns or (pod.status and pod.status.phase in ("Succeeded", "Failed")):
                continue
            grace = pod.metadata.deletion_grace_period_seconds
            if grace is None:
                grace = pod.spec.termination_grace_period_seconds
            longest = max(longest, int(grace if grace is not None else 30))
        return longest

    async def _discover(self) -> list[tuple[Resource[dict[str, Any]], tuple[str, ...]]]:
        """Every namespaced resource (no subresources) that can be listed and deleted, with its verbs."""
        now = time.monotonic()
        if self._discovered is not None and now - self._discovered[0] < DISCOVERY_TTL:
            return self._discovered[1]
        versions = ["v1"]
        groups = await self.client.get_raw("/apis")
        for g in groups.get("groups") or ():
            preferred = (g.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                versions.append(preferred)
        found: list[tuple[Resource[dict[str, Any]], tuple[str, ...]]] = []
        for gv in versions:
            rl = await self.client.get_raw("/api/v1" if gv == "v1" else f"/apis/{gv}")
            group, _, version = gv.rpartition("/")
            for r in rl.get("resources") or ():
                verbs = tuple(r.get("verbs") or ())
                if not r.get("namespaced") or "/" in r.get("name", "") or "list" not in verbs:
                    continue
                if "delete" not in verbs and "deletecollection" not in verbs:
                    continue
                found.append((dict_resource(group, version, r["name"], r.get("kind", ""), True), verbs))
        self._discovered = (now, found)
        return found

    # -------------------------------------------------------------------------- the namespace

    async def _ensure_terminating(self, ns: Namespace) -> Namespace:
        for _ in range(5):
            if ns.status is not None and ns.status.phase == TERMINATING:
                return ns
            ns.status = ns.status or NamespaceStatus()
            ns.status.phase = TERMINATING
            try:
                return await self.client.update_status(ns)
            except ApiError as e:
                if not e.conflict:
                    raise
                ns = await self.client.get(Namespace, ns.metadata.name or "")
        return ns

    async def _record_conditions(self, ns: Namespace, problems: dict[str, tuple[str, str]]) -> Namespace:
        """Write the conditions when they changed (a stale copy: reread and redo, a few times)."""
        for _ in range(5):
            status = ns.status or NamespaceStatus(phase=TERMINATING)
            conds = list(status.conditions or ())
            changed = False
            now = now_rfc3339()
            for type_, ok_reason, ok_message in OK_CONDITIONS:
                reason, message = problems.get(type_, (ok_reason, ok_message))
                want = "True" if type_ in problems else "False"
                have = next((c for c in conds if c.type == type_), None)
                if have is None:
                    conds.append(
                        NamespaceCondition(
                            type=type_, status=want, reason=reason, message=message, last_transition_time=now
                        )
                    )
                    changed = True
                elif (have.status, have.reason, have.message) != (want, reason, message):
                    if have.status != want:
                        have.last_transition_time = now
                    have.status, have.reason, have.message = want, reason, message
                    changed = True
            if not changed:
                return ns
            status.conditions = conds
            ns.status = status
            try:
                return await self.client.update_status(ns)
            except ApiError as e:
                if e.not_found:
                    return ns
                if not e.conflict:
                    raise
                ns = await self.client.get(Namespace, ns.metadata.name or "")
        return ns

    async def _finalize(self, ns: Namespace) -> None:
        name = ns.metadata.name or ""
        for _ in range(5):
            spec = ns.spec
            if spec is None or FINALIZER not in (spec.finalizers or ()):
                return
            spec.finalizers = [f for f in spec.finalizers or () if f != FINALIZER]
            try:
                await self.client.update(ns, subresource="finalize")
            except ApiError as e:
                if e.not_found:
                    return
                if not e.conflict:
                    raise
                ns = await self.client.get(Namespace, name)
                continue
            self.finalized += 1
            log.info("namespace finalized", extra={"kv": {"namespace": name}})
            return
