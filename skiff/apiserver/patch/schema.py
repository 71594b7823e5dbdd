"""Patch metadata per field for the kinds skiff serves, as Kubernetes declares it in its Go types.

Strategic merge uses `strategy` and `merge_key` (the `patchStrategy`/`patchMergeKey` tags of
k8s.io/api core/v1 and apimachinery's ObjectMeta). Server-side apply uses `list_type` and
`list_keys` (the `+listType`/`+listMapKey` markers). Fields not listed here have no strategy:
objects merge key by key, lists are replaced whole (atomic).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """What Kubernetes declares about one field."""

    strategy: str = ""  # "", "merge", "replace", "retainKeys", "merge,retainKeys"
    merge_key: str = ""  # strategic merge key of a list of objects
    list_type: str = ""  # "atomic", "map", "set"; "" = atomic
    list_keys: tuple[str, ...] = ()  # server-side apply keys of a list of objects
    fields: dict[str, Field] = field(default_factory=dict)  # the object (or list element) inside
    free_map: bool = False  # a map[string]X whose keys are data (labels), not a struct

    @property
    def merges_list(self) -> bool:
        return "merge" in self.strategy.split(",")

    def child(self, name: str) -> Field:
        return self.fields.get(name, NO_FIELD)


NO_FIELD = Field()
MAP = Field(free_map=True)

# Defaults of list-map key fields, filled in by server-side apply when the applied item omits them.
KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}


def _merge_list(
    key: str, *keys: str, fields: dict[str, Field] | None = None, strategy: str = "merge"
) -> Field:
    return Field(
        strategy=strategy,
        merge_key=key,
        list_type="map",
        list_keys=keys or (key,),
        fields=fields or {},
    )


SET = Field(strategy="merge", list_type="set")

_RESOURCES = Field(fields={"limits": MAP, "requests": MAP, "claims": _merge_list("name")})

CONTAINER: dict[str, Field] = {
    "ports": _merge_list("containerPort", "containerPort", "protocol"),
    "env": _merge_list("name"),
    "volumeMounts": _merge_list("mountPath"),
    "volumeDevices": _merge_list("devicePath"),
    "resources": _RESOURCES,
}

_CONDITIONS = _merge_list("type")

_SELECTOR = Field(fields={"matchLabels": MAP})

POD_SPEC: dict[str, Field] = {
    "volumes": _merge_list("name", strategy="merge,retainKeys"),
    "initContainers": _merge_list("name", fields=CONTAINER),
    "containers": _merge_list("name", fields=CONTAINER),
    "ephemeralContainers": _merge_list("name", fields=CONTAINER),
    "imagePullSecrets": _merge_list("name"),
    "hostAliases": _merge_list("ip"),
    "topologySpreadConstraints": _merge_list(
        "topologyKey", "topologyKey", "whenUnsatisfiable", fields={"labelSelector": _SELECTOR}
    ),
    "schedulingGates": _merge_list("name"),
    "resourceClaims": _merge_list("name", strategy="merge,retainKeys"),
    "nodeSelector": MAP,
    "overhead": MAP,
    "resources": _RESOURCES,
}

POD_STATUS: dict[str, Field] = {
    "conditions": _CONDITIONS,
    "podIPs": _merge_list("ip"),
    # hostIPs: patchStrategy merge on ip, but +listType=atomic for server-side apply
    "hostIPs": Field(strategy="merge", merge_key="ip", list_type="atomic"),
    "resourceClaimStatuses": _merge_list("name", strategy="merge,retainKeys"),
    # containerStatuses, initContainerStatuses, ephemeralContainerStatuses: atomic
}

NODE_SPEC: dict[str, Field] = {"podCIDRs": SET}  # taints: atomic

NODE_STATUS: dict[str, Field] = {
    "conditions": _CONDITIONS,
    "addresses": _merge_list("type"),
    "capacity": MAP,
    "allocatable": MAP,
    # images, volumesInUse, volumesAttached: atomic
}

NAMESPACE_STATUS: dict[str, Field] = {"conditions": _CONDITIONS}  # spec.finalizers: atomic

OBJECT_META: dict[str, Field] = {
    "labels": MAP,
    "annotations": MAP,
    "ownerReferences": _merge_list("uid"),
    "finalizers": SET,
    # managedFields: atomic
}

_META = Field(fields=OBJECT_META)


def _kind(**top: dict[str, Field]) -> Field:
    fields = {"metadata": _META}
    fields.update({name: Field(fields=sub) for name, sub in top.items()})
    return Field(fields=fields)


KINDS: dict[str, Field] = {
    "Pod": _kind(spec=POD_SPEC, status=POD_STATUS),
    "Node": _kind(spec=NODE_SPEC, status=NODE_STATUS),
    "Namespace": _kind(status=NAMESPACE_STATUS),
    "Event": _kind(),
    "Lease": _kind(),
    "PriorityClass": _kind(),
    "Binding": _kind(),
}

_GENERIC = _kind()


def schema_for(kind: str) -> Field:
    """The root Field of a kind (only metadata is known for kinds not in the table)."""
    return KINDS.get(kind, _GENERIC)
