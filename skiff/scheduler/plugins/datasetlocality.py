"""DatasetLocality (Score): prefer nodes that already hold the datasets a pod reads (data locality).

A pod names its datasets in the annotation `skiff.io/datasets` (comma-separated names). A node
advertises a dataset it holds with the label `dataset.skiff.io/<name>` (any value, e.g. "true"). The
score is 100 x the share of the pod's datasets the node has. Pods naming no dataset are not affected.
"""

from __future__ import annotations

import numpy as np

from ..cache import IntArray
from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Plugin, Status
from ..types import DATASETS_ANNOTATION, PodInfo

DATASET_LABEL_PREFIX = "dataset.skiff.io/"


def datasets_of(pod: PodInfo) -> list[str]:
    raw = pod.annotations.get(DATASETS_ANNOTATION, "")
    return [d.strip() for d in raw.split(",") if d.strip()]


class DatasetLocality(Plugin):
    name = "DatasetLocality"

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status | None:
        return None if datasets_of(pod) else SKIP

    def score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> IntArray:
        ds = datasets_of(pod)
        have = np.zeros(len(idx), dtype=np.int64)
        for d in ds:
            have += self.cache.domain_of(DATASET_LABEL_PREFIX + d)[idx] >= 0
        return MAX_NODE_SCORE * have // max(len(ds), 1)
