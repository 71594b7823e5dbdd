"""Request bodies in, responses out: content types, Accept negotiation, Table conversion."""

from __future__ import annotations

import time
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

from skiff.apiserver import errors
from skiff.apiserver.resources import Obj, ResourceInfo

MAX_BODY = 3 * 1024 * 1024
JSON = "application/json"
TABLE_MARK = "as=table"


class Output:
    """How to render a response: plain JSON/YAML, a Table, or PartialObjectMetadata."""

    __slots__ = ("include_object", "kind", "yaml")

    def __init__(self, kind: str = "json", yaml_: bool = False, include_object: str = "Metadata") -> None:
        self.kind = kind  # json | table | partial
        self.yaml = yaml_
        self.include_object = include_object


def output_for(request: Request) -> Output:
    accept = request.headers.get("accept", "")
    include = request.query_params.get("includeObject") or "Metadata"
    if not accept:
        return Output()
    for part in accept.split(","):
        p = part.strip().lower().replace(" ", "")
        if not p:
            continue
        mtype = p.split(";", 1)[0]
        if TABLE_MARK in p and mtype == JSON:
            if "g=meta.k8s.io" in p:
                return Output("table", include_object=include)
            continue
        if "as=partialobjectmetadata" in p and mtype == JSON:
            return Output("partial")
        if ";as=" in p:
            continue
        if mtype in (JSON, "*/*", "application/*", "application/json-seq"):
            return Output()
        if mtype in ("application/yaml", "application/x-yaml", "text/yaml"):
            return Output(yaml_=True)
    raise errors.not_acceptable(accept)


async def read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                raise errors.too_large("limit is 3145728")
        except ValueError:
            raise errors.bad_request("invalid Content-Length") from None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.too_large("limit is 3145728")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    ct = request.headers.get("content-type", "")
    return ct.split(";", 1)[0].strip().lower()


def parse_body(data: bytes, ctype: str) -> Any:
    """JSON (the default when no Content-Type is sent) or YAML; a 400 Status when malformed."""
    if ctype in ("", JSON, "application/*", "*/*", "text/plain", "application/x-www-form-urlencoded"):
        return _json(data)
    if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
        return _yaml(data)
    if ctype == "application/vnd.kubernetes.protobuf":
        from skiff.apiserver import protobuf

        try:
            return protobuf.decode(data)
        except (protobuf.ProtobufError, UnicodeDecodeError) as e:
            raise errors.APIError(
                415, "UnsupportedMediaType", f"cannot decode the protobuf body: {e}"
            ) from None
    raise errors.unsupported_media_type(ctype)


def _json(data: bytes) -> Any:
    if not data.strip():
        raise errors.bad_request("the request body is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from None


def _yaml(data: bytes) -> Any:
    if not data.strip():
        raise errors.bad_request("the request body is empty")
    try:
        obj = yaml.safe_load(data)
        # As Kubernetes converts YAML to JSON: keys become strings, timestamps text; text that
        # cannot be JSON (lone surrogates) is refused.
        return orjson.loads(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))
    except (TypeError, orjson.JSONEncodeError) as e:
        raise errors.bad_request(f"error converting YAML to JSON: {e}") from None
    except yaml.YAMLError as e:
        msg = str(e).replace("\n", " ")
        raise errors.bad_request(f"error converting YAML to JSON: {msg}") from None
    except (ValueError, RecursionError) as e:
        raise errors.bad_request(f"error converting YAML to JSON: {e}") from None


def _yaml_safe(obj: Any) -> Any:
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=False)


def respond(
    obj: Any, code: int = 200, out: Output | None = None, headers: dict[str, str] | None = None
) -> Response:
    if out is not None and out.yaml:
        return Response(_yaml_safe(obj), code, headers=headers, media_type="application/yaml")
    return Response(orjson.dumps(obj), code, headers=headers, media_type=JSON)


def respond_raw(body: bytes, code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, code, headers=headers, media_type=JSON)


def error_response(e: errors.APIError) -> Response:
    return Response(e.body(), e.code, media_type=JSON)


# ---------------------------------------------------------------------------------- tables

PARTIAL_KEYS = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
)


def partial(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {k: meta[k] for k in PARTIAL_KEYS if k in meta},
    }


def table(info: ResourceInfo, objs: list[Obj], list_meta: Obj, out: Output, with_columns: bool = True) -> Obj:
    now = time.time()
    strat = info.strategy
    rows = []
    for o in objs:
        row: Obj = {"cells": strat.cells(o, now)}
        if out.include_object == "Object":
            row["object"] = o
        elif out.include_object != "None":
            row["object"] = partial(o)
        rows.append(row)
    t: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta}
    if with_columns:
        t["columnDefinitions"] = strat.columns()
    t["rows"] = rows
    return t
