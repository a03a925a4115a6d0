"""The real server: uvicorn in a subprocess on a free 127.0.0.1 port, asked a French question.

It gets its own data dir (embedded Qdrant locks its folder) and a one-document corpus, so the
start-up ingest takes seconds; the provisioned model is shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, SHARED_MODELS

WEB = "reseaux-cooperation-ue-integration-migrants"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def server(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / f"{WEB}.txt", corpus)
    port = _free_port()
    env = {
        **os.environ,
        "POLICYQA_DATA_DIR": str(tmp_path / "data"),
        "POLICYQA_MODELS_DIR": str(SHARED_MODELS),
        "POLICYQA_CORPUS_DIR": str(corpus),
        "POLICYQA_API_KEYS": "server-test-key",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("QDRANT_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {(tmp_path / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready: {(tmp_path / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_server_answers_a_french_question(server: str):
    with httpx.Client(base_url=server, timeout=120) as client:
        assert client.get("/health").json() == {"status": "ok"}
        docs = client.get("/documents").json()["documents"]
        assert [d["doc_id"] for d in docs] == [WEB]
        r = client.post("/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["answerable"] is True and "plateforme de dialogue" in body["answer"]
        assert body["passages"][0]["citation"]["doc_id"] == WEB
        metrics = client.get("/metrics").text
        assert 'route="/ask",status="200"' in metrics
