"""DefaultBinder (Bind): POST the pod's binding (pods/NAME/binding) through the API server."""

from __future__ import annotations

from ..framework import CycleState, Plugin, Status
from ..types import PodInfo


class DefaultBinder(Plugin):
    name = "DefaultBinder"

    async def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        return await self.handle.bind_pod(pod, node)
