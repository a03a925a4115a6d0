"""Indexing and retrieval with the real model and embedded Qdrant (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from index.types import SearchFilters
from tests.conftest import CORPUS, SHARED_MODELS

PLAN = "plan-action-integration-inclusion-2021-2027"
WEB = "reseaux-cooperation-ue-integration-migrants"


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\xa0", " ").lower().split())


def _found(hits, evidence: str, k: int = 5) -> bool:
    return any(_norm(evidence) in _norm(h.passage.text) for h in hits[:k])


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        (
            "Quel est le rôle principal du réseau européen d’intégration ?",
            "Son rôle principal est de promouvoir la coopération",
        ),
        (
            "How will the Commission support migrant entrepreneurs through InvestEU?",
            "Soutenir l’entrepreneuriat inclusif dans le cadre du programme InvestEU",
        ),
        (
            "Was ist die Initiative der Arbeitgeber für die Integration von Flüchtlingen?",
            "Employeurs unis pour l’intégration",
        ),
    ],
    ids=["fr", "en", "de"],
)
def test_questions_in_three_languages_find_their_passage(retriever, mode, question, evidence):
    hits = retriever.search(question, mode=mode, top_k=5)
    assert _found(hits, evidence), [h.passage.text[:80] for h in hits]


def test_bm25_matches_exact_identifiers(retriever):
    hits = retriever.search("Directive 2004/38/CE", mode="bm25", top_k=5)
    assert any("2004/38/CE" in h.passage.text for h in hits)


def test_document_filter(retriever):
    hits = retriever.search("intégration des migrants", top_k=10, filters=SearchFilters(doc_ids=[WEB]))
    assert hits and {h.passage.doc_id for h in hits} == {WEB}


def test_kind_filter_and_footnote_comes_with_citing_passage(retriever):
    hits = retriever.search(
        "initiative lancée par la Commission en 2017 sur le rôle des employeurs",
        top_k=5,
        filters=SearchFilters(kinds=["footnote"]),
    )
    assert hits and all(h.passage.kind == "footnote" for h in hits)
    top = hits[0]
    assert top.passage.footnote_number == 41
    assert top.cited_by and any("Employeurs unis" in p.text for p in top.cited_by)


def test_fund_filter_accepts_any_name(retriever):
    from ingest.funds import resolve

    fund = resolve("ESF+")
    assert fund is not None and fund == resolve("FSE+") == resolve("European Social Fund Plus")
    hits = retriever.search("financement de l'intégration", top_k=10, filters=SearchFilters(funds=[fund]))
    assert hits and all(fund in h.passage.funds for h in hits)


def test_language_filter(retriever):
    assert retriever.search("intégration", top_k=5, filters=SearchFilters(languages=["de"])) == []
    hits = retriever.search("intégration", top_k=5, filters=SearchFilters(languages=["fr"]))
    assert hits and all(h.passage.language == "fr" for h in hits)


def test_reingest_of_unchanged_corpus_writes_nothing(indexed):
    report = indexed.sync_corpus()
    assert report.documents and report.written == 0
    assert "nothing written" in report.summary()


def test_changed_document_is_replaced_without_leftovers(indexed, retriever, tmp_path):
    doc = tmp_path / "note-test-replacement.txt"
    doc.write_text(
        "Note de test\n\nLe premier paragraphe parle des jardins partagés de Lyon.\n", encoding="utf-8"
    )
    first = indexed.ingest_paths([doc]).documents[0]
    assert first.outcome == "added"
    doc.write_text(
        "Note de test\n\nLe paragraphe révisé parle des bibliothèques de Lille.\n", encoding="utf-8"
    )
    second = indexed.ingest_paths([doc]).documents[0]
    assert second.outcome == "updated"
    passages = retriever.get_document_passages("note-test-replacement")
    texts = " ".join(h.passage.text for h in passages)
    assert "bibliothèques de Lille" in texts and "jardins partagés" not in texts
    assert indexed.delete_document("note-test-replacement") == len(passages)
    assert retriever.get_document_passages("note-test-replacement") == []
    assert all(d["doc_id"] != "note-test-replacement" for d in indexed.documents())


_CHILD = r"""
import json, sys
from index.indexing import Indexer
from index.retrieval import Retriever
from core.settings import get_settings
s = get_settings()
if sys.argv[1] == "ingest":
    r = Indexer(s).ingest_paths([__import__("pathlib").Path(sys.argv[2])])
    print(json.dumps([d.outcome for d in r.documents]))
