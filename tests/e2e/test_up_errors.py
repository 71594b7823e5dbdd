"""`skiff up` refuses what it cannot do with one readable line, a non-zero exit and nothing left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from skiff.ports import free_port


def run_up(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skiff", "up", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in error_lines[0]


def no_component_left(data_dir: Path) -> bool:
    out = subprocess.run(["pgrep", "-f", f"--data-dir {data_dir}"], capture_output=True, text=True)
    return out.stdout.strip() == ""


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_up("--data-dir", str(tmp_path / "d"), "--port", str(port), "--runtime", "process")
    assert_one_line_error(result, f"port {port}", "in use")
    assert no_component_left(tmp_path / "d")


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_up("--data-dir", str(blocker / "data"), "--port", str(free_port()), "--runtime", "process")
    assert_one_line_error(result, "data dir", "not writable")


def test_missing_docker_when_docker_is_asked_for(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = run_up(
        "--data-dir", str(tmp_path / "d"), "--port", str(free_port()), "--runtime", "docker", env=env
    )
    assert_one_line_error(result, "--runtime docker", "Docker")
    assert no_component_left(tmp_path / "d")


def test_unreachable_etcd(tmp_path: Path) -> None:
    store = f"etcd://127.0.0.1:{free_port()}"
    data_dir = tmp_path / "d"
    result = run_up(
        "--data-dir", str(data_dir), "--port", str(free_port()), "--runtime", "process", "--store", store
    )
    assert_one_line_error(result, "API server")
    assert no_component_left(data_dir)


def test_ha_refuses_a_store_it_cannot_share(tmp_path: Path) -> None:
    result = run_up("--data-dir", str(tmp_path / "d"), "--ha", "--store", "sqlite", "--runtime", "hollow")
    assert_one_line_error(result, "--ha", "etcd://")
    assert no_component_left(tmp_path / "d")


def test_apiservers_needs_ha(tmp_path: Path) -> None:
    result = run_up("--data-dir", str(tmp_path / "d"), "--apiservers", "3", "--runtime", "hollow")
    assert_one_line_error(result, "--apiservers needs --ha")
