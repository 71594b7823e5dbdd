"""`python -m bench` (make bench): runs every benchmark module of bench/ that has a main(), in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

sys.argv = sys.argv[:1]  # each benchmark runs with its defaults
for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
    if info.name.startswith("_"):
        continue
    module = importlib.import_module(f"bench.{info.name}")
    if hasattr(module, "main"):
        print(f"## bench.{info.name}", flush=True)
        module.main()
