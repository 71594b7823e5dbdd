"""Request metrics of the API server: Kubernetes' verb and resource for each request, observed into
skiff.metrics (apiserver_request_total, apiserver_request_duration_seconds)."""

from __future__ import annotations

from typing import Any

from skiff import metrics

_NAMED = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}
_COLLECTION = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}


def verb_and_resource(method: str, path: str, query: bytes) -> tuple[str, str]:
    """('list', 'pods') for GET /api/v1/namespaces/default/pods, ('watch', 'pods') with watch=true,
    ('create', 'pods/binding') for POST .../pods/web/binding; ('get', '') outside the resource paths."""
    parts = [p for p in path.split("/") if p]
    # /api/v1/... or /apis/GROUP/VERSION/...
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]  # a namespaced resource
    if not rest:
        return method.lower(), ""
    resource = rest[0]
    named = len(rest) >= 2
    if len(rest) >= 3:
        resource = f"{resource}/{rest[2]}"
    if method == "GET" and b"watch=" in query and b"watch=false" not in query.lower():
        return "watch", resource
    return (_NAMED if named else _COLLECTION).get(method, method.lower()), resource


def observe(scope: Any, status: int, seconds: float) -> None:
    verb, resource = verb_and_resource(scope["method"], scope["path"], scope.get("query_string", b""))
    metrics.apiserver_request_total.labels(verb, resource, str(status)).inc()
    metrics.apiserver_request_duration_seconds.labels(verb, resource).observe(seconds)
