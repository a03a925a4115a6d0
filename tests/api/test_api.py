"""The HTTP API (issue 5) through FastAPI's TestClient: real model, real embedded Qdrant.

One service per test session (the corpus is ingested once into the session's data dir);
apps with other settings (no keys, keys required for reads, a small upload limit) share it.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from qa.service import PolicyQAService
from tests.api.conftest import AUTH, upload
from tests.api.conftest import wait_ready as _wait_ready
from tests.llm_standin import llm_standin

PLAN = "plan-action-integration-inclusion-2021-2027"
WEB = "reseaux-cooperation-ue-integration-migrants"

UPLOAD_TEXT = (
    "Note sur l’accueil des réfugiés à Lumeville\n\n"
    "La ville de Lumeville a ouvert en 2024 un guichet unique pour l’accueil des réfugiés. "
    "Le guichet propose des cours de langue, une aide au logement et un accompagnement vers l’emploi.\n\n"
    "Le financement provient du Fonds «Asile, migration et intégration» et du Fonds social européen plus.\n"
)


# --------------------------------------------------------------------------- operations


def test_health_ready_and_openapi(client: TestClient):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True and ready.json()["documents"] >= 2
    spec = client.get("/openapi.json").json()
    examples = json.dumps(spec["components"]["schemas"]["AskRequest"], ensure_ascii=False)
    assert "Quels fonds européens soutiennent" in examples
    assert {"/ask", "/search", "/funds", "/funds/{fund}", "/documents", "/documents/{doc_id}"} <= set(
        spec["paths"]
    )


def test_not_ready_before_start_up(settings: Settings):
    app = create_app(settings, PolicyQAService(settings))
    client = TestClient(app)  # no `with`: the lifespan (model and store loading) never runs
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    r = client.post("/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?"})
    assert r.status_code == 503 and "retry" in r.json()["error"]


def test_metrics_count_requests_by_route_and_status(client: TestClient):
    client.get("/documents")
    client.get("/documents/no-such-document")
    text = client.get("/metrics").text
    assert 'policyqa_http_requests_total{method="GET",route="/documents",status="200"}' in text
    assert 'policyqa_http_requests_total{method="GET",route="/documents/{doc_id}",status="404"}' in text
    assert "policyqa_http_request_duration_seconds_bucket" in text
    assert "policyqa_http_errors_total" in text or "policyqa_http_errors" in text


# --------------------------------------------------------------------------- /ask


def test_ask_french_question_gives_cited_extractive_answer(client: TestClient):
    r = client.post(
        "/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?", "top_k": 5}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answerable"] is True and body["language"] == "fr"
    assert "plateforme de dialogue" in body["answer"]
    assert 1 <= len(body["sentences"]) <= 3
    markers = {p["marker"] for p in body["passages"]}
    assert [p["marker"] for p in body["passages"]] == list(range(1, len(body["passages"]) + 1))
    for sentence in body["sentences"]:
        (marker,) = sentence["markers"]
        assert marker in markers
        assert sentence["text"] in body["passages"][marker - 1]["text"]  # the quote is verbatim
        assert body["passages"][marker - 1]["text"][sentence["start"] : sentence["end"]] == sentence["text"]
        assert f"[{marker}]" in body["answer"]
    assert body["funds"] == []  # not a question about funding
    first = body["passages"][0]["citation"]
    assert first["doc_id"] in {PLAN, WEB} and first["title"]
    assert body["answerability"]["signals"]["best_sentence"] > 0


def test_a_question_about_the_plan_s_structure_is_answered_with_its_headings(client: TestClient):
    """Issue #16: "what are the areas of action" is answered by an outline passage's headings."""
    r = client.post(
        "/ask",
        json={
            "question": "Which cross-cutting areas of action does the plan set out as supporting "
            "integration in every sector?",
            "top_k": 5,
        },
    )
    body = r.json()
    assert body["answerable"] is True and body["passages"][0]["kind"] == "outline"
    outline = body["passages"][0]["text"]
    assert len(body["sentences"]) >= 2
    for sentence in body["sentences"]:
        assert sentence["markers"] == [1]
        assert outline[sentence["start"] : sentence["end"]] == sentence["text"]
    assert "partenariats solides" in body["answer"]


