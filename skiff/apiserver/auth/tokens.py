"""Bearer tokens from a static file: DATA_DIR/tokens.csv, in kube-apiserver's --token-auth-file format.

One line per token: ``token,user,uid,"group1,group2"`` (uid and groups optional; ``#`` starts a
comment). The file is re-read when its modification time changes, checked at most once a second.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from pathlib import Path

from skiff.apiserver.auth.user import ALL_AUTHENTICATED, UserInfo

log = logging.getLogger("skiff.apiserver")

TOKEN_FILE = "tokens.csv"


class InvalidToken(Exception):
    """A token of an authenticator's kind that it refuses; the message says why (never the token)."""


class StaticTokens:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tokens: dict[str, UserInfo] = {}
        self.mtime: float | None = None
        self.checked = 0.0

    def _reload(self) -> None:
        now = time.monotonic()
        if now - self.checked < 1.0:
            return
        self.checked = now
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            self.tokens, self.mtime = {}, None
            return
        if mtime == self.mtime:
            return
        self.mtime = mtime
        tokens: dict[str, UserInfo] = {}
        try:
            with open(self.path, newline="") as f:
                for n, row in enumerate(csv.reader(f), start=1):
                    if not row or row[0].lstrip().startswith("#"):
                        continue
                    if len(row) < 2 or not row[0] or not row[1]:
                        log.warning("ignoring line %d of %s: needs token,user", n, self.path)
                        continue
                    groups = [g.strip() for g in row[3].split(",") if g.strip()] if len(row) > 3 else []
                    uid = row[2] if len(row) > 2 else ""
                    tokens[row[0]] = UserInfo(row[1], uid, (*groups, ALL_AUTHENTICATED))
        except OSError as e:
            log.warning("cannot read %s: %s", self.path, e.strerror)
            return
        self.tokens = tokens

    async def authenticate(self, token: str) -> UserInfo | None:
        self._reload()
        return self.tokens.get(token)
