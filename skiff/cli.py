"""The `skiff` command: wires the components together (DESIGN.md, "The command").

Each subcommand parses its flags, then hands off to the component's own entry point. Errors a user can
fix are reported as one readable line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

import click


class UserError(click.ClickException):
    """One readable line for the CLI user; exit code 1."""


def not_built(name: str) -> None:
    click.echo(f"skiff {name}: not built yet", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="skiff")
def cli() -> None:
    """skiff: a small Kubernetes-compatible cluster."""


@cli.command()
@click.option("--data-dir", default=".skiff", show_default=True)
@click.option("--port", type=int, default=6443, show_default=True)
@click.option("--nodes", type=int, default=1, show_default=True)
@click.option("--runtime", type=click.Choice(["auto", "docker", "process", "hollow"]), default="auto")
@click.option(
    "--store", "store_url", default=None, help="[default: sqlite; with --ha: 3 etcd members in DIR]"
)
@click.option(
    "--ha", is_flag=True, help="etcd x3, several API servers behind HAProxy, 2 schedulers/controllers."
)
@click.option("--apiservers", type=int, default=None, help="with --ha: how many API servers [default: 2]")
def up(
    data_dir: str,
    port: int,
    nodes: int,
    runtime: str,
    store_url: str | None,
    ha: bool,
    apiservers: int | None,
) -> None:
    """Run the whole cluster in the foreground."""
    from skiff.up import UpError, resolve_spec, run_up

    try:
        spec = resolve_spec(data_dir, port, nodes, runtime, store_url, ha, apiservers)
    except UpError as exc:
        raise UserError(str(exc)) from None
    sys.exit(run_up(spec))


@cli.command()
@click.option("--data-dir", default=".skiff", show_default=True)
@click.option("--store", "store_url", default="sqlite", show_default=True)
@click.option("--port", type=int, default=6443, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True)
@click.option(
    "--external-address",
    default=None,
    metavar="HOST:PORT",
    help="The address clients use (a load balancer's), written into DATA_DIR/kubeconfig.",
)
@click.option(
    "--max-requests-inflight",
    type=click.IntRange(1),
    default=400,
    show_default=True,
    help="Short requests served at once; beyond, 429 (watches, logs and exec do not count).",
)
@click.option("--max-watches-per-user", type=click.IntRange(1), default=1000, show_default=True)
@click.option(
    "--insecure-http",
    is_flag=True,
    help="INSECURE: plain HTTP, no authentication, everyone is admin (for benchmarks only).",
)
def apiserver(
    data_dir: str,
    store_url: str,
    port: int,
    bind: str,
    external_address: str | None,
    max_requests_inflight: int,
    max_watches_per_user: int,
    insecure_http: bool,
) -> None:
    """Run the API server."""
    from skiff.apiserver.server import Options, run
    from skiff.log import setup_logging

    setup_logging("apiserver")
    opts = Options(max_requests_inflight, max_watches_per_user, insecure_http, external_address)
    run(data_dir, store_url, bind, port, opts)


@cli.command()
@click.option("--kubeconfig", required=True)
@click.option("--config", "config_file", default=None)
@click.option(
    "--metrics-port", type=int, default=10259, show_default=True, help="Serve /metrics here (0: do not)."
)
@click.option("--tls-cert-file", default=None, help="/metrics serving certificate (default: self-signed).")
@click.option("--tls-private-key-file", default=None, help="Its key (default: read from --tls-cert-file).")
def scheduler(
    kubeconfig: str,
    config_file: str | None,
    metrics_port: int,
    tls_cert_file: str | None,
    tls_private_key_file: str | None,
) -> None:
    """Run the scheduler (kube-scheduler's semantics; a KubeSchedulerConfiguration YAML with --config)."""
    from skiff.client.kubeconfig import KubeconfigError
    from skiff.log import setup_logging
    from skiff.scheduler.config import ConfigError
    from skiff.scheduler.scheduler import run_scheduler
    from skiff.serving import CertificateError

    setup_logging("scheduler")
    try:
        code = run_scheduler(kubeconfig, config_file, metrics_port, tls_cert_file, tls_private_key_file)
    except CertificateError as e:
        raise UserError(str(e)) from None
    except (ConfigError, KubeconfigError) as e:
        raise UserError(
            f"{config_file if isinstance(e, ConfigError) and config_file else kubeconfig}: {e}"
        ) from None
    sys.exit(code)


@cli.command()
@click.option("--kubeconfig", required=True)
@click.option("--node-name", required=True, help="The node's name (with --count: the prefix of the names).")
@click.option("--runtime", type=click.Choice(["docker", "process", "hollow"]), default="docker")
@click.option(
    "--count", type=int, default=None, help="hollow only: run COUNT nodes NAME-0 ... NAME-(COUNT-1)."
)
@click.option(
    "--capacity", default=None, help="Declared capacity instead of the machine's: cpu=4,memory=8Gi,pods=110"
)
@click.option("--port", type=int, default=10250, show_default=True, help="HTTPS port (logs, exec, metrics).")
@click.option("--address", default=None, help="The node's InternalIP (default: the default route's source).")
@click.option("--manifests", default=None, help="Directory of static pod manifests.")
@click.option("--root-dir", default=None, help="process runtime: where container records and logs live.")
@click.option(
    "--tls-cert-file",
    default=None,
    help="Serving certificate (PEM; may hold the key too). Default: a self-signed one made at start.",
)
@click.option("--tls-private-key-file", default=None, help="Its key (default: read from --tls-cert-file).")
def kubelet(
    kubeconfig: str,
    node_name: str,
    runtime: str,
    count: int | None,
    capacity: str | None,
    port: int,
    address: str | None,
    manifests: str | None,
    root_dir: str | None,
    tls_cert_file: str | None,
    tls_private_key_file: str | None,
) -> None:
    """Run a kubelet (or, with --runtime hollow --count N, N hollow ones)."""
    from skiff.kubelet.main import KubeletOptions
    from skiff.kubelet.main import main as kubelet_main

    if count is not None and runtime != "hollow":
        raise UserError("--count needs --runtime hollow")
    if count is not None and count < 1:
        raise UserError("--count must be at least 1")
    try:
        kubelet_main(
            KubeletOptions(
                kubeconfig=kubeconfig,
                node_name=node_name,
                runtime=runtime,
                count=count,
                capacity=capacity,
                port=port,
                address=address,
                manifests=manifests,
                root_dir=root_dir,
                tls_cert_file=tls_cert_file,
                tls_private_key_file=tls_private_key_file,
            )
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def parse_duration(value: str) -> float:
    """Seconds from "40s", "5m", "500ms", "1h" or a plain number of seconds."""
    text = value.strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            number, mult = text[: -len(suffix)], scale
            break
    else:
        number, mult = text, 1.0
    try:
        seconds = float(number) * mult
    except ValueError:
        raise UserError(f"invalid duration {value!r} (examples: 40s, 5m, 500ms)") from None
    if seconds < 0:
        raise UserError(f"invalid duration {value!r}: must not be negative")
    return seconds


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except UserError as e:
            self.fail(e.message, param, ctx)


@cli.command("controller-manager")
@click.option("--kubeconfig", required=True)
@click.option(
    "--controllers",
    default="nodelifecycle,podgc,namespace,serviceaccount",
    show_default=True,
    help="Comma-separated controllers.",
)
@click.option("--node-monitor-period", type=Duration(), default="5s", show_default=True)
@click.option("--node-monitor-grace-period", type=Duration(), default="40s", show_default=True)
@click.option("--pod-gc-period", type=Duration(), default="20s", show_default=True)
@click.option(
    "--node-eviction-rate",
    type=float,
    default=0.1,
    show_default=True,
    help="Nodes tainted NoExecute per second.",
)
@click.option("--secondary-node-eviction-rate", type=float, default=0.01, show_default=True)
@click.option("--large-cluster-size-threshold", type=int, default=50, show_default=True)
@click.option("--unhealthy-zone-threshold", type=float, default=0.55, show_default=True)
@click.option("--terminated-pod-gc-threshold", type=int, default=12500, show_default=True)
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True)
@click.option("--leader-elect-lease-duration", type=Duration(), default="15s", show_default=True)
@click.option("--leader-elect-renew-deadline", type=Duration(), default="10s", show_default=True)
@click.option("--leader-elect-retry-period", type=Duration(), default="2s", show_default=True)
def controller_manager(
    kubeconfig: str,
    controllers: str,
    node_monitor_period: float,
    node_monitor_grace_period: float,
    pod_gc_period: float,
    node_eviction_rate: float,
    secondary_node_eviction_rate: float,
    large_cluster_size_threshold: int,
    unhealthy_zone_threshold: float,
    terminated_pod_gc_threshold: int,
    leader_elect: bool,
    leader_elect_lease_duration: float,
    leader_elect_renew_deadline: float,
    leader_elect_retry_period: float,
) -> None:
    """Run the controllers (node lifecycle, pod GC, namespace, service accounts), leader-elected."""
    from skiff.client.kubeconfig import KubeconfigError, load_kubeconfig
    from skiff.controllers.manager import ALL_CONTROLLERS, Options, run_controller_manager
    from skiff.log import setup_logging

    names = tuple(c.strip() for c in controllers.split(",") if c.strip())
    unknown = sorted(set(names) - set(ALL_CONTROLLERS))
    if unknown:
        raise UserError(f"unknown controllers: {', '.join(unknown)} (known: {', '.join(ALL_CONTROLLERS)})")
    if leader_elect and not (
        leader_elect_lease_duration > leader_elect_renew_deadline > 1.2 * leader_elect_retry_period
    ):
        raise UserError("leader election needs lease-duration > renew-deadline > 1.2 * retry-period")
    try:
        config = load_kubeconfig(kubeconfig)
    except KubeconfigError as e:
        raise UserError(str(e)) from None
    setup_logging("controller-manager")
    options = Options(
        controllers=names,
        node_monitor_period=node_monitor_period,
        node_monitor_grace_period=node_monitor_grace_period,
        podgc_period=pod_gc_period,
        node_eviction_rate=node_eviction_rate,
        secondary_node_eviction_rate=secondary_node_eviction_rate,
        large_cluster_size_threshold=large_cluster_size_threshold,
        unhealthy_zone_threshold=unhealthy_zone_threshold,
        terminated_pod_gc_threshold=terminated_pod_gc_threshold,
        podgc_quarantine=node_monitor_grace_period,
        leader_elect=leader_elect,
        lease_duration=leader_elect_lease_duration,
        renew_deadline=leader_elect_renew_deadline,
        retry_period=leader_elect_retry_period,
    )
    run_controller_manager(config, options)


def _store_command(coro: Coroutine[Any, Any, str]) -> None:
    """Runs a store command; its errors become one line and exit code 1."""
    from skiff.store import StoreError

    try:
        click.echo(asyncio.run(coro))
    except (StoreError, OSError) as e:
        raise UserError(str(e)) from None
    except KeyboardInterrupt:
        sys.exit(130)


@cli.command()
@click.option("--store", "store_url", required=True, help="sqlite, sqlite:///PATH.db or etcd://HOST:PORT,...")
@click.option("--data-dir", default=".skiff", show_default=True, help="where --store sqlite lives")
@click.argument("file")
def backup(store_url: str, data_dir: str, file: str) -> None:
    """Write a consistent snapshot of the store to FILE."""
    from skiff.store.backup import backup_command

    _store_command(backup_command(store_url, data_dir, file))


@cli.command()
@click.option("--store", "store_url", required=True, help="sqlite, sqlite:///PATH.db or etcd://HOST:PORT,...")
@click.option("--data-dir", default=".skiff", show_default=True, help="where --store sqlite lives")
@click.option("--force", is_flag=True, help="replace the content of a store that is not empty")
@click.argument("file")
def restore(store_url: str, data_dir: str, force: bool, file: str) -> None:
    """Load a snapshot FILE into an empty store."""
    from skiff.store.backup import restore_command

    _store_command(restore_command(store_url, data_dir, file, force))


@cli.command()
@click.option("--kubeconfig", default=None)
@click.option("-n", "--namespace", default="default")
@click.argument("pod")
def trace(kubeconfig: str | None, namespace: str, pod: str) -> None:
    """Show a pod's journey through the cluster."""
    import asyncio

    from skiff.client.kubeconfig import KubeconfigError
    from skiff.client.rest import ApiError, ClientError
    from skiff.trace import fetch_and_render

    try:
        click.echo(asyncio.run(fetch_and_render(kubeconfig, namespace, pod)))
    except ApiError as exc:
        raise UserError(exc.message) from None
    except (ClientError, KubeconfigError) as exc:
        raise UserError(str(exc)) from None


@cli.group()
def bench() -> None:
    """Benchmarks."""


@bench.command("scheduler")
@click.option("--nodes", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--pods", type=click.IntRange(1), default=10000, show_default=True)
@click.option(
    "--workload",
    type=click.Choice(["basic", "anti-affinity", "spread", "affinity", "preemption"]),
    default="basic",
    show_default=True,
)
@click.option("--kubeconfig", default=None, help="a running API server (default: start one)")
@click.option("--algorithm-only", is_flag=True, help="the scheduling cycle alone, without the API")
def bench_scheduler(
    nodes: int, pods: int, workload: str, kubeconfig: str | None, algorithm_only: bool
) -> None:
    """Pods bound per second; the last line is throughput_pods_per_s=<number>."""
    import logging

    from skiff.scheduler.bench import run_algorithm, run_api

    logging.basicConfig(level=logging.WARNING)
    if algorithm_only:
        rate = run_algorithm(nodes, pods, workload, echo=click.echo)
    else:
        try:
            rate = run_api(kubeconfig, nodes, pods, workload, echo=click.echo)
        except RuntimeError as e:
            raise UserError(str(e)) from None
    click.echo(f"throughput_pods_per_s={rate:.1f}")


def main() -> None:
    cli()
