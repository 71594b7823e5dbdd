"""The plugin registry and kube-scheduler's default profile (plus skiff's extra plugins)."""

from __future__ import annotations

from ..framework import Plugin
from .balancedallocation import NodeResourcesBalancedAllocation
from .datasetlocality import DatasetLocality
from .deadline import Deadline
from .defaultbinder import DefaultBinder
from .defaultpreemption import DefaultPreemption
from .gang import Gang
from .imagelocality import ImageLocality
from .interpodaffinity import InterPodAffinity
from .loadaware import LoadAware
from .nodeaffinity import NodeAffinity
from .nodename import NodeName
from .nodeports import NodePorts
from .noderesourcesfit import NodeResourcesFit
from .nodeunschedulable import NodeUnschedulable
from .podtopologyspread import PodTopologySpread
from .prioritysort import PrioritySort
from .schedulinggates import SchedulingGates
from .tainttoleration import TaintToleration

REGISTRY: dict[str, type[Plugin]] = {
    cls.name: cls
    for cls in (
        SchedulingGates,
        PrioritySort,
        Deadline,
        NodeUnschedulable,
        NodeName,
        TaintToleration,
        NodeAffinity,
        NodePorts,
        NodeResourcesFit,
        PodTopologySpread,
        InterPodAffinity,
        Gang,
        DefaultPreemption,
        NodeResourcesBalancedAllocation,
        ImageLocality,
        LoadAware,
        DatasetLocality,
        DefaultBinder,
    )
}

# The default profile, per extension point, in kube-scheduler's order. Deadline takes PrioritySort's
# place as queue sort: for pods without deadlines it orders exactly as PrioritySort does.
DEFAULT_POINTS: dict[str, list[str]] = {
    "preEnqueue": ["SchedulingGates"],
    "queueSort": ["Deadline"],
    "preFilter": [
        "NodeAffinity",
        "NodePorts",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
        "Deadline",
        "Gang",
    ],
    "filter": [
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
    ],
    "postFilter": ["DefaultPreemption"],
    "preScore": [
        "TaintToleration",
        "NodeAffinity",
        "PodTopologySpread",
        "InterPodAffinity",
        "NodeResourcesBalancedAllocation",
        "ImageLocality",
        "LoadAware",
        "DatasetLocality",
    ],
    "score": [
        "NodeResourcesFit",
        "NodeResourcesBalancedAllocation",
        "ImageLocality",
        "TaintToleration",
        "NodeAffinity",
        "PodTopologySpread",
        "InterPodAffinity",
        "LoadAware",
        "DatasetLocality",
    ],
    "reserve": ["Gang"],
    "permit": ["Gang", "Deadline"],
    "preBind": ["Deadline"],
    "bind": ["DefaultBinder"],
    "postBind": [],
}

DEFAULT_WEIGHTS: dict[str, int] = {
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "LoadAware": 1,
    "DatasetLocality": 1,
}

__all__ = ["DEFAULT_POINTS", "DEFAULT_WEIGHTS", "REGISTRY"]
