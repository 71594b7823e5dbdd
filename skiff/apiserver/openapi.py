"""OpenAPI documents: enough for kubectl create/apply/replace to find each kind and to learn that the
server validates fields itself (``fieldValidation``), so kubectl sends fieldValidation=Strict.

Request bodies carry no schema on purpose: with one, client-side apply would compute strategic
patches from it; without, kubectl uses its compiled-in types, which match Kubernetes exactly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from skiff.apiserver.resources import ResourceInfo


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _params() -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
        for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")
    ]


def gv_document(resources: list[ResourceInfo], group: str, version: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    found = False
    for r in resources:
        if r.group != group or r.version != version:
            continue
        found = True
        gvk = [{"group": r.group, "version": r.version, "kind": r.kind}]
        base = "/" + _gv_key(group, version)
        coll = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
        item = coll + "/{name}"
        ext = {"x-kubernetes-group-version-kind": gvk[0]}
        ops: dict[str, Any] = {}
        for verb, method in (("create", "post"), ("list", "get")):
            if verb in r.verbs:
                ops[method] = {
                    "operationId": f"{verb}{r.kind}",
                    "parameters": _params(),
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "post" if verb == "create" else "list",
                    **ext,
                }
        if ops:
            paths[coll] = ops
        iops: dict[str, Any] = {}
        for verb, method, action in (
            ("get", "get", "get"),
            ("update", "put", "put"),
            ("patch", "patch", "patch"),
            ("delete", "delete", "delete"),
        ):
            if verb in r.verbs:
                iops[method] = {
                    "operationId": f"{verb}{r.kind}",
                    "parameters": _params(),
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": action,
                    **ext,
                }
        if iops:
            paths[item] = iops
        name = f"io.k8s.api.{(r.group.split('.')[0] or 'core')}.{r.version}.{r.kind}"
        schemas[name] = {
            "type": "object",
            "description": f"{r.kind} ({r.api_version}) served by skiff.",
            "x-kubernetes-group-version-kind": gvk,
        }
    if not found:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


class OpenAPI:
    def __init__(self, resources: list[ResourceInfo]) -> None:
        self.docs: dict[str, bytes] = {}
        self.hashes: dict[str, str] = {}
        seen: list[tuple[str, str]] = []
        for r in resources:
            if (r.group, r.version) not in seen:
                seen.append((r.group, r.version))
        for g, v in seen:
            doc = gv_document(resources, g, v)
            raw = orjson.dumps(doc)
            key = _gv_key(g, v)
            self.docs[key] = raw
            self.hashes[key] = hashlib.sha512(raw).hexdigest()[:64].upper()
        self.root = orjson.dumps(
            {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={h}"} for k, h in self.hashes.items()}}
        )
        self.v2 = orjson.dumps(
            {
                "swagger": "2.0",
                "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": {},
                "definitions": {},
            }
        )