else:
    hits = Retriever(s).search("réseau européen d'intégration", mode="hybrid", top_k=3)
    print(json.dumps({"docs": [h.passage.doc_id for h in hits], "n": Indexer(s).documents()[0]["passages"]}))
"""


@pytest.mark.model
def test_index_survives_a_process_restart(tmp_path):
    env = {**os.environ, "POLICYQA_DATA_DIR": str(tmp_path), "POLICYQA_MODELS_DIR": str(SHARED_MODELS)}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    assert json.loads(run("ingest", str(CORPUS / f"{WEB}.txt"))) == ["added"]
    after = json.loads(run("search"))
    assert after["docs"] and set(after["docs"]) == {WEB} and after["n"] > 0
    assert json.loads(run("ingest", str(CORPUS / f"{WEB}.txt"))) == ["unchanged"]


def test_unknown_mode_is_refused(retriever):
    with pytest.raises(ValueError, match="Unknown mode"):
        retriever.search("intégration", mode="fuzzy")  # type: ignore[arg-type]


def test_sparse_analyzer_keeps_french_text():
    from index.sparse import FrenchAnalyzer

    terms = FrenchAnalyzer().terms(
        "L’intégration via le FSE+ et la directive 2004/38/CE « Västra Götaland » proﬁlage"
    )
    assert "integr" in terms and "fse+" in terms and "2004/38/ce" in terms
    assert "vastra" in terms and "profilag" in terms
    assert "l" not in terms and "la" not in terms


def test_hybrid_query_pipeline_serialises_and_fuses_like_its_parts(retriever):
    """The hybrid retriever (two qdrant-haystack retrievers and the score fusion in one
    component) round-trips through to_dict/from_dict and ranks as fusing the two modes does."""
    from dataclasses import replace

    from index.documents import passage_to_document
    from index.fusion import fuse
    from index.graph import run_in_order
    from index.retrieval import HybridRetriever, build_query_pipeline

    component = retriever.pipeline("hybrid").get_component("retriever")
    restored = HybridRetriever.from_dict(component.to_dict())
    assert restored.depth == component.depth and restored.fusion.to_dict() == component.fusion.to_dict()

    question = "Quel fonds soutient l’intégration des migrants sur le marché du travail ?"
    # the fusion itself, without the re-scoring of candidates by their best sentence
    settings = retriever.settings.model_copy(update={"sentence_weight": 0.0})
    fused_only = build_query_pipeline("hybrid", settings, retriever.store)
    fused_only.warm_up()
    inputs = retriever.pipeline_inputs(question, "hybrid", 10, None, None)
    hybrid = [d.id for d in run_in_order(fused_only, inputs)["footnotes"]["documents"]]
    depth = settings.fusion_depth

    def docs(mode):
        hits = retriever.search(question, mode=mode, top_k=depth)
        return [replace(passage_to_document(h.passage), score=h.score) for h in hits]

    expected = fuse(
        docs("dense"),
        docs("bm25"),
        settings.fusion_method,
        settings.fusion_dense_weight,
        settings.fusion_rrf_k,
        10,
    )
    assert hybrid == [d.id for d in expected]


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_query_runs_its_pipeline_in_order_like_pipeline_run(retriever, mode):
    """The retriever calls each mode's components in graph order (no deep copies); the
    documents and scores are the ones Haystack's Pipeline.run gives for the same inputs."""
    for question, filters in (
        ("Quel fonds soutient l’intégration des migrants sur le marché du travail ?", None),
        ("Which footnote links the Erasmus+ programme?", SearchFilters(kinds=["footnote"])),
    ):
        inputs = retriever.pipeline_inputs(question, mode, 10, filters, None)
        expected = retriever.pipeline(mode).run(inputs)["footnotes"]["documents"]
        hits, embedding = retriever.search_with_embedding(question, mode=mode, top_k=10, filters=filters)
        assert [h.passage.id for h in hits] == [d.id for d in expected]
        assert [round(h.score, 6) for h in hits] == [round(d.score or 0.0, 6) for d in expected]
        assert (embedding is None) == (mode == "bm25")
