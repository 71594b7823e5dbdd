"""What a request to the kubelet's server does, for its SubjectAccessReview (Kubernetes' mapping):
resource ``nodes``, name = this node, subresource by path (/metrics -> metrics, /stats -> stats,
/logs -> log, /spec -> spec; anything else, containerLogs, exec and healthz included, -> proxy), verb
by HTTP method (GET/HEAD and a websocket upgrade -> get, POST -> create, PUT -> update, PATCH ->
patch, DELETE -> delete). A refusal reads "Forbidden (user=U, verb=V, resource=nodes,
subresource=S)". Authentication and the decision cache: skiff.client.delegated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from skiff.client.delegated import Attrs, verb_of

SUBRESOURCES = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"), ("/spec", "spec"))


def subresource_of(path: str) -> str:
    for prefix, sub in SUBRESOURCES:
        if path == prefix or path.startswith(prefix + "/"):
            return sub
    return "proxy"


def node_attributes(node: str) -> Callable[[Mapping[str, Any]], Attrs]:
    def attributes(scope: Mapping[str, Any]) -> Attrs:
        return Attrs(verb_of(scope), "nodes", subresource_of(str(scope["path"])), node)

    return attributes
