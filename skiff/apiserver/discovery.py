"""Discovery: /version, /api, /api/v1, /apis, /apis/GROUP/VERSION (legacy form, always plain JSON).

kubectl prefers aggregated discovery but reads the response Content-Type: answering plain
application/json makes it fall back to these per-group documents, so they are never refused (406).
"""

from __future__ import annotations

import platform
from typing import Any

from skiff.apiserver.resources import ResourceInfo

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "skiff",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": f"linux/{'arm64' if platform.machine() in ('aarch64', 'arm64') else 'amd64'}",
}


def group_versions(resources: list[ResourceInfo]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in resources:
        if (r.group, r.version) not in out:
            out.append((r.group, r.version))
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(resources: list[ResourceInfo]) -> dict[str, Any]:
    groups = []
    for g, v in group_versions(resources):
        if not g:
            continue
        gv = {"groupVersion": f"{g}/{v}", "version": v}
        groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(resources: list[ResourceInfo], group: str) -> dict[str, Any] | None:
    versions = [v for g, v in group_versions(resources) if g == group]
    if not versions:
        return None
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs[0],
    }


_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "binding": ["create"],
    "eviction": ["create"],
    "log": ["get"],
    "exec": ["create", "get"],
    "finalize": ["update"],
}
_SUB_GROUP = {"eviction": ("policy", "v1")}


def resource_list(resources: list[ResourceInfo], group: str, version: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = []
    found = False
    for r in resources:
        if r.group != group or r.version != version:
            continue
        found = True
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        items.append(entry)
        for sub, kind in r.subresources.items():
            se: dict[str, Any] = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": _SUB_VERBS.get(sub, ["get"]),
            }
            if sub in _SUB_GROUP:
                se["group"], se["version"] = _SUB_GROUP[sub]
            items.append(se)
    if not found:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
