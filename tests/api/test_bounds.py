"""Every request's work is bounded, and bad input gets a clear answer (issue "Nothing lost,
nothing blocked", items 2, 5 and 6), on the real app over a stand-in service: no model, no index.

The stand-in answers at once, or blocks until its request's budget is cancelled, so time
budgets and disconnections are tested without timing: each test waits on events, bounded.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from index.types import SearchFilters
from qa import budget
from qa.results import Answer, Citation, CitedPassage, DocumentInfo, SearchResult, UploadOutcome
from qa.service import PolicyQAService, PreparedUpload
from qa.uploads import DocumentExists
from tests.api.conftest import AUTH, KEY, upload
from tests.api.pdfs import text_pdf

#: Bounds every wait of these tests (they end as soon as the event happens).
WAIT_S = 30.0
QUESTION = "Qu’est-ce que le Forum européen sur la migration ?"


class StandIn(PolicyQAService):
    """The service's HTTP-facing calls without a model: records what it was asked."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.ready = True
        self.known = {"doc-a", "doc-b"}
        self.asked: list[Any] = []
        self.block = False  # ask() waits for its budget to be cancelled
        self.stopped = threading.Event()  # set when a blocked ask() saw the cancellation
        self.stops = threading.Semaphore(0)  # released once per stopped ask()
        self.stop_reason = ""
        self.release = threading.Event()  # ingest_prepared() waits for it
        self.records: dict[str, dict] = {}

    def _passage(self, path: str) -> CitedPassage:
        citation = Citation(doc_id="doc-a", title="A", section_path=[], start=0, end=4, source_path=path)
        return CitedPassage(marker=1, id="p1", kind="passage", text="Texte", score=1.0, citation=citation)

    def ask(self, request):  # type: ignore[no-untyped-def]
        self.asked.append(request)
        if self.block:
            current = budget.current()
            assert current is not None, "ask() runs under a budget"
            current.wait_cancelled(WAIT_S)
            try:
                budget.check("the stand-in's next stage")
            except budget.BudgetExceeded:
                self.stop_reason = current.reason
                self.stopped.set()
                self.stops.release()
                raise
        corpus_file = str(Path(self.settings.corpus_dir) / "sub" / "a.txt")
        return Answer(
            question=request.question,
            language="fr",
            mode="hybrid",
            answerable=False,
            passages=[self._passage(corpus_file)],
        )

    def search(self, query, mode=None, top_k=10, filters=None):  # type: ignore[no-untyped-def]
        self.asked.append(filters)
        return SearchResult(query=query, mode=mode or "hybrid", passages=[self._passage("/srv/x/y.txt")])

    def known_documents(self, doc_ids: list[str]) -> list[str]:
        return [d for d in doc_ids if d in self.known]

    def documents(self) -> list[DocumentInfo]:
        corpus = Path(self.settings.corpus_dir)
        return [
            DocumentInfo(doc_id="doc-a", source_path=str(corpus / "sub" / "a.txt")),
            DocumentInfo(doc_id="upload-b", source_path="uploads/upload-b.pdf"),
            DocumentInfo(doc_id="beir", source_path="/elsewhere/corpus.jsonl#d1"),
        ]

    def document_count(self) -> int:
        return 3

    def _check_replace(self, doc_id: str, name: str, replace: bool) -> None:
        if doc_id in self.records and not replace:
            raise DocumentExists(f"{doc_id} exists: send replace=true")

    def ingest_prepared(self, upload: PreparedUpload) -> UploadOutcome:
        if upload.name.startswith("slow"):
            assert self.release.wait(WAIT_S)
            self.records[upload.doc_id] = {}
            return UploadOutcome(upload.doc_id, "added", "t", 1, 0)
        return super().ingest_prepared(upload)  # reads and chunks; the limits come before indexing


@pytest.fixture()
def standin(tmp_path: Path) -> StandIn:
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=tmp_path / "corpus",
        api_keys=[KEY],
        request_time_budget_s=0.5,
        max_upload_pages=3,
        max_upload_passages=4,
        max_pending_uploads=2,
        qdrant_url=None,
    )
    return StandIn(settings)


@pytest.fixture()
def api(standin: StandIn) -> TestClient:
    return TestClient(create_app(standin.settings, standin))  # no lifespan: nothing to load


# --------------------------------------------------------------------------- filter lists


@pytest.mark.parametrize("field", ["documents", "funds", "kinds", "languages"])
def test_filter_lists_are_capped_at_50_values(api: TestClient, standin: StandIn, field: str):
    value = "passage" if field == "kinds" else "x"
    r = api.post("/ask", json={"question": QUESTION, "filters": {field: [value] * 51}})
    assert r.status_code == 422
    assert f"filters.{field}: at most 50 values are allowed, 51 were sent" in r.json()["error"]
    assert not standin.asked
    ok = api.post("/ask", json={"question": QUESTION, "filters": {field: [value] * 50}})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("param", ["document", "fund", "kind"])
