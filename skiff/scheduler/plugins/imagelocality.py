"""ImageLocality (Score): prefer nodes that already hold the pod's container images (node.status.images).

Per image on the node: its size scaled by the share of nodes that have it (to avoid piling pods onto the
few nodes with an image). The sum is clamped to [23 MiB, 1000 MiB x containers] and mapped to 0-100.
Names are normalized as Kubernetes does: an image without a tag is `:latest`; Docker Hub names match in
their short and long forms (`nginx:1` = `docker.io/library/nginx:1`).
"""

from __future__ import annotations

import numpy as np

from ..cache import IntArray
from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Plugin, Status
from ..types import PodInfo

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


class ImageLocality(Plugin):
    name = "ImageLocality"

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        if not any(img in self.cache.image_nodes for img in pod.images):
            return SKIP
        return None

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        cache = self.cache
        total_nodes = max(cache.num_nodes, 1)
        raw = np.zeros(cache.cap, dtype=np.int64)
        for img in pod.images:
            holders = cache.image_nodes.get(img)
            if not holders:
                continue
            spread = len(holders) / total_nodes
            for i in holders:
                node = cache.nodes[i]
                if node is not None:
                    raw[i] += int(node.images.get(img, 0) * spread)
        hi = MAX_CONTAINER_THRESHOLD * max(len(pod.images), 1)
        s = np.clip(raw[idx], MIN_THRESHOLD, hi)
        return MAX_NODE_SCORE * (s - MIN_THRESHOLD) // (hi - MIN_THRESHOLD)