def test_a_question_asking_under_which_heading_is_answered_with_that_heading(client: TestClient):
    """Issue #16: the heading the retrieved passages sit under, quoted from the outline that
    lists it (cited first), then the best sentence under it; also in another language."""
    for question in (
        "Sous quelle rubrique le plan aborde-t-il les échanges entre nouveaux arrivants et population locale ?",
        "¿Qué apartado del capítulo de medidas transversales trata de la financiación de la UE?",
    ):
        body = client.post("/ask", json={"question": question, "top_k": 5}).json()
        assert body["answerable"] is True and body["passages"][0]["kind"] == "outline"
        heading, *rest = body["sentences"]
        outline = body["passages"][0]["text"]
        assert heading["markers"] == [1] and outline[heading["start"] : heading["end"]] == heading["text"]
        assert len(rest) == 1 and rest[0]["markers"] != [1]
        expected = "III. Encourager la participation" if question.startswith("Sous") else "II. Davantage"
        assert heading["text"].startswith(expected)
    # filtered to other kinds of passage, no outline is added: the filter holds
    body = client.post(
        "/ask", json={"question": question, "top_k": 5, "filters": {"kinds": ["passage", "footnote"]}}
    ).json()
    assert {p["kind"] for p in body["passages"]} <= {"passage", "footnote"}


def test_the_answer_step_reads_sentence_vectors_from_the_store(
    client: TestClient, service: PolicyQAService, monkeypatch: pytest.MonkeyPatch
):
    """Issue #16: the sentence vectors ingest stored are read, not encoded again, and give the
    same answer as encoding them (``client``: the service has started and indexed the corpus)."""
    question = "Qu’est-ce que le Forum européen sur la migration ?"
    hits, embedding = service.retriever.search_with_embedding(question, mode="hybrid", top_k=5, language="fr")
    answerer = service.answerer
    assert answerer.encoder is not None and answerer.sentence_store is service.retriever.store
    encoded: list[int] = []
    passages = answerer.encoder.passages
    monkeypatch.setattr(
        answerer.encoder, "passages", lambda texts: encoded.append(len(texts)) or passages(texts)
    )
    monkeypatch.setattr(answerer.encoder, "_cache", OrderedDict())  # no sentence seen before
    read = answerer.run(query=question, hits=hits, language="fr", query_embedding=embedding)["answer"]
    assert encoded == [] and read.answerable
    assert answerer.encoder.cached([s.text for s in read.sentences])  # kept for the next questions
    monkeypatch.setattr(answerer, "sentence_store", None)
    monkeypatch.setattr(answerer.encoder, "_cache", OrderedDict())
    again = answerer.run(query=question, hits=hits, language="fr", query_embedding=embedding)["answer"]
    assert encoded and again.text == read.text and again.signals == read.signals


def test_priming_encodes_nothing_when_the_store_holds_every_sentence_vector(
    client: TestClient, service: PolicyQAService
):
    """Ingest stored the sentence vectors of every passage, so the start-up priming has none to
    encode, and it finds that out without reading them."""
    assert service.retriever.store.without_sentence_vectors(10) == []
    assert service.prime_answer_cache() == 0


def test_ask_in_english_answers_from_french_text(client: TestClient):
    r = client.post(
        "/ask",
        json={
            "question": "When was the Urban Agenda partnership on the inclusion of migrants and refugees launched?"
        },
    )
    body = r.json()
    assert body["answerable"] is True and body["language"] == "en"
    assert "2016" in body["answer"]


