"""The dashboard at /ui: access by one-time token, the journey JSON, and the page in real headless Chromium
on a `skiff up --runtime process` cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skiff.api.core import Pod
from skiff.apiserver.ui import journey_json
from skiff.trace import build_journey
from tests.e2e.cluster import UpProcess
from tests.fixtures.apiserver import APIServerHandle
from tests.fixtures.chromium import Browser, png_colors
from tests.test_trace import POD, event


def test_ui_needs_the_one_time_token(apiserver: APIServerHandle) -> None:
    token_file = Path(apiserver.data_dir) / "dashboard-token"
    token = token_file.read_text().strip()
    with apiserver.client() as client:
        assert client.get("/ui/").status_code == 401
        assert client.get("/ui/app.js").status_code == 401
        assert client.get("/ui/api/trace/default/x").status_code == 401
        assert client.get("/ui/login", params={"token": "wrong"}).status_code == 401
        r = client.get("/ui/login", params={"token": token})
        assert r.status_code == 303 and r.headers["location"] == "/ui/"
        page = client.get("/ui/")
        assert page.status_code == 200 and "skiff dashboard" in page.text
        assert client.get("/ui/api/trace/default/missing").status_code == 404
    # The token was used: it no longer logs in, and the file holds its successor.
    assert httpx.get(f"{apiserver.url}/ui/login", params={"token": token}, **apiserver.tls).status_code == 401
    assert token_file.read_text().strip() != token


def test_journey_json_is_trace_steps_with_their_arrows() -> None:
    from skiff.api.codec import from_builtins

    pod = from_builtins(Pod, POD)
    events = [event("Scheduled", "2026-11-27T10:00:00.200000Z"), event("Started", "2026-11-27T10:00:02.5Z")]
    steps = build_journey(pod, events)
    out = journey_json(pod, steps)
    assert [s["what"] for s in out["steps"]] == [s.what for s in steps]
    arrows = {(s["what"]): (s["from"], s["to"]) for s in out["steps"]}
    assert arrows["created through the API server"] == ("user", "apiserver")
    assert arrows["binding written"] == ("scheduler", "apiserver")
    assert arrows["container started"] == ("kubelet", "docker")
    assert arrows["status reported Ready"] == ("kubelet", "apiserver")
    started = next(s for s in out["steps"] if s["what"] == "container started")
    assert started["deltaMs"] == 2500


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[UpProcess]:
    up = UpProcess(tmp_path / "cluster", nodes=2, runtime="process")
    up.start()
    try:
        yield up
    finally:
        up.stop()


def test_dashboard_in_chromium_follows_a_new_pod(cluster: UpProcess) -> None:
    url = (cluster.data_dir / "dashboard-url").read_text().strip()
    assert "dashboard: " + url in cluster.output()
    browser = Browser(trust_pem=cluster.data_dir / "pki" / "apiserver-127.0.0.1.pem")
    try:
        browser.navigate(url)
        browser.wait_for(
            "document.querySelectorAll('.node[data-node^=\"node-\"]').length === 2", what="both nodes listed"
        )
        text = browser.evaluate("document.getElementById('nodes').innerText")
        assert "node-1" in text and "node-2" in text and "cpu" in text

        core = cluster.core()
        core.create_namespaced_pod(
            "default",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "watched"},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox",
                            "command": ["sleep", "300"],
                            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        )
        browser.wait_for("document.querySelector('.pod[data-key=\"default/watched\"]')", what="pod appears")
        browser.wait_for(
            'document.querySelector(\'.pod[data-key="default/watched"][data-phase="Running"]\')',
            what="pod shown Running",
        )
        # Every update reached the page through a watch, not a reload.
        assert browser.evaluate("window.skiffUI.stats.events") > 0

        browser.evaluate("document.querySelector('.pod[data-key=\"default/watched\"]').click()")
        seen = browser.wait_for(
            "(() => { const s = document.querySelector('#journey svg'); return s"
            " && Number(s.dataset.arrows) >= 9 && Number(s.dataset.seen) >= 6 && s.dataset.seen; })()",
            what="journey drawn",
        )
        assert int(seen) >= 6
        labels = browser.evaluate("document.getElementById('journey').textContent")
        assert "API server" in labels and "scheduler" in labels and "binding written" in labels
        assert " ms" in labels

        png = browser.screenshot()
        assert png_colors(png) > 20
        (cluster.data_dir.parent / "dashboard.png").write_bytes(png)
    finally:
        browser.close()
