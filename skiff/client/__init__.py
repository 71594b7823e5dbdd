"""skiff.client: how the scheduler, kubelet and controllers reach the cluster (only through the API).

- `kubeconfig`: load a kubeconfig (server, TLS material, credentials).
- `rest`: `Client`, an async REST client typed by skiff.api's Structs; `ApiError` carries the Status.
- `informer`: list + watch + local cache + handlers, relisting on 410.
- `leaderelection`: client-go's Lease-based leader election.
- `events`: a non-blocking EventRecorder with client-go's correlation rules.
"""

from .kubeconfig import KubeConfig, KubeconfigError, load_kubeconfig
from .resources import Resource, resource_for
from .rest import ApiError, Client, ClientError, ConnectError, ObjectList, WatchEvent

__all__ = [
    "ApiError",
    "Client",
    "ClientError",
    "ConnectError",
    "KubeConfig",
    "KubeconfigError",
    "ObjectList",
    "Resource",
    "WatchEvent",
    "load_kubeconfig",
    "resource_for",
]
