"""The OpenAPI documents: what kubectl relies on (and must not find) in them, and how they are served."""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
import orjson

from skiff.api import kinds
from skiff.apiserver import catalog, openapi_schemas, openapi_text
from skiff.apiserver.openapi import OpenAPI
from skiff.apiserver.patch import schema as patch_schema
from tests.apiserver.helpers import http_client
from tests.fixtures.apiserver import APIServerHandle

DOCS = OpenAPI(catalog.build())


def doc(key: str) -> dict[str, Any]:
    return dict(orjson.loads(DOCS.docs[key]))


def test_every_served_kind_has_a_schema_with_its_gvk() -> None:
    for r in catalog.build():
        d = doc(f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}")
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        found = [
            n
            for n, s in d["components"]["schemas"].items()
            if gvk in s.get("x-kubernetes-group-version-kind", [])
        ]
        assert len(found) == 1, (gvk, found)
        api = "io.k8s.api." + (r.group.split(".")[0] if r.group else "core")
        assert found[0] == f"{api}.{r.version}.{r.kind}"


def test_kubectl_keeps_patching_with_its_compiled_in_types() -> None:
    # Client-side apply/diff patch from the v3 schemas only when a PATCH operation's requestBody
    # lists strategic merge patch, then from /openapi/v2 when it defines the kind. Neither must hold.
    for key in DOCS.docs:
        for item in doc(key)["paths"].values():
            for op in item.values():
                assert "requestBody" not in op
                assert "fieldValidation" in [p["name"] for p in op["parameters"]]
    assert orjson.loads(DOCS.v2)["definitions"] == {}


def test_schemas_follow_the_object_model() -> None:
    s = doc("api/v1")["components"]["schemas"]
    meta = s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert {"name", "generateName", "resourceVersion", "ownerReferences", "managedFields"} <= set(meta)
    assert meta["ownerReferences"]["x-kubernetes-patch-merge-key"] == "uid"
    assert meta["finalizers"]["x-kubernetes-list-type"] == "set"
    spec = s["io.k8s.api.core.v1.PodSpec"]
    assert spec["required"] == ["containers"]
    assert spec["properties"]["hostPID"] == {"type": "boolean"}  # renamed field: its JSON name
    containers = spec["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert spec["properties"]["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    ports = s["io.k8s.api.core.v1.Container"]["properties"]["ports"]
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    limits = s["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {"$ref": f"#/components/schemas/{openapi_schemas.QUANTITY}"}
    status = s["io.k8s.api.core.v1.PodStatus"]["properties"]
    assert status["podIP"]["type"] == "string" and "default" not in status["podIP"]
    assert "x-kubernetes-patch-merge-key" not in status["containerStatuses"]  # atomic
    # every $ref resolves within its own document
    for key in DOCS.docs:
        d = doc(key)
        assert set(openapi_schemas._refs(d)) <= set(d["components"]["schemas"]), key


def test_descriptions_name_real_fields() -> None:
    fields: dict[str, set[str]] = {}  # class name -> JSON names (both Events' fields under "Event")
    seen: set[type] = set()
    for info in mi.multi_type_info([k.type for k in kinds.KINDS]):
        stack: list[mi.Type] = [info]
        while stack:
            t = stack.pop()
            if isinstance(t, mi.StructType) and t.cls not in seen:
                seen.add(t.cls)
                fields.setdefault(t.cls.__name__, set()).update(f.encode_name for f in t.fields)
                stack.extend(f.type for f in t.fields)
            elif isinstance(t, mi.UnionType):
                stack.extend(t.types)
            elif isinstance(t, (mi.ListType, mi.DictType)):
                stack.append(t.item_type if isinstance(t, mi.ListType) else t.value_type)
    assert set(openapi_text.TYPES) <= set(fields)
    for cls, name in openapi_text.FIELDS:
        assert cls == "*" or name in fields[cls], (cls, name)
    for cls, names in openapi_text.REQUIRED.items():
        assert set(names) <= fields[cls], cls
    for kind in patch_schema.KINDS:
        assert kind in fields


def test_served_with_etag(shared_apiserver: APIServerHandle) -> None:
    with http_client(shared_apiserver) as c:
        root = c.get("/openapi/v3")
        assert root.status_code == 200 and root.headers["etag"]
        url = root.json()["paths"]["api/v1"]["serverRelativeURL"]
        r = c.get(url)
        assert r.status_code == 200
        assert r.headers["etag"] == '"' + url.split("hash=")[1] + '"'
        assert "io.k8s.api.core.v1.Pod" in r.json()["components"]["schemas"]
        again = c.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert c.get("/openapi/v3", headers={"If-None-Match": root.headers["etag"]}).status_code == 304
        missing = c.get("/openapi/v3/apis/nope/v1")
        assert missing.status_code == 404 and missing.json()["kind"] == "Status"
