"""The kubelet's logs/exec server, spoken to directly as the API server does (contract in server.py):
over HTTPS, verifying the kubelet's certificate and presenting the admin's."""

from __future__ import annotations

import json

import httpx
import websockets

from tests.kubelet.conftest import Cluster, create, pod_manifest, running


async def test_logs_and_exec_contract(cluster: Cluster) -> None:
    k = await cluster.kubelet("process")
    c = {"name": "c", "image": "x", "command": ["sh", "-c", "echo one; echo two; sleep 60"]}
    await create(cluster.client, pod_manifest("srv", k.node, c))
    await cluster.wait_pod("srv", running)
    base = f"https://127.0.0.1:{k.agent.port}"
    tls = cluster.apiserver.ssl_context()
    async with httpx.AsyncClient(verify=tls) as http:
        for _ in range(50):
            r = await http.get(f"{base}/containerLogs/default/srv/c")
            if r.text == "one\ntwo\n":
                break
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text == "one\ntwo\n"
        r = await http.get(f"{base}/containerLogs/default/srv/c", params={"tailLines": "1"})
        assert r.text == "two\n"
        r = await http.get(f"{base}/containerLogs/default/srv/c", params={"timestamps": "true"})
        assert all(line[:2] == "20" and line.endswith(("one", "two")) for line in r.text.splitlines())
        r = await http.get(f"{base}/containerLogs/default/srv/c", params={"previous": "true"})
        assert r.status_code == 400 and "previous terminated container" in r.text
        r = await http.get(f"{base}/containerLogs/default/nope/c")
        assert r.status_code == 404

    url = (
        f"wss://127.0.0.1:{k.agent.port}/exec/default/srv/c?command=sh&command=-c"
        "&command=read+x%3B+echo+got+%24x%3B+echo+err+%3E%262%3B+exit+4&stdin=true&stdout=true&stderr=true"
    )
    async with websockets.connect(
        url, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"], ssl=tls
    ) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "v5.channel.k8s.io"
        await ws.send(b"\x00hi\n")
        await ws.send(b"\xff\x00")  # v5: close stdin
        frames: dict[int, bytes] = {}
        status = None
        async for msg in ws:
            assert isinstance(msg, bytes)
            if msg[0] == 3:
                status = json.loads(msg[1:])
            else:
                frames[msg[0]] = frames.get(msg[0], b"") + msg[1:]
    assert frames[1] == b"got hi\n" and frames[2] == b"err\n"
    assert status is not None and status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]

    url = f"wss://127.0.0.1:{k.agent.port}/exec/default/srv/c?command=true&stdout=true"
    async with websockets.connect(url, subprotocols=["v4.channel.k8s.io"], ssl=tls) as ws:  # type: ignore[list-item]
        msgs = [m async for m in ws]
    assert msgs and json.loads(msgs[-1][1:]) == {"metadata": {}, "status": "Success"}
