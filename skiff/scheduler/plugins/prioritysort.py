"""PrioritySort (QueueSort): higher spec.priority first, then the earlier time it entered the queue."""

from __future__ import annotations

from typing import Any

from ..framework import Plugin


class PrioritySort(Plugin):
    name = "PrioritySort"

    def sort_key(self, q: Any) -> tuple[int, float]:
        return (-q.pod.priority, q.timestamp)