def test_a_funding_question_lists_every_fund_its_passages_name(client: TestClient):
    body = client.post(
        "/ask",
        json={"question": "Quels fonds européens soutiennent l’intégration des migrants ?", "top_k": 5},
    ).json()
    assert body["answerable"] is True
    labels = [f["fund"] for f in body["funds"]]
    assert {"FAM", "FSE+", "FEDER"} <= set(labels), labels
    for mention in body["funds"]:
        assert mention["markers"] and client.get(f"/funds/{mention['fund']}").status_code == 200
        for marker in mention["markers"]:
            assert mention["id"] in body["passages"][marker - 1]["funds"]
    # the answer names more than the one fund its best sentence names
    named = {label for label in labels if label in body["answer"]}
    assert len(named) >= 2, body["answer"]


def test_a_question_asking_for_a_figure_the_texts_do_not_give_is_refused(client: TestClient):
    body = client.post(
        "/ask", json={"question": "Combien de centres ENIC-NARIC existe-t-il dans l’Union ?"}
    ).json()
    assert body["answerable"] is False and "figure" in body["answerability"]["reason"]
    assert (
        body["answerability"]["signals"]["typed_gap"] is None
        or body["answerability"]["signals"]["typed_gap"] > 0
    )


@pytest.mark.parametrize(
    ("question", "language", "words"),
    [
        ("What are the cod fishing quotas in the North Sea for 2024?", "en", "could not find"),
        ("Quelle part de l’électricité française provient de l’énergie nucléaire ?", "fr", "pas trouvé"),
    ],
    ids=["en", "fr"],
)
def test_ask_out_of_scope_question_is_not_answered(client: TestClient, question, language, words):
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is False and body["answer"] is None and body["sentences"] == []
    assert words in body["message"] and body["language"] == language
    assert body["passages"], "the closest passages are still shown"
    assert body["answerability"]["reason"]


def test_ask_with_document_filter_and_mode(client: TestClient):
    r = client.post(
        "/ask",
        json={
            "question": "Quel est le rôle du réseau européen d’intégration ?",
            "mode": "dense",
            "filters": {"documents": [WEB]},
        },
    )
    body = r.json()
    assert body["mode"] == "dense" and {p["citation"]["doc_id"] for p in body["passages"]} == {WEB}


def test_ask_generated_answer_with_a_stand_in_llm(client: TestClient, service: PolicyQAService):
    from qa.generator import AnswerGenerator

    with llm_standin() as server:
        service.generator = AnswerGenerator(base_url=server.url, model="standin")
        try:
            body = client.post(
                "/ask",
                json={"question": "Qu’est-ce que le Forum européen sur la migration ?", "generate": True},
            ).json()
        finally:
            service.generator = None
    generated = body["generated"]
    assert generated["markers"] == [1] and generated["removed_markers"] == [9]
    assert "[9]" not in generated["text"]
    # without an endpoint, asking for generation says how to configure one
    body = client.post(
        "/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?", "generate": True}
    ).json()
    assert body["generated"] is None and "POLICYQA_LLM_BASE_URL" in body["warnings"][0]


@pytest.mark.parametrize(
    "payload",
    [
        {"question": "   "},
        {"question": ""},
        {"question": "?!"},
        {"question": "x" * 2001},
        {"question": "Qu’est-ce que le FEM ?", "top_k": 0},
        {"question": "Qu’est-ce que le FEM ?", "top_k": 21},
        {"question": "Qu’est-ce que le FEM ?", "mode": "magic"},
        {"top_k": 3},
        {"question": "Qu’est-ce que le FEM ?", "top_k": "5"},
        {"question": "Qu’est-ce que le FEM ?", "top_k": True},
        {"question": "Qu’est-ce que le FEM ?", "top_k": 2.5},
    ],
    ids=[
        "blank",
        "empty",
        "no-letters",
        "too-long",
        "top_k-0",
        "top_k-21",
        "bad-mode",
        "missing",
        "top_k-string",
        "top_k-bool",
        "top_k-fraction",
    ],
)
def test_ask_rejects_bad_input_with_422(client: TestClient, payload):
    r = client.post("/ask", json=payload)
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith("Invalid request") and body["detail"][0]["field"]


