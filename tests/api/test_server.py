"""The real server: uvicorn in a subprocess on a free 127.0.0.1 port, asked a French question.

It gets its own data dir (embedded Qdrant locks its folder) and a one-document corpus, so the
start-up ingest takes seconds; the provisioned model is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

WEB = "reseaux-cooperation-ue-integration-migrants"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, [f"{WEB}.txt"], env={"POLICYQA_API_KEYS": "server-test-key"}) as base:
        yield base


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
