"""`skiff kubelet`: builds the runtime and the kubelet(s) from the command line, runs until SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from skiff.log import setup_logging


@dataclasses.dataclass
class KubeletOptions:
    kubeconfig: str
    node_name: str
    runtime: str = "docker"
    count: int | None = None
    capacity: str | None = None
    port: int = 10250
    address: str | None = None
    manifests: str | None = None
    root_dir: str | None = None
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None


def main(opts: KubeletOptions) -> None:
    """Raises ValueError for bad input (the CLI prints it as one line)."""
    from skiff.client import Client, KubeconfigError
    from skiff.kubelet.kubelet import HollowKubelets, Kubelet, run
    from skiff.kubelet.node import parse_capacity
    from skiff.runtime.base import Runtime, RuntimeError_

    capacity = parse_capacity(opts.capacity) if opts.capacity else None
    log = setup_logging("kubelet")
    try:
        client = Client.from_kubeconfig(opts.kubeconfig)
    except (KubeconfigError, OSError) as exc:
        raise ValueError(f"--kubeconfig {opts.kubeconfig}: {exc}") from None
    if opts.tls_cert_file:
        from skiff.serving import serving_context

        serving_context(opts.node_name, [], None, opts.tls_cert_file, opts.tls_private_key_file)  # fail early

    def make_runtime(node: str) -> Runtime:
        if opts.runtime == "docker":
            from skiff.runtime.docker import DockerRuntime

            return DockerRuntime(node)
        if opts.runtime == "process":
            from skiff.runtime.process import ProcessRuntime

            return ProcessRuntime(node, root=opts.root_dir)
        from skiff.runtime.hollow import HollowRuntime

        cpu = memory = pods = None
        if capacity:
            from skiff.api.quantity import parse

            cpu = parse(capacity["cpu"]).milli_value() if "cpu" in capacity else None
            memory = parse(capacity["memory"]).value() if "memory" in capacity else None
            pods = int(capacity["pods"]) if "pods" in capacity else None
        return HollowRuntime(node, cpu_millis=cpu or 4000, memory_bytes=memory or 8 << 30, pods=pods or 110)

    async def go(stop: asyncio.Event) -> None:
        try:
            if opts.runtime == "hollow" and opts.count is not None:
                hollow = HollowKubelets(client, opts.node_name, opts.count, capacity, make_runtime)
                await hollow.run_forever(stop)
            else:
                k = Kubelet(
                    client,
                    make_runtime(opts.node_name),
                    opts.node_name,
                    capacity=capacity,
                    port=opts.port,
                    address=opts.address,
                    manifests=opts.manifests,
                    tls_cert_file=opts.tls_cert_file,
                    tls_key_file=opts.tls_private_key_file,
                )
                await k.run_forever(stop)
        finally:
            await client.aclose()

    try:
        try:
            import uvloop

            uvloop.run(run(go))
        except ImportError:
            asyncio.run(run(go))
    except RuntimeError_ as exc:
        log.error("%s", exc.message)
        print(f"skiff kubelet: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