def test_ask_takes_a_whole_float_as_top_k(client: TestClient):
    """JSON Schema counts 3.0 as an integer, so clients generated from the schema may send it."""
    r = client.post("/ask", json={"question": "Qu’est-ce que le FEM ?", "top_k": 3.0})
    assert r.status_code == 200 and len(r.json()["passages"]) == 3


def test_ask_rejects_malformed_json(client: TestClient):
    r = client.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()


def test_concurrent_questions_share_one_model(client: TestClient):
    questions = [
        "Qu’est-ce que le Forum européen sur la migration ?",
        "Que prévoit la Commission pour le logement abordable ?",
        "Which fund should focus on tailored support in the first phases of integration?",
        "Welche Umfrage will die Kommission zur Integration starten?",
    ] * 2

    def ask(q: str) -> int:
        return client.post("/ask", json={"question": q, "top_k": 3}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(ask, questions)) == [200] * len(questions)


# --------------------------------------------------------------------------- /search


def test_search_modes_and_filters(client: TestClient):
    for mode in ("bm25", "dense", "hybrid"):
        r = client.get("/search", params={"q": "Directive 2004/38/CE", "mode": mode, "top_k": 3})
        assert r.status_code == 200 and r.json()["mode"] == mode and len(r.json()["passages"]) <= 3
    bm25 = client.get("/search", params={"q": "Directive 2004/38/CE", "mode": "bm25", "top_k": 5}).json()
    assert any("2004/38/CE" in p["text"] for p in bm25["passages"])
    notes = client.get("/search", params={"q": "Eurostat", "kind": "footnote", "top_k": 5}).json()["passages"]
    assert notes and all(p["kind"] == "footnote" for p in notes)
    web = client.get("/search", params={"q": "intégration", "document": WEB}).json()["passages"]
    assert web and {p["citation"]["doc_id"] for p in web} == {WEB}
    fund = client.get("/search", params={"q": "intégration", "fund": "ESF+", "top_k": 5}).json()["passages"]
    assert fund and all(p["funds"] for p in fund)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "  "},
        {},
        {"q": "x" * 2001},
        {"q": "FEM" + "\n" * 2000},
        {"q": "FEM", "top_k": 0},
        {"q": "FEM", "top_k": 51},
        {"q": "FEM", "mode": "x"},
        {"q": "FEM", "kind": "table"},
    ],
    ids=[
        "blank",
        "missing",
        "too-long",
        "too-long-with-blanks",
        "top_k-0",
        "top_k-51",
        "bad-mode",
        "bad-kind",
    ],
)
def test_search_rejects_bad_input_with_422(client: TestClient, params):
    r = client.get("/search", params=params)
    assert r.status_code == 422 and r.json()["error"].startswith("Invalid request")


# --------------------------------------------------------------------------- /funds


def test_funds_list_counts_mentions(client: TestClient):
    funds = client.get("/funds").json()["funds"]
    assert funds and all({"id", "name", "passages", "footnotes"} <= set(f) for f in funds)
    assert any(f["passages"] > 0 for f in funds)
    assert sum(f["footnotes"] for f in funds) > 0


def test_fund_by_any_name_lists_passages_and_footnotes(client: TestClient):
    by_acronym = client.get("/funds/FSE+").json()
    by_english = client.get("/funds/ESF+").json()
    assert by_acronym["fund"]["id"] == by_english["fund"]["id"]
    assert len(by_acronym["passages"]) == by_acronym["fund"]["passages"] > 0
    fund_id = by_acronym["fund"]["id"]
    assert all(fund_id in p["funds"] for p in by_acronym["passages"] + by_acronym["footnotes"])
    assert client.get(f"/funds/{fund_id}").json()["fund"]["id"] == fund_id


def test_unknown_fund_is_404(client: TestClient):
    r = client.get("/funds/fonds-imaginaire")
    assert r.status_code == 404 and "GET /funds" in r.json()["error"]


