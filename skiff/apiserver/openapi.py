"""OpenAPI documents: /openapi/v3 (a root listing one document per group version) and
/openapi/v3/GV with, per kind, its paths and the component schemas of its fields (`kubectl explain`).

What kubectl reads (v1.32): create/apply/replace look for `fieldValidation` among the parameters of a
kind's operations and then let the server validate (fieldValidation=Strict). Client-side apply and
diff compute strategic patches from the v3 schemas only when the kind's PATCH operation lists
application/strategic-merge-patch+json in its requestBody, else from /openapi/v2 when that names the
kind, else from kubectl's compiled-in types. Operations here carry no requestBody and /openapi/v2 has
no definitions on purpose: kubectl keeps patching with its compiled-in types, which match Kubernetes
exactly, while the schemas serve explain.

The documents are built once, on the first request for any of them, and served as cached bytes with
an ETag (the hash in the root's serverRelativeURL).
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any

import orjson

from skiff.api import kinds
from skiff.apiserver import openapi_schemas
from skiff.apiserver.resources import ResourceInfo


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _params() -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
        for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")
    ]


def _ok(name: str | None) -> dict[str, Any]:
    if name is None:
        return {"200": {"description": "OK"}}
    body = {"schema": {"$ref": openapi_schemas.REF + name}}
    return {"200": {"description": "OK", "content": {"application/json": body}}}


def gv_paths(r: ResourceInfo, kind_schema: str | None) -> dict[str, Any]:
    """The path items of one resource (no requestBody: see the module docstring)."""
    paths: dict[str, Any] = {}
    ext = {"x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind}}
    base = "/" + _gv_key(r.group, r.version)
    coll = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    for path, ops in (
        (coll, (("create", "post", "post"), ("list", "get", "list"))),
        (
            coll + "/{name}",
            (
                ("get", "get", "get"),
                ("update", "put", "put"),
                ("patch", "patch", "patch"),
                ("delete", "delete", "delete"),
            ),
        ),
    ):
        item: dict[str, Any] = {}
        for verb, method, action in ops:
            if verb in r.verbs:
                item[method] = {
                    "operationId": f"{verb}{r.kind}",
                    "parameters": _params(),
                    "responses": _ok(kind_schema if verb in ("get", "create", "update", "patch") else None),
                    "x-kubernetes-action": action,
                    **ext,
                }
        if item:
            paths[path] = item
    return paths


class OpenAPI:
    def __init__(self, resources: list[ResourceInfo]) -> None:
        self.resources = resources

    @cached_property
    def _built(self) -> tuple[dict[str, bytes], dict[str, str]]:
        structs: list[tuple[type, str, str, str]] = []
        for r in self.resources:
            k = kinds.by_kind(r.api_version, r.kind)
            if k is not None and (k.type, r.group, r.version, r.kind) not in structs:
                structs.append((k.type, r.group, r.version, r.kind))
        schemas, top = openapi_schemas.build(structs)
        by_gv: dict[str, list[ResourceInfo]] = {}
        for r in self.resources:
            by_gv.setdefault(_gv_key(r.group, r.version), []).append(r)
        docs: dict[str, bytes] = {}
        hashes: dict[str, str] = {}
        for key, rs in by_gv.items():
            paths: dict[str, Any] = {}
            roots: list[str] = []
            for r in rs:
                name = top.get((r.group, r.version, r.kind))
                paths.update(gv_paths(r, name))
                if name is not None and name not in roots:
                    roots.append(name)
            doc = {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths,
                "components": {"schemas": openapi_schemas.closure(schemas, roots)},
            }
            docs[key] = orjson.dumps(doc)
            hashes[key] = hashlib.sha512(docs[key]).hexdigest()[:64].upper()
        return docs, hashes

    @property
    def docs(self) -> dict[str, bytes]:
        return self._built[0]

    @property
    def hashes(self) -> dict[str, str]:
        return self._built[1]

    @cached_property
    def root(self) -> bytes:
        return orjson.dumps(
            {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={h}"} for k, h in self.hashes.items()}}
        )

    @cached_property
    def _root_etag(self) -> str:
        return '"' + hashlib.sha512(self.root).hexdigest()[:64].upper() + '"'

    def document(self, key: str) -> tuple[bytes, str] | None:
        """The v3 document at /openapi/v3/KEY ("" for the root) and its ETag, or None."""
        if not key:
            return self.root, self._root_etag
        doc = self.docs.get(key)
        return None if doc is None else (doc, f'"{self.hashes[key]}"')

    # Swagger 2.0 without definitions: kubectl's apply would otherwise patch from it (module docstring).
    v2 = orjson.dumps(
        {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": {},
            "definitions": {},
        }
    )
