"""One log format for every component: one line per event, readable by a person and parseable.

    2026-11-27T18:00:00.123Z scheduler INFO Successfully assigned default/web to node-1 pod=default/web

Fields: UTC timestamp, component, level, message, then optional key=value pairs (passed as
``extra={"kv": {...}}``). Call ``setup_logging("scheduler")`` once at process start.
"""

from __future__ import annotations

import logging
import sys
import time


class LineFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = f"{ts}.{int(record.msecs):03d}Z {self.component} {record.levelname} {record.getMessage()}"
        kv = getattr(record, "kv", None)
        if isinstance(kv, dict) and kv:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in kv.items())
        if record.exc_info:
            # Tracebacks go to the log for the developer, folded onto one line per frame.
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(component: str, level: int = logging.INFO) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries log at INFO about every connection; keep their warnings only.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aetcd", "docker", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(f"skiff.{component}")