# --------------------------------------------------------------------------- /documents


def test_documents_list_and_detail(client: TestClient, doc_ids):
    assert {PLAN, WEB} <= doc_ids()
    detail = client.get(f"/documents/{WEB}").json()
    assert detail["document"]["doc_id"] == WEB and detail["document"]["passages"] > 0
    kinds = [p["kind"] for p in detail["passages"]]
    assert kinds and kinds == sorted(kinds, key=lambda k: k != "passage")  # body first, then footnotes
    r = client.get("/documents/nothing-here")
    assert r.status_code == 404 and "GET /documents" in r.json()["error"]


def test_citations_carry_the_documents_reference_and_pages(client: TestClient):
    """Issue #18: every citation gives the document's reference, date, address and publisher
    (corpus/sources.json), and the action plan's passages their page in its PDF."""
    body = client.post(
        "/ask",
        json={
            "question": "Quel rôle l’Agence des droits fondamentaux jouera-t-elle dans le suivi de l’intégration ?",
            "filters": {"documents": [PLAN]},
        },
    ).json()
    assert body["passages"]
    for passage in body["passages"]:
        citation = passage["citation"]
        assert citation["doc_id"] == PLAN
        assert citation["reference"] == "COM(2020) 758 final"
        assert citation["date"] == "2020-11-24"
        assert citation["source_url"].startswith("https://eur-lex.europa.eu/")
        assert citation["publisher"] == "Commission européenne"
        assert 1 <= citation["page_start"] <= citation["page_end"] <= 24
        for ref in passage["cited_by"]:
            assert ref["citation"]["reference"] == "COM(2020) 758 final"
    # pages checked by hand on the PDF: a passage across the break of pages 22-23, a footnote of page 20
    detail = client.get(f"/documents/{PLAN}").json()["passages"]
    (agency,) = [
        p for p in detail if "L’Agence des droits fondamentaux de l’Union européenne jouera" in p["text"]
    ]
    assert (agency["citation"]["page_start"], agency["citation"]["page_end"]) == (22, 23)
    (note58,) = [
        p for p in detail if p["kind"] == "footnote" and p["text"].startswith("Voir les résultats de l’Euro")
    ]
    assert (note58["citation"]["page_start"], note58["citation"]["page_end"]) == (20, 20)
    assert all(p["citation"]["reference"] == "COM(2020) 758 final" for p in detail)
    # a document with no reference in sources.json: null, not missing
    web = client.get("/search", params={"q": "réseau européen d’intégration", "document": WEB}).json()
    assert web["passages"]
    for passage in web["passages"]:
        citation = passage["citation"]
        assert citation["reference"] is None and citation["date"] is None
        assert citation["publisher"] == "Commission européenne" and citation["source_url"]
        assert citation["page_start"] is None
    # the listing shows them once per document
    documents = {d["doc_id"]: d for d in client.get("/documents").json()["documents"]}
    plan = documents[PLAN]
    assert plan["metadata"]["reference"] == "COM(2020) 758 final"
    assert plan["metadata"]["date"] == "2020-11-24" and plan["metadata"]["source_url"]
    assert plan["pages"] == 24 and plan["metadata"]["pages_from"] == f"pdf/{PLAN}.pdf"


