"""POST /feedback and GET /feedback, and `policy-qa feedback export`.

Most tests need no model: the app's service is never started (no `with` around the client),
and feedback does not wait for it. One test rates a real answer of the session's service
and checks that its export is a gold question whose evidence the cited passage holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from cli import app as cli_app
from core.settings import Settings, get_settings
from evaluation.gold import GoldFormatError, load_gold
from evaluation.metrics import contains_evidence
from qa.feedback import FeedbackStore, gold_candidates
from qa.questions import MAX_QUESTION_CHARS
from qa.service import PolicyQAService
from tests.api.conftest import AUTH, KEY

DOC = "reseaux-cooperation-ue-integration-migrants"

#: Exactly what the web page sends (api/static/app.js).
PAGE_BODY = {
    "question": "Qu’est-ce que le Forum européen sur la migration ?",
    "language": "fr",
    "answer": "Le Forum européen sur la migration est une plateforme de dialogue. [1]",
    "answerable": True,
    "rating": "up",
    "comment": "",
    "passage_ids": [f"{DOC}:3f2a9c1b"],
    "doc_ids": [DOC],
    "markers": [1],
    "settings": {"mode": "hybrid", "top_k": 5, "filters": None, "ui_language": "fr"},
}


def make_client(tmp_path: Path, **overrides: object) -> TestClient:
    values: dict = {"data_dir": tmp_path / "data", "api_keys": [KEY], "feedback_db": None, **overrides}
    s = Settings(**values)
    return TestClient(create_app(s, PolicyQAService(s)))  # no `with`: the model never loads


@pytest.fixture()
def fb_client(tmp_path: Path) -> TestClient:
    return make_client(tmp_path)


def test_round_trip_post_then_get_with_key(fb_client: TestClient):
    r = fb_client.post("/feedback", json=PAGE_BODY)  # reads are open: no key needed to rate
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"id", "created_at"} and isinstance(created["id"], int)
    down = {**PAGE_BODY, "rating": "down", "comment": "  Pas la bonne source.  ", "answer": None}
    down["answerable"] = False
    second = fb_client.post("/feedback", json=down).json()

    r = fb_client.get("/feedback", headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and [f["id"] for f in body["feedback"]] == [second["id"], created["id"]]
    newest, first = body["feedback"]
    assert (
        newest["rating"] == "down"
        and newest["comment"] == "Pas la bonne source."
        and newest["answer"] is None
    )
    assert first["created_at"] == created["created_at"] and first["comment"] is None  # "" is no comment
    for field in ("question", "language", "answer", "answerable", "passage_ids", "doc_ids", "markers"):
        assert first[field] == PAGE_BODY[field], field
    assert first["settings"] == {"mode": "hybrid", "top_k": 5, "ui_language": "fr"}

    page = fb_client.get("/feedback", params={"limit": 1, "offset": 1}, headers=AUTH).json()
    assert page["total"] == 2 and [f["id"] for f in page["feedback"]] == [created["id"]]


def test_listing_needs_a_key_always(fb_client: TestClient, tmp_path: Path):
    assert fb_client.post("/feedback", json=PAGE_BODY).status_code == 201
    for headers in ({}, {"X-API-Key": "wrong-key"}):
        r = fb_client.get("/feedback", headers=headers)
        assert r.status_code == 401 and "error" in r.json(), r.text
    no_keys = make_client(tmp_path / "nokeys", api_keys=[])
    r = no_keys.get("/feedback")
    assert r.status_code == 403 and "POLICYQA_API_KEYS" in r.json()["error"]
    assert no_keys.post("/feedback", json=PAGE_BODY).status_code == 201  # rating stays open


def test_rating_follows_the_rule_of_ask(tmp_path: Path):
    closed = make_client(tmp_path, read_requires_key=True)
    assert closed.post("/feedback", json=PAGE_BODY).status_code == 401
    assert closed.post("/ask", json={"question": "Test ?"}).status_code == 401
    assert closed.post("/feedback", json=PAGE_BODY, headers=AUTH).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": "meh"}, "rating"),
        ({"rating": None}, "rating"),
        ({"comment": "x" * 2001}, "comment"),
        ({"question": "q" * (MAX_QUESTION_CHARS + 1)}, "question"),
        ({"question": "   "}, "question"),
        ({"answer": "a" * 20_001}, "answer"),
        ({"answerable": "yes"}, "answerable"),
        ({"passage_ids": [f"p{i}" for i in range(21)]}, "passage_ids"),
        ({"doc_ids": ["d"] * 21}, "doc_ids"),
        ({"markers": [0]}, "markers.0"),
        ({"settings": {"top_k": 500}}, "settings.top_k"),
        ({"settings": {"mode": "magic"}}, "settings.mode"),
    ],
)
def test_invalid_ratings_are_422_and_not_stored(fb_client: TestClient, change: dict, field: str):
    r = fb_client.post("/feedback", json={**PAGE_BODY, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"].startswith("Invalid request") and body["detail"][0]["field"] == field
    assert fb_client.get("/feedback", headers=AUTH).json()["total"] == 0


def test_bad_paging_is_422(fb_client: TestClient):
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}, {"limt": 5}):
        assert fb_client.get("/feedback", params=params, headers=AUTH).status_code == 422, params


def test_an_unusable_database_is_a_503_that_says_so(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = make_client(tmp_path, feedback_db=blocker / "feedback.sqlite3")
    r = client.post("/feedback", json=PAGE_BODY)
    assert r.status_code == 503 and "not saved" in r.json()["error"]
    assert str(tmp_path) not in r.text  # no server path in what clients see
    assert client.get("/feedback", headers=AUTH).status_code == 503


def test_openapi_documents_the_key_rules(fb_client: TestClient):
    paths = fb_client.get("/openapi.json").json()["paths"]
    assert {} in paths["/feedback"]["post"]["security"]  # open like /ask
    assert {} not in paths["/feedback"]["get"]["security"]  # a key, always
    assert "201" in paths["/feedback"]["post"]["responses"]


# --------------------------------------------------------------------------- export


@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings pointed at this test's feedback file, and back afterwards."""
    path = tmp_path / "cli" / "feedback.sqlite3"
    monkeypatch.setenv("POLICYQA_FEEDBACK_DB", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()  # monkeypatch restores the environment after this


def test_export_command_writes_gold_the_loader_reads(cli_env: Path, tmp_path: Path):
    client = make_client(tmp_path, feedback_db=cli_env)
    assert client.post("/feedback", json=PAGE_BODY).status_code == 201
    refusal = {**PAGE_BODY, "question": "Quel est le budget du FAMI ?", "answer": None, "answerable": False}
    assert (
        client.post(
            "/feedback", json={**refusal, "passage_ids": [], "doc_ids": [], "markers": []}
        ).status_code
        == 201
    )
    down = {**PAGE_BODY, "question": "Qui préside le réseau ?", "rating": "down", "comment": "Hors sujet"}
    assert client.post("/feedback", json=down).status_code == 201

    runner = CliRunner()
    up = tmp_path / "out" / "up.jsonl"
    result = runner.invoke(cli_app, ["feedback", "export", "--out", str(up), "--rating", "up"])
    assert result.exit_code == 0, result.output
    gold = load_gold(up)
    assert [(q.kind, q.doc) for q in gold] == [("feedback", DOC), ("unanswerable", None)]
    assert gold[0].evidence == ["Le Forum européen sur la migration est une plateforme de dialogue."]

    everything = tmp_path / "out" / "all.jsonl"
    result = runner.invoke(cli_app, ["feedback", "export", "--out", str(everything), "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in everything.read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in lines] == ["feedback", "unanswerable", "feedback-down"]
    assert lines[2]["note"]["comment"] == "Hors sujet"
    with pytest.raises(GoldFormatError, match="line 3"):  # a reviewer must complete it first
        load_gold(everything)

    result = runner.invoke(cli_app, ["feedback", "export", "--rating", "down"])  # to stdout
    assert result.exit_code == 0 and "Hors sujet" in result.stdout
    assert runner.invoke(cli_app, ["feedback", "export", "--rating", "sideways"]).exit_code == 2
    assert runner.invoke(cli_app, ["feedback", "export", "--since", "hier"]).exit_code == 2
    listed = runner.invoke(cli_app, ["feedback", "list"])
    assert listed.exit_code == 0 and "Qui préside le réseau ?" in listed.stdout


def test_export_without_a_database_says_so(cli_env: Path):
    result = CliRunner().invoke(cli_app, ["feedback", "export"])
    assert result.exit_code == 1 and "No feedback yet" in result.output
    assert not cli_env.exists()


# --------------------------------------------------------------------------- a real answer


def test_a_real_answer_rated_up_becomes_a_gold_question(
    client: TestClient, api_settings: Settings, tmp_path: Path
):
    """What the page does: ask, then rate the answer with its passages; the export's evidence
    is in the cited passage, so the evaluation would find it relevant."""
    asked = client.post("/ask", json={"question": "Qu’est-ce que le Forum européen sur la migration ?"})
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert answer["answerable"] is True
    passages = answer["passages"]
    body = {
        "question": answer["question"],
        "language": answer["language"],
        "answer": answer["answer"],
        "answerable": answer["answerable"],
        "rating": "up",
        "comment": None,
        "passage_ids": [p["id"] for p in passages],
        "doc_ids": [p["citation"]["doc_id"] for p in passages],
        "markers": [p["marker"] for p in passages],
        "settings": {"mode": answer["mode"], "top_k": 5, "filters": None, "ui_language": "fr"},
    }
    r = client.post("/feedback", json=body)
    assert r.status_code == 201, r.text
    new_id = r.json()["id"]

    records = [rec for rec in FeedbackStore(api_settings.feedback_path).records("up") if rec.id == new_id]
    out = tmp_path / "gold.jsonl"
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in gold_candidates(records)))
    [question] = load_gold(out)
    assert question.answerable and question.lang == answer["language"]
    cited = [p for p in passages if p["citation"]["doc_id"] == question.doc]
    assert cited, (question.doc, [p["citation"]["doc_id"] for p in passages])
    for evidence in question.evidence:
        assert any(contains_evidence(p["text"], evidence) for p in cited), evidence
