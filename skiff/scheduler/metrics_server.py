"""The scheduler's /metrics over HTTPS, authenticated and authorized through the API server, as
kube-scheduler serves it on its secure port (10259): a client certificate from the cluster CA or a
bearer token (TokenReview), then a SubjectAccessReview for the non-resource path (``get /metrics``;
the bootstrap role system:monitoring and cluster-admin grant it). Anonymous -> 401, refused -> 403.
The serving certificate: --tls-cert-file (`skiff up` issues one from the cluster CA) or self-signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from skiff import metrics
from skiff.client import Client
from skiff.client.delegated import Attrs, DelegatedAuth, verb_of
from skiff.serving import SecureServer, serving_context


def _attributes(scope: Mapping[str, Any]) -> Attrs:
    return Attrs(verb_of(scope), path=str(scope["path"]))


async def _metrics(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


def metrics_server(client: Client, cert_file: str | None = None, key_file: str | None = None) -> SecureServer:
    tls = serving_context("kube-scheduler", ["127.0.0.1"], client.config.ca_pem, cert_file, key_file)
    app = Starlette(routes=[Route("/metrics", _metrics)])
    return SecureServer(app, DelegatedAuth(client), _attributes, tls, "scheduler-metrics")