def test_upload_update_and_delete_a_text_document(client: TestClient, doc_ids):
    name, data = "note-lumeville.txt", UPLOAD_TEXT.encode("utf-8")
    status, added = upload(client, name, data, content_type="text/plain")
    assert status == 200, added
    assert added["status"] == "added" and added["passages"] > 0
    doc_id = added["doc_id"]
    assert doc_id == "upload-note-lumeville"  # uploads have their own id space
    try:
        assert doc_id in doc_ids()
        # the id is taken: replacing it must be asked for
        status, error = upload(client, name, data)
        assert status == 409 and "replace=true" in error["error"]
        status, again = upload(client, name, data, replace=True)
        assert (status, again["status"]) == (200, "unchanged")
        changed = UPLOAD_TEXT + "\nLe guichet est ouvert le samedi matin.\n"
        status, updated = upload(client, name, changed.encode("utf-8"), replace=True)
        assert (status, updated["status"]) == (200, "updated")
        body = client.post(
            "/ask",
            json={
                "question": "Quand le guichet de Lumeville est-il ouvert ?",
                "filters": {"documents": [doc_id]},
            },
        ).json()
        assert body["passages"] and body["passages"][0]["citation"]["doc_id"] == doc_id
        assert body["passages"][0]["citation"]["source_path"] == f"uploads/{doc_id}.txt"
        for field in ("reference", "date", "source_url", "publisher", "page_start", "page_end"):
            assert body["passages"][0]["citation"][field] is None  # no sources.json entry, no PDF
    finally:
        r = client.delete(f"/documents/{doc_id}", headers=AUTH)
    assert r.status_code == 200 and r.json()["removed_points"] > 0
    assert doc_id not in doc_ids()
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.delete(f"/documents/{doc_id}", headers=AUTH).status_code == 404


def test_upload_latin1_text_is_decoded(client: TestClient):
    data = UPLOAD_TEXT.replace("’", "'").encode("latin-1")
    status, body = upload(client, "note-latin1.txt", data, content_type="text/plain")
    assert status in (200, 422), body
    if status == 200:
        doc_id = body["doc_id"]
        text = " ".join(p["text"] for p in client.get(f"/documents/{doc_id}").json()["passages"])
        client.delete(f"/documents/{doc_id}", headers=AUTH)
        assert "réfugiés" in text
    else:
        assert "UTF-8" in body["error"] or "encod" in body["error"].lower()


def test_upload_pdf(client: TestClient):
    from pypdf import PdfReader, PdfWriter

    from tests.conftest import CORPUS

    reader = PdfReader(CORPUS / "pdf" / f"{PLAN}.pdf")
    writer = PdfWriter()
    for page in reader.pages[:2]:
        writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    status, body = upload(client, "extrait-plan.pdf", buf.getvalue(), content_type="application/pdf")
    assert status == 200, body
    assert body["doc_id"] == "upload-extrait-plan"
    client.delete(f"/documents/{body['doc_id']}", headers=AUTH)