def test_repeated_search_parameters_are_capped(api: TestClient, param: str):
    value = "footnote" if param == "kind" else "x"
    r = api.get("/search", params={"q": "FEM", param: [value] * 51})
    assert r.status_code == 422 and "at most 50 values" in r.json()["error"]
    assert api.get("/search", params={"q": "FEM", param: [value] * 50}).status_code == 200


def test_filters_are_deduplicated_and_unknown_documents_dropped(api: TestClient, standin: StandIn):
    filters = {"documents": ["doc-b", "nope", "doc-b", "doc-a"], "funds": ["FSE+", "FSE+"]}
    assert api.post("/ask", json={"question": QUESTION, "filters": filters}).status_code == 200
    sent: SearchFilters = standin.asked[-1].filters
    assert sent.doc_ids == ["doc-b", "doc-a"] and sent.funds == ["FSE+"]
    # none known: one stays, so that the filter still matches nothing ("no filter" would match all)
    api.post("/ask", json={"question": QUESTION, "filters": {"documents": ["nope", "nope2"]}})
    assert standin.asked[-1].filters.doc_ids == ["nope"]
    api.get("/search", params={"q": "FEM", "document": ["doc-a", "zz", "doc-a"]})
    assert standin.asked[-1].doc_ids == ["doc-a"]


# --------------------------------------------------------------------------- time budget


def test_a_question_past_its_time_budget_is_stopped_with_a_503(api: TestClient, standin: StandIn):
    standin.block = True  # ask() only ends when its budget is cancelled
    r = api.post("/ask", json={"question": QUESTION})
    assert r.status_code == 503 and "0.5 s time budget" in r.json()["error"]
    assert r.headers["retry-after"]
    # the work itself was told to stop, and stopped at its next check
    assert standin.stopped.wait(WAIT_S)
    assert "time budget ran out" in standin.stop_reason


def test_a_flood_of_slow_questions_is_answered_and_every_worker_freed(api: TestClient, standin: StandIn):
    """32 questions at once, none of which would ever finish: each gets its 503 when its budget
    runs out, and each worker thread stops (none is left behind holding a thread)."""
    standin.block = True
    flood = 32
    with ThreadPoolExecutor(max_workers=flood) as pool:
        statuses = list(
            pool.map(lambda _: api.post("/ask", json={"question": QUESTION}).status_code, range(flood))
        )
    assert statuses == [503] * flood
    for _ in range(flood):
        assert standin.stops.acquire(timeout=WAIT_S)
    standin.block = False
    assert api.post("/ask", json={"question": QUESTION}).status_code == 200  # and service goes on


def test_a_question_whose_client_disconnects_is_stopped(standin: StandIn):
    """Straight through ASGI: the client sends its question, then is gone."""
    standin.settings.request_time_budget_s = WAIT_S  # only the disconnection can stop it
    standin.block = True
    app = create_app(standin.settings, standin)
    body = f'{{"question": "{QUESTION}"}}'.encode()
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/ask",
        "raw_path": b"/ask",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert standin.stopped.wait(WAIT_S)
    assert standin.stop_reason == "the client disconnected"
    assert sent[0]["status"] == 499  # written to nobody


def test_time_budget_is_checked_between_stages():
    b = budget.Budget(60)
    with budget.running_under(b):
        budget.check("retrieval")  # within budget: goes on
        b.cancel("the client disconnected")
        with pytest.raises(budget.BudgetExceeded, match="Stopped before the answer: the client disconnected"):
            budget.check("the answer")
    budget.check("anything")  # outside a request: no budget, never stops
    expired = budget.Budget(0.0)
    with pytest.raises(budget.BudgetExceeded, match="time budget ran out"):
        expired.check("retrieval")


# --------------------------------------------------------------------------- uploads


def test_a_pdf_with_too_many_pages_is_refused_before_parsing(api: TestClient):
    status, body = upload(api, "gros.pdf", text_pdf(["Une ligne de texte assez longue."], pages=4))
    assert status == 413
    assert "4 pages" in body["error"] and "at most 3" in body["error"]
    assert "POLICYQA_MAX_UPLOAD_PAGES" in body["error"]


