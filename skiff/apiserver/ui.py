"""The dashboard at /ui: static page, login by one-time token, and each pod's journey as JSON.

- Access: at start the API server writes DATA_DIR/dashboard-token (a random one-time token).
  ``GET /ui/login?token=T`` turns it into a session cookie (HMAC-signed with DATA_DIR/dashboard-secret,
  so every API server on the same data dir accepts it) and replaces the token, rewriting
  DATA_DIR/dashboard-token and, when `skiff up` wrote one, DATA_DIR/dashboard-url. Every other /ui path
  answers 401 without a valid cookie.
- The page (ui_static/) reads nodes and pods from the real API (list, then ``?watch=true`` from the
  list's resourceVersion) and asks ``/ui/api/trace/NS/POD`` for a pod's journey.
- The journey is `skiff trace`'s (skiff.trace.build_journey) on the pod and its events read through this
  server's own handlers, so the page and the CLI cannot disagree; each step gets the diagram's sender and
  receiver here.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import Request, cookie_parser
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from skiff.api.codec import decode_fast
from skiff.api.core import Event, EventList, Pod
from skiff.apiserver.auth.user import ALL_AUTHENTICATED, MASTERS, UserInfo
from skiff.trace import Step, build_journey

STATIC = Path(__file__).parent / "ui_static"
TOKEN_FILE = "dashboard-token"
SECRET_FILE = "dashboard-secret"
URL_FILE = "dashboard-url"
COOKIE = "skiff-dashboard"
SESSION_S = 12 * 3600
# Whoever holds DATA_DIR/dashboard-token can read the admin kubeconfig next to it: a session is admin.
DASHBOARD_USER = UserInfo(name="skiff:dashboard", groups=(MASTERS, ALL_AUTHENTICATED))

# The diagram's lifelines, in order, and who talks to whom at each step of the seed.
LANES = ["user", "apiserver", "store", "scheduler", "kubelet", "docker"]
ARROWS: dict[tuple[int, str], tuple[str, str]] = {
    (1, "created through the API server"): ("user", "apiserver"),
    (2, "stored"): ("apiserver", "store"),
    (3, "noticed by the scheduler"): ("apiserver", "scheduler"),
    (3, "decision"): ("scheduler", "scheduler"),
    (4, "binding written"): ("scheduler", "apiserver"),
    (5, "noticed by the kubelet"): ("apiserver", "kubelet"),
    (6, "sandbox started"): ("kubelet", "docker"),
    (6, "container started"): ("kubelet", "docker"),
    (7, "probes passing"): ("docker", "kubelet"),
    (8, "status reported Ready"): ("kubelet", "apiserver"),
}


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def journey_json(pod: Pod, steps: list[Step]) -> dict[str, Any]:
    """The journey as the page draws it: lanes, and each step with its arrow and times."""
    start = steps[0].at if steps else None
    out = []
    for s in steps:
        src, dst = ARROWS.get((s.seed_step, s.what), ("apiserver", "apiserver"))
        delta = (s.at - start).total_seconds() * 1000 if s.at and start else None
        out.append(
            {
                "step": s.seed_step,
                "what": s.what,
                "component": s.component,
                "from": src,
                "to": dst,
                "at": s.at.isoformat(timespec="milliseconds") if s.at else None,
                "deltaMs": round(delta) if delta is not None else None,
                "detail": s.detail,
            }
        )
    meta = pod.metadata
    return {
        "namespace": meta.namespace if meta else None,
        "name": meta.name if meta else None,
        "phase": pod.status.phase if pod.status else None,
        "lanes": LANES,
        "steps": out,
    }


class Dashboard:
    """The /ui routes; ``asgi`` is the API server's own application (reads go through its handlers)."""

    def __init__(self, data_dir: str, asgi: Any) -> None:
        self.dir = Path(data_dir)
        self.asgi = asgi
        secret_path = self.dir / SECRET_FILE
        try:
            self.secret = bytes.fromhex(secret_path.read_text().strip())
        except (OSError, ValueError):
            self.secret = secrets.token_bytes(32)
            _write_private(secret_path, self.secret.hex())
        self.token = self._new_token()

    # ------------------------------------------------------------------ access

    def _new_token(self) -> str:
        token = secrets.token_urlsafe(24)
        _write_private(self.dir / TOKEN_FILE, token + "\n")
        url_path = self.dir / URL_FILE
        with contextlib.suppress(OSError):
            old = url_path.read_text().strip()
            if "?token=" in old:
                _write_private(url_path, old.split("?token=")[0] + "?token=" + quote(token) + "\n")
        return token

    def _current_token(self) -> str:
        # Another API server on the same data dir may have replaced it.
        try:
            return (self.dir / TOKEN_FILE).read_text().strip()
        except OSError:
            return self.token

    def _sign(self, expires: int) -> str:
        mac = hmac.new(self.secret, str(expires).encode(), hashlib.sha256).hexdigest()
        return f"{expires}.{mac}"

    def authorized(self, request: Request) -> bool:
        return self._valid(request.cookies.get(COOKIE, ""))

    def cookie_user(self, header: str) -> UserInfo | None:
        """The API user of a request carrying a valid session cookie (the page reads the real API)."""
        return DASHBOARD_USER if self._valid(cookie_parser(header).get(COOKIE, "")) else None

    def _valid(self, cookie: str) -> bool:
        expires, _, _mac = cookie.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(cookie, self._sign(int(expires)))

    async def login(self, request: Request) -> Response:
        given = request.query_params.get("token", "")
        current = self._current_token()
        if not given or not hmac.compare_digest(given.encode(), current.encode()):
            return PlainTextResponse("invalid or used dashboard token\n", 401)
        self.token = self._new_token()  # one-time: the next login needs the new token
        resp = RedirectResponse("/ui/", 303)
        resp.set_cookie(
            COOKIE,
            self._sign(int(time.time()) + SESSION_S),
            max_age=SESSION_S,
            path="/",
            httponly=True,
            samesite="strict",
        )
        return resp

    # ------------------------------------------------------------------ pages

    async def page(self, request: Request) -> Response:
        if not self.authorized(request):
            return PlainTextResponse("log in with the URL in DATA_DIR/dashboard-url\n", 401)
        rest = request.path_params.get("rest", "") or "index.html"
        path = (STATIC / rest).resolve()
        if STATIC.resolve() not in path.parents or not path.is_file():
            return PlainTextResponse("not found\n", 404)
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def trace(self, request: Request) -> Response:
        if not self.authorized(request):
            return PlainTextResponse("unauthorized\n", 401)
        ns = request.path_params["namespace"]
        name = request.path_params["name"]
        transport = httpx.ASGITransport(app=self.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://apiserver") as client:
            r = await client.get(f"/api/v1/namespaces/{quote(ns)}/pods/{quote(name)}")
            if r.status_code != 200:
                return Response(r.content, r.status_code, media_type="application/json")
            pod = decode_fast(Pod, r.content)
            selector = f"involvedObject.name={name},involvedObject.namespace={ns}"
            if pod.metadata and pod.metadata.uid:
                selector += f",involvedObject.uid={pod.metadata.uid}"
            r = await client.get(f"/api/v1/namespaces/{quote(ns)}/events", params={"fieldSelector": selector})
            events: list[Event] = []
            if r.status_code == 200:
                events = list(decode_fast(EventList, r.content).items or [])
        return JSONResponse(journey_json(pod, build_journey(pod, events)))

    def routes(self) -> list[Any]:
        from starlette.routing import Route

        return [
            Route("/ui", lambda request: RedirectResponse("/ui/", 307), methods=["GET"]),
            Route("/ui/login", self.login, methods=["GET"]),
            Route("/ui/api/trace/{namespace}/{name}", self.trace, methods=["GET"]),
            Route("/ui/{rest:path}", self.page, methods=["GET"]),
        ]