def _encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("rapport.docx", b"PK\x03\x04 not really a docx", 415),
        ("image.png", b"\x89PNG\r\n\x1a\n", 415),
        ("sans-extension", b"du texte", 415),
        ("vide.txt", b"", 422),
        ("blanc.txt", b"   \n\n  ", 422),
        ("vide.pdf", b"", 422),
        ("casse.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", 422),
        ("pas-un-pdf.pdf", b"Bonjour, je ne suis pas un PDF.", 422),
        ("chiffre.pdf", _encrypted_pdf(), 422),
    ],
    ids=[
        "docx",
        "png",
        "no-extension",
        "empty-txt",
        "blank-txt",
        "empty-pdf",
        "corrupt-pdf",
        "not-a-pdf",
        "encrypted-pdf",
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(client: TestClient, doc_ids, name, data, status):
    """Refused at once (type, empty file) or by the job (unreadable content), with the same status."""
    before = doc_ids()
    got, body = upload(client, name, data)
    assert got == status, body
    assert body["error"] and not body["error"].startswith("Internal error")
    assert doc_ids() == before


def test_upload_over_the_size_limit_is_413(client: TestClient, doc_ids):
    before = doc_ids()
    limit = client.app.state.settings.max_upload_bytes
    big = b"a" * (limit + 1)
    r = client.post("/documents", files={"file": ("gros.txt", big, "text/plain")}, headers=AUTH)
    assert r.status_code == 413 and "25 MB" in r.json()["error"]
    assert doc_ids() == before


def test_small_upload_limit_checks_the_streamed_body(api_settings: Settings, service: PolicyQAService):
    small = api_settings.model_copy(update={"max_upload_bytes": 1024})
    with TestClient(create_app(small, service)) as client:
        _wait_ready(client)
        just_over = client.post(
            "/documents", files={"file": ("a.txt", b"a" * 1025, "text/plain")}, headers=AUTH
        )
        assert just_over.status_code == 413
        # far over: refused from the body stream, before any parsing
        huge = client.post(
            "/documents", files={"file": ("a.txt", b"a" * 200_000, "text/plain")}, headers=AUTH
        )
        assert huge.status_code == 413 and "error" in huge.json()


# --------------------------------------------------------------------------- keys


def test_writes_need_a_key(client: TestClient):
    files = {"file": ("note.txt", UPLOAD_TEXT.encode(), "text/plain")}
    assert client.post("/documents", files=files).status_code == 401
    assert client.post("/documents", files=files, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.delete(f"/documents/{WEB}").status_code == 401
    assert client.get("/documents").status_code == 200  # reads are open by default


def test_writes_refused_when_no_key_is_configured(settings: Settings, service: PolicyQAService):
    no_keys = settings.model_copy(update={"api_keys": []})
    with TestClient(create_app(no_keys, service)) as client:
        _wait_ready(client)
        r = client.delete(f"/documents/{WEB}", headers=AUTH)
        assert r.status_code == 403 and "POLICYQA_API_KEYS" in r.json()["error"]
        files = {"file": ("note.txt", UPLOAD_TEXT.encode(), "text/plain")}
        assert client.post("/documents", files=files, headers=AUTH).status_code == 403
        assert client.get(f"/documents/{WEB}").status_code == 200


def test_reads_can_require_a_key(api_settings: Settings, service: PolicyQAService):
    closed = api_settings.model_copy(update={"read_requires_key": True})
    with TestClient(create_app(closed, service)) as client:
        _wait_ready(client, headers=AUTH)
        assert client.get("/documents").status_code == 401
        assert client.get("/search", params={"q": "FEM"}).status_code == 401
        assert client.get("/documents", headers=AUTH).status_code == 200
        assert client.get("/health").status_code == 200
        # every route but /health, operations and documentation included
        for path in ("/metrics", "/ready", "/openapi.json", "/docs", "/funds", f"/documents/{WEB}"):
            r = client.get(path)
            assert r.status_code == 401 and "X-API-Key" in r.json()["error"], path
            assert client.get(path, headers=AUTH).status_code == 200, path
        r = client.post("/ask", json={"question": "Qu’est-ce que le FEM ?"})
        assert r.status_code == 401
        assert (
            client.post("/ask", json={"question": "Qu’est-ce que le FEM ?"}, headers=AUTH).status_code == 200
        )
        # the web page loads without a key, to ask for one
        assert client.get("/").status_code == 200 and client.get("/app.js").status_code == 200


# --------------------------------------------------------------------------- errors


def test_unknown_route_and_method_are_json(client: TestClient):
    r = client.get("/nowhere")
    assert r.status_code == 404 and "/docs" in r.json()["error"]
    r = client.put("/ask", json={})
    assert r.status_code == 405 and "error" in r.json()


def test_a_real_bug_gives_a_logged_json_500(settings: Settings, service: PolicyQAService):
    app = create_app(settings, service)

    def broken() -> dict:
        raise RuntimeError("bug")

    app.add_api_route("/broken", broken)
    app.router.routes.insert(0, app.router.routes.pop())  # before the static mount at /
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/broken")
    assert r.status_code == 500 and "bug in the service" in r.json()["error"]


def test_lifespan_loader_thread_finishes(client: TestClient):
    loader: threading.Thread = client.app.state.loader
    assert not loader.is_alive()


def test_loading_warms_the_language_detector(client: TestClient, settings: Settings) -> None:
    """lingua loads its models on first use (2.7 s here): the service pays it when it loads,
    not its first user (with an index already built, start-up ingests nothing)."""
    from core.languages import _detector

    _detector.cache_clear()
    PolicyQAService(settings).load()
    assert _detector.cache_info().currsize == 1
