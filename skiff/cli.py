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
@click.option("--store", "store_url", default="sqlite", show_default=True)
def up(data_dir: str, port: int, nodes: int, runtime: str, store_url: str) -> None:
    """Run the whole cluster in the foreground."""
    from skiff.up import UpError, resolve_spec, run_up

    try:
        spec = resolve_spec(data_dir, port, nodes, runtime, store_url)
    except UpError as exc:
        raise UserError(str(exc)) from None
    sys.exit(run_up(spec))


@cli.command()
@click.option("--data-dir", default=".skiff", show_default=True)
@click.option("--store", "store_url", default="sqlite", show_default=True)
@click.option("--port", type=int, default=6443, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True)
def apiserver(data_dir: str, store_url: str, port: int, bind: str) -> None:
    """Run the API server."""
    from skiff.apiserver.server import run
    from skiff.log import setup_logging

    setup_logging("apiserver")
    run(data_dir, store_url, bind, port)


@cli.command()
@click.option("--kubeconfig", required=True)
@click.option("--config", "config_file", default=None)
def scheduler(kubeconfig: str, config_file: str | None) -> None:
    """Run the scheduler."""
    not_built("scheduler")


@cli.command()
@click.option("--kubeconfig", required=True)
@click.option("--node-name", required=True)
@click.option("--runtime", type=click.Choice(["docker", "process", "hollow"]), default="docker")
def kubelet(kubeconfig: str, node_name: str, runtime: str) -> None:
    """Run a kubelet."""
    not_built("kubelet")


@cli.command("controller-manager")
@click.option("--kubeconfig", required=True)
def controller_manager(kubeconfig: str) -> None:
    """Run the controllers (node lifecycle, pod GC)."""
    not_built("controller-manager")


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
    not_built("trace")


@cli.group()
def bench() -> None:
    """Benchmarks."""


def main() -> None:
    cli()