def test_an_upload_with_too_many_passages_fails_its_job(api: TestClient):
    text = "\n\n".join(f"Paragraphe {i} : le guichet de Lumeville aide les réfugiés." * 40 for i in range(30))
    status, body = upload(api, "long.txt", text.encode())
    assert status == 413, body
    assert "passages" in body["error"] and "POLICYQA_MAX_UPLOAD_PASSAGES" in body["error"]
    assert body["type"] == "DocumentTooLarge"


def test_one_job_at_a_time_per_document_and_a_bounded_queue(api: TestClient, standin: StandIn):
    first = api.post("/documents", files={"file": ("slow.txt", b"texte", "text/plain")}, headers=AUTH)
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["doc_id"] == "upload-slow" and job["status"] in ("queued", "running")
    again = api.post("/documents", files={"file": ("Slow.md", b"texte", "text/plain")}, headers=AUTH)
    assert again.status_code == 409 and job["job_id"] in again.json()["error"]
    other = api.post("/documents", files={"file": ("slow-2.txt", b"x", "text/plain")}, headers=AUTH)
    assert other.status_code == 202  # another document: queued behind the first
    third = api.post("/documents", files={"file": ("slow-3.txt", b"x", "text/plain")}, headers=AUTH)
    assert third.status_code == 429 and "POLICYQA_MAX_PENDING_UPLOADS" in third.json()["error"]
    assert third.headers["retry-after"]
    standin.release.set()
    for accepted in (job, other.json()):
        assert standin.jobs.get(accepted["job_id"]).wait(WAIT_S)  # type: ignore[union-attr]
        done = api.get(accepted["status_url"], headers=AUTH).json()
        assert done["status"] == "done" and done["result"]["status"] == "added"
        assert done["started_at"] and done["finished_at"]
    # the document exists now: a second upload needs replace=true
    status, body = upload(api, "slow.txt", b"texte")
    assert status == 409 and "replace=true" in body["error"]
    assert upload(api, "slow.txt", b"texte", replace=True)[0] == 200


def test_jobs_need_the_write_key_and_unknown_jobs_are_404(api: TestClient):
    assert api.get("/jobs/nope").status_code == 401
    r = api.get("/jobs/nope", headers=AUTH)
    assert r.status_code == 404 and "No job" in r.json()["error"]


def test_a_nul_in_the_file_name_is_a_clear_422(api: TestClient):
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="note\x00.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nBonjour\r\n--XyZ--\r\n"
    )
    r = api.post(
        "/documents",
        content=body,
        headers={**AUTH, "content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 422
    assert "NUL character" in r.json()["error"] and "rename the file" in r.json()["error"]


# --------------------------------------------------------------------------- bad requests


def test_a_json_syntax_error_names_the_body_and_the_position(api: TestClient):
    r = api.post("/ask", content=b'{"question": "FEM",}', headers={"content-type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["field"] == "body"
    assert "not valid JSON at character 19" in body["error"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"]
)
def test_a_body_that_is_not_json_is_415(api: TestClient, standin: StandIn, content_type: str):
    r = api.post(
        "/ask", content=f'{{"question": "{QUESTION}"}}'.encode(), headers={"content-type": content_type}
    )
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert not standin.asked
    assert api.post("/ask", json={"question": QUESTION}).status_code == 200  # JSON still works


@pytest.mark.parametrize("question", ["?!", "…", "— « » —", "   ?  "])
def test_a_question_without_a_letter_or_digit_is_refused(api: TestClient, standin: StandIn, question: str):
    r = api.post("/ask", json={"question": question})
    assert r.status_code == 422 and not standin.asked


# --------------------------------------------------------------------------- paths


def test_source_paths_are_relative_in_responses(api: TestClient):
    answer = api.post("/ask", json={"question": QUESTION}).json()
    assert answer["passages"][0]["citation"]["source_path"] == "sub/a.txt"
    found = api.get("/search", params={"q": "FEM"}).json()
    assert found["passages"][0]["citation"]["source_path"] == "y.txt"  # outside every folder: the name
    paths = {d["doc_id"]: d["source_path"] for d in api.get("/documents").json()["documents"]}
    assert paths == {"doc-a": "sub/a.txt", "upload-b": "uploads/upload-b.pdf", "beir": "corpus.jsonl#d1"}


def test_start_up_failures_are_told_without_the_exception(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, api_keys=[KEY])
    svc = PolicyQAService(settings)
    svc.load_error = "RuntimeError: secret /srv/policy/path exploded"
    test_client = TestClient(create_app(settings, svc))
    ready = test_client.get("/ready")
    assert ready.status_code == 503 and ready.json()["detail"] == "start-up failed, see the server log"
    r = test_client.get("/documents")
    assert r.status_code == 503 and "start-up failed, see the server log" in r.json()["error"]
    assert "secret" not in ready.text + r.text
