"""Static pods: manifests in a directory, run by the kubelet and mirrored into the API.

Every `period` seconds the directory's *.yaml, *.yml and *.json files are read; each holds one Pod. Its
mirror pod is named `<name>-<node>` in the manifest's namespace (default "default"), bound to this node,
owned by the Node, and annotated with kubernetes.io/config.source=file, kubernetes.io/config.hash and
kubernetes.io/config.mirror (the hash of the manifest). The kubelet runs the mirror pod like any pod
bound to it. A changed manifest replaces the mirror pod; a removed manifest deletes it (gracefully: its
containers stop); a mirror pod deleted through the API is created again.

Simplification: the mirror pod is the pod the kubelet runs, so deleting it through the API restarts the
static pod's containers once (Kubernetes keeps them running).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml

from skiff.api import core
from skiff.api.meta import OwnerReference
from skiff.client import ApiError, Client, ClientError

log = logging.getLogger("skiff.kubelet.static")

SOURCE = "kubernetes.io/config.source"
HASH = "kubernetes.io/config.hash"
MIRROR = "kubernetes.io/config.mirror"


def load_manifests(directory: Path, node: str) -> dict[str, core.Pod]:
    """(namespace/name) -> the mirror pod to create, for every readable manifest; bad files are logged."""
    out: dict[str, core.Pod] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json") or path.name.startswith("."):
            continue
        try:
            raw = path.read_bytes()
            doc: Any = yaml.safe_load(raw)
            if not isinstance(doc, dict) or doc.get("kind", "Pod") != "Pod":
                raise ValueError("not a Pod manifest")
            pod = msgspec.convert(doc, core.Pod)
        except (OSError, ValueError, yaml.YAMLError, msgspec.ValidationError) as exc:
            log.warning("skipping static pod manifest %s: %s", path, exc)
            continue
        if not pod.metadata.name:
            log.warning("skipping static pod manifest %s: metadata.name is required", path)
            continue
        digest = hashlib.sha256(raw + node.encode()).hexdigest()[:32]
        md = pod.metadata
        md.name = f"{md.name}-{node}"
        md.namespace = md.namespace or "default"
        md.annotations = {**(md.annotations or {}), SOURCE: "file", HASH: digest, MIRROR: digest}
        md.uid = md.resource_version = md.creation_timestamp = None
        pod.spec.node_name = node
        pod.status = None
        out[f"{md.namespace}/{md.name}"] = pod
    return out


class StaticPods:
    def __init__(
        self,
        client: Client,
        node: str,
        directory: str | Path,
        existing: Callable[[], list[core.Pod]],
        node_uid: Callable[[], str],
        period: float = 5.0,
    ) -> None:
        self.client = client
        self.node = node
        self.directory = Path(directory)
        self.existing = existing
        self.node_uid = node_uid
        self.period = period
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="static-pods")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
            except (ClientError, OSError) as exc:
                log.warning("static pods: %s", exc)
            await asyncio.sleep(self.period)

    async def sync(self) -> None:
        wanted = load_manifests(self.directory, self.node)
        mirrors = {
            f"{p.metadata.namespace}/{p.metadata.name}": p
            for p in self.existing()
            if (p.metadata.annotations or {}).get(MIRROR)
        }
        for key, pod in wanted.items():
            have = mirrors.get(key)
            want_hash = (pod.metadata.annotations or {})[HASH]
            if have is not None and have.metadata.deletion_timestamp:
                continue  # being deleted; created again once gone
            if have is not None and (have.metadata.annotations or {}).get(MIRROR) == want_hash:
                continue
            if have is not None:
                await self._delete(have)
                continue
            uid = self.node_uid()
            if uid:
                pod.metadata.owner_references = [
                    OwnerReference(api_version="v1", kind="Node", name=self.node, uid=uid, controller=True)
                ]
            try:
                await self.client.create(pod)
                log.info("created mirror pod", extra={"kv": {"pod": key}})
            except ApiError as exc:
                if not exc.already_exists:
                    log.warning("cannot create mirror pod %s: %s", key, exc)
        for key, have in mirrors.items():
            if key not in wanted and not have.metadata.deletion_timestamp:
                await self._delete(have)

    async def _delete(self, pod: core.Pod) -> None:
        with contextlib.suppress(ApiError):
            await self.client.delete(core.Pod, pod.metadata.name or "", pod.metadata.namespace)
