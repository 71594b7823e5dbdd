import subprocess
import sys


def test_skiff_help_lists_the_contract_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "skiff", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for sub in [
        "up",
        "apiserver",
        "scheduler",
        "kubelet",
        "controller-manager",
        "backup",
        "restore",
        "trace",
    ]:
        assert sub in out
