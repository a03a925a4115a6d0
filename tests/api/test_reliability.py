"""Nothing lost, nothing blocked: the real service (model, embedded Qdrant) through the app.

* Questions keep being answered while an upload is ingested and a document deleted (the Edge
  store is thread-safe: every call holds the GIL); four threads count zero errors.
* Uploads have their own ids, one kept copy each, and relative source paths.
* An interrupted deletion is completed from the kept copy; kept copies are re-ingested under
  the ids they were uploaded with.

Loops are bounded by counts, waits by events: nothing here depends on timing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from core.settings import Settings
from index.indexing import Indexer
from qa.service import PolicyQAService
from tests.api.conftest import AUTH, upload
from tests.api.pdfs import text_pdf
from tests.isolated import isolated_settings, own_store

WEB = "reseaux-cooperation-ue-integration-migrants"
WAIT_S = 300.0

NOTE = (
    "Note sur le guichet de Brumecourt\n\n"
    "La commune de Brumecourt a ouvert en 2023 un guichet pour l’accueil des personnes réfugiées. "
    "Le guichet propose des cours de français, une aide au logement et un accompagnement vers l’emploi.\n\n"
    "Le guichet est financé par le Fonds «Asile, migration et intégration».\n"
)


def _kept(settings: Settings, doc_id: str) -> list[str]:
    folder = settings.uploads_dir
    return sorted(p.name for p in folder.glob(f"{doc_id}.*")) if folder.is_dir() else []


# --------------------------------------------------------------------------- reads during writes


def test_questions_never_fail_during_an_upload_and_a_delete(client: TestClient, service: PolicyQAService):
    questions = [
        {"question": "Qu’est-ce que le Forum européen sur la migration ?", "top_k": 3},
        {"question": "Quand le guichet de Brumecourt a-t-il ouvert ?", "top_k": 3},
        # a filter on the document being added then removed, and on one that stays
        {
            "question": "Que propose le guichet de Brumecourt ?",
            "filters": {"documents": ["upload-brumecourt", WEB]},
        },
        {"question": "Which fund finances the Brumecourt desk?", "mode": "bm25"},
    ]
    readers_n, least, most = 4, 3, 500  # each reader: at least 3 questions, at most 500
    errors: list[tuple[int, str]] = []
    asked = [0] * readers_n
    during = [0] * readers_n  # questions sent while the writes went on
    reading = threading.Barrier(readers_n + 1)  # the writes start once every reader has asked once
    written = threading.Event()
    outcome: dict[str, object] = {}

    def ask(i: int, n: int) -> None:
        r = client.post("/ask", json=questions[(i + n) % len(questions)])
        if r.status_code != 200:
            errors.append((r.status_code, r.text[:300]))

    def reader(i: int) -> None:
        ask(i, 0)
        reading.wait(WAIT_S)
        n = 1
        # every reader keeps asking until the writes are over: they overlap them all
        while n < least or (not written.is_set() and n < most):
            during[i] += not written.is_set()
            ask(i, n)
            n += 1
        asked[i] = n

    def writer() -> None:
        reading.wait(WAIT_S)
        try:
            # added, then updated (new points written, old ones deleted), then deleted
            outcome["add"] = upload(client, "Brumecourt.txt", NOTE.encode(), replace=True)
            changed = NOTE.replace("en 2023", "en 2022").encode()
            outcome["update"] = upload(client, "Brumecourt.txt", changed, replace=True)
            outcome["delete"] = client.delete("/documents/upload-brumecourt", headers=AUTH).status_code
        finally:
            written.set()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers_n)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(t.is_alive() for t in threads)
    status, added = outcome["add"]  # type: ignore[misc]
    assert status == 200 and added["status"] == "added", added
    assert outcome["update"][1]["status"] == "updated", outcome["update"]  # type: ignore[index]
    assert outcome["delete"] == 200
    assert errors == [], f"{len(errors)} of {sum(asked)} questions failed: {errors[:3]}"
    print(f"{sum(during)} questions during an upload, an update and a delete; none failed")


# --------------------------------------------------------------------------- upload ids and copies


def test_an_upload_never_takes_a_corpus_documents_id(client: TestClient, doc_ids):
    before = {d["doc_id"]: d for d in client.get("/documents").json()["documents"]}
    status, body = upload(client, f"{WEB}.txt", NOTE.encode())
    assert status == 200, body
    assert body["doc_id"] == f"upload-{WEB}" != WEB
    try:
        after = {d["doc_id"]: d for d in client.get("/documents").json()["documents"]}
        assert after[WEB] == before[WEB]  # the corpus document is untouched
        assert after[WEB]["source_path"] == f"{WEB}.txt"  # relative to the corpus folder
        assert all(not d["source_path"].startswith("/") for d in after.values())
    finally:
        client.delete(f"/documents/upload-{WEB}", headers=AUTH)


def test_the_same_name_in_another_format_needs_replace(client: TestClient, service: PolicyQAService):
    settings = service.settings
    status, body = upload(client, "guichet-brumecourt.txt", NOTE.encode())
    doc_id = body["doc_id"]
    assert (status, doc_id) == (200, "upload-guichet-brumecourt"), body
    try:
        assert _kept(settings, doc_id) == [f"{doc_id}.txt"]
        pdf = text_pdf(NOTE.replace("’", "'").splitlines())
        status, error = upload(client, "Guichet Brumecourt.pdf", pdf)
        assert status == 409 and "replace=true" in error["error"]
        status, replaced = upload(client, "Guichet Brumecourt.pdf", pdf, replace=True)
        assert (status, replaced["status"]) == (200, "updated"), replaced
        assert _kept(settings, doc_id) == [f"{doc_id}.pdf"]  # one copy per document
        record = client.get(f"/documents/{doc_id}").json()
        assert record["document"]["source_path"] == f"uploads/{doc_id}.pdf"
        assert record["document"]["source_format"] == "pdf"
        cited = {p["citation"]["source_path"] for p in record["passages"]}
        assert cited == {f"uploads/{doc_id}.pdf"}
    finally:
        assert client.delete(f"/documents/{doc_id}", headers=AUTH).status_code == 200
    assert _kept(settings, doc_id) == []  # a deleted upload leaves no copy to be re-ingested


def test_a_pdf_uploaded_as_text_is_read_as_a_pdf(client: TestClient, service: PolicyQAService):
    pdf = text_pdf(NOTE.replace("’", "'").splitlines())
    status, body = upload(client, "brumecourt-scan.txt", pdf, content_type="text/plain")
    assert status == 200, body
    doc_id = body["doc_id"]
    try:
        detail = client.get(f"/documents/{doc_id}").json()
        assert detail["document"]["source_format"] == "pdf"
        text = " ".join(p["text"] for p in detail["passages"])
        assert "Brumecourt" in text and "%PDF" not in text and "endobj" not in text
        assert _kept(service.settings, doc_id) == [f"{doc_id}.pdf"]
    finally:
        client.delete(f"/documents/{doc_id}", headers=AUTH)


def test_while_a_job_runs_its_document_cannot_be_uploaded_or_deleted(
    client: TestClient, service: PolicyQAService
):
    status, body = upload(client, "brumecourt-verrou.txt", NOTE.encode())
    doc_id = body["doc_id"]
    assert status == 200, body
    try:
        with service._write_lock:  # the job waits for the index: it stays running
            r = client.post(
                "/documents",
                files={"file": ("brumecourt-verrou.txt", (NOTE + "\nEncore.\n").encode(), "text/plain")},
                data={"replace": "true"},
                headers=AUTH,
            )
            assert r.status_code == 202, r.text
            job = r.json()
            again = client.post(
                "/documents",
                files={"file": ("Brumecourt verrou.md", b"autre", "text/plain")},
                data={"replace": "true"},
                headers=AUTH,
            )
            assert again.status_code == 409 and job["job_id"] in again.json()["error"]
            deleting = client.delete(f"/documents/{doc_id}", headers=AUTH)
            assert deleting.status_code == 409 and job["job_id"] in deleting.json()["error"]
        assert service.jobs.get(job["job_id"]).wait(WAIT_S)  # type: ignore[union-attr]
        assert client.get(job["status_url"], headers=AUTH).json()["result"]["status"] == "updated"
    finally:
        assert client.delete(f"/documents/{doc_id}", headers=AUTH).status_code == 200


def test_unknown_document_filters_find_nothing(client: TestClient):
    body = client.post(
        "/ask", json={"question": "Qu’est-ce que le Forum européen ?", "filters": {"documents": ["nope"]}}
    ).json()
    assert body["passages"] == [] and body["answerable"] is False
    mixed = client.get("/search", params={"q": "intégration", "document": ["nope", WEB, WEB]}).json()
    assert mixed["passages"] and {p["citation"]["doc_id"] for p in mixed["passages"]} == {WEB}


# --------------------------------------------------------------------------- start-up repair


def test_an_interrupted_deletion_is_completed_from_the_kept_copy(
    client: TestClient, service: PolicyQAService
):
    status, body = upload(client, "brumecourt-repare.txt", NOTE.encode())
    doc_id = body["doc_id"]
    assert status == 200, body
    try:
        store = service.indexer.store
        ids = [
            d.id for d in store.filter_documents({"field": "meta.doc_id", "operator": "==", "value": doc_id})
        ]
        store.delete_documents(ids[:1])  # a deletion killed after some points, before the record
        report = service.indexer.reconcile()
        assert report.repaired == [doc_id] and not report.rolled_back
        again = store.filter_documents({"field": "meta.doc_id", "operator": "==", "value": doc_id})
        assert sorted(d.id for d in again) == sorted(ids)  # whole again, as acknowledged
    finally:
        client.delete(f"/documents/{doc_id}", headers=AUTH)


def test_kept_copies_are_reingested_under_their_upload_ids(tmp_path: Path):
    """A legacy index is rebuilt from the kept copies: their file names give the same doc ids."""
    settings = isolated_settings(tmp_path / "data", corpus_dir=tmp_path / "empty-corpus")
    (tmp_path / "empty-corpus").mkdir()
    legacy = settings.legacy_qdrant_path
    legacy.mkdir(parents=True)
    (legacy / "meta.json").write_text("{}")
    uploads = settings.uploads_dir
    uploads.mkdir(parents=True)
    (uploads / "upload-brumecourt.txt").write_text(NOTE, encoding="utf-8")
    (uploads / "Vieille note.txt").write_text(NOTE.replace("2023", "2019"), encoding="utf-8")  # before ids
    (uploads / "upload-coupe.txt.incoming").write_text(NOTE, encoding="utf-8")  # a killed upload's copy
    with own_store(settings):
        indexer = Indexer(settings)
        indexer.rebuild_legacy_index()
        records = {r["doc_id"]: r["source_path"] for r in indexer.documents()}
    assert records == {
        "upload-brumecourt": "uploads/upload-brumecourt.txt",
        "Vieille note": "uploads/Vieille note.txt",
    }


def test_responses_never_show_the_servers_paths(client: TestClient):
    """Source paths are relative to the corpus folder (or uploads/<file>) in every response."""
    paths: list[str] = []
    body = client.post("/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?"}).json()
    paths += [p["citation"]["source_path"] for p in body["passages"]]
    found = client.get("/search", params={"q": "Eurostat", "kind": "footnote"}).json()["passages"]
    paths += [p["citation"]["source_path"] for p in found]
    paths += [c["citation"]["source_path"] for p in found for c in p["cited_by"]]
    fund = client.get("/funds/FSE+").json()
    paths += [p["citation"]["source_path"] for p in fund["passages"] + fund["footnotes"]]
    paths += [p["citation"]["source_path"] for p in client.get(f"/documents/{WEB}").json()["passages"]]
    paths += [d["source_path"] for d in client.get("/documents").json()["documents"]]
    assert paths and all(p and not p.startswith("/") and ".." not in p for p in paths), paths
    assert f"{WEB}.txt" in paths
