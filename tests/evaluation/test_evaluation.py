"""Evaluation runner (issue 7): metrics on hand-made rankings and answers, gold and BEIR
loaders, the runner on a stand-in service, and a regression floor on the dev set through
the real service."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.languages import CORPUS_LANGUAGE
from evaluation.beir import (
    BEIR_KIND,
    BeirDataset,
    BeirDocument,
    BeirFormatError,
    collection_language,
    load_beir,
    load_qrels,
    to_parsed_document,
)
from evaluation.gold import GoldFormatError, GoldQuestion, load_gold, parse_gold_line
from evaluation.metrics import (
    ANSWER_SUPPORT_MIN_SHARE,
    QuestionScore,
    RetrievedPassage,
    aggregate,
    answer_support,
    citation_precision,
    contains_evidence,
    content_words,
    footnote_recall,
    judge,
    latency_summary,
    normalise,
    ranking_scores,
    relevance,
    returned_footnotes,
    supports_evidence,
    unanswerable_precision_recall,
)
from evaluation.report import render_markdown
from index.documents import embed_context
from index.indexing import Indexer
from index.types import Hit
from ingest.chunker import chunk_document
from ingest.models import Passage
from qa.results import Answer, AnswerSentence, AskQuery, Citation, CitedPassage
from tests.conftest import GOLD_DEV

GOLD_VALIDATION = Path(__file__).resolve().parents[2] / "evaluation" / "gold" / "validation.jsonl"

BEIR_MINI = Path(__file__).resolve().parents[1] / "fixtures" / "beir-mini"
PLAN = "plan-action-integration-inclusion-2021-2027"

# Regression floor, hybrid mode, on the in-repo validation split (86 questions with evidence),
# re-measured 2026-11-30 with Qdrant Edge, outline passages, footnotes embedded with their
# calling sentence and the sentence re-scoring: hit@5 0.919, MRR@10 0.776, by
# `policy-qa eval --gold evaluation/gold/validation.jsonl --no-answers` (README, Quality).
# Raise them when the system improves.
HYBRID_HIT5 = 0.930  # 0.919 before "under which heading" questions were answered by the outline
HYBRID_MRR10 = 0.810  # 0.776 before typed passages, 0.791 before outlines moved ahead, 0.801 before
# headings, 0.804 before footnotes moved ahead for source questions
MARGIN = 0.05
# The answers, same split and run (`--answers`), re-measured after the office-holder and deadline
# checks, outline answers and stored sentence vectors: support 0.593, unanswerable recall 0.800
# (15 questions: one is 0.067, hence the wider margin), answerable refused 0.174; support 0.628
# since footnotes pointing to a publication are shown after the claims they support, 0.640
# since outlines move ahead for questions about the structure, 0.651 with answers of up to
# 900 characters, 0.674 (refused 0.140) since French term coverage no longer decides, 0.686 since
# sentences stating a purpose lead the answer to "why / what for" questions.
ANSWER_SUPPORT = 0.686
UNANSWERABLE_RECALL = 0.800
ANSWERABLE_REFUSED = 0.140


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


def test_ndcg_keeps_qrels_grades() -> None:
    """BEIR grade 2 counts twice a grade 1 (linear gain, as trec_eval and BEIR's evaluator)."""
    scores = ranking_scores({"q": {"a": 2, "b": 1}}, {"q": ["b", "a", "x"]})
    dcg = 1 / math.log2(2) + 2 / math.log2(3)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert scores["q"]["ndcg@10"] == pytest.approx(dcg / ideal)
    binary = ranking_scores({"q": {"a": 1, "b": 1}}, {"q": ["b", "a", "x"]})
    assert binary["q"]["ndcg@10"] == pytest.approx(1.0)  # both relevant on top: perfect when ungraded
    assert scores["q"]["ndcg@10"] < binary["q"]["ndcg@10"]


def test_recall_and_map_to_the_full_depth() -> None:
    ranking = [f"x{i}" for i in range(120)]
    ranking[2], ranking[49], ranking[109] = "r1", "r2", "r3"  # ranks 3, 50 and 110 (past the depth)
    qrels = {"q": {"r1": 1, "r2": 1, "r3": 1}}
    scores = ranking_scores(qrels, {"q": ranking}, depth=100)
    assert scores["q"]["recall@10"] == pytest.approx(1 / 3)
    assert scores["q"]["recall@100"] == pytest.approx(2 / 3)
    assert scores["q"]["map@100"] == pytest.approx((1 / 3 + 2 / 50) / 3)
    assert scores["q"]["mrr@10"] == pytest.approx(1 / 3)
    # without a depth, the top-10 metrics only (the names every caller used so far)
    assert set(ranking_scores(qrels, {"q": ranking})["q"]) == {
        "hit@1",
        "hit@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
    }
    missed = ranking_scores({"q": {"z": 1}}, {"q": ranking}, depth=100)
    assert missed["q"]["recall@100"] == 0.0 and missed["q"]["map@100"] == 0.0


# --------------------------------------------------------------------------- answers

EVIDENCE = "40,7\u00a0% pour les femmes migrantes en 2019, contre 21,1\u00a0% chez les femmes nées dans l’UE"


def test_content_words_drop_stop_words_and_keep_decimals() -> None:
    assert content_words(EVIDENCE) == {"40,7", "femmes", "migrantes", "2019", "21,1", "nées", "ue"}
    assert content_words("l’intégration d’un migrant") == {"intégration", "migrant"}


@pytest.mark.parametrize(
    ("answer", "supported"),
    [
        # verbatim, in another typography
        (f"Le taux était de {EVIDENCE.replace(chr(0xA0), ' ').replace('’', chr(39))}.", True),
        # the same fact reworded: every number, most content words
        (
            "En 2019, 40,7 % des femmes migrantes étaient surqualifiées, contre 21,1 % des femmes nées dans l'UE.",
            True,
        ),
        # a neighbouring sentence: the words without the figures
        ("Les femmes migrantes sont plus souvent surqualifiées que les femmes nées dans l'UE (2019).", False),
        # the figures without most of the words
        ("40,7 % contre 21,1 % en 2019.", False),
    ],
    ids=["verbatim", "reworded", "no-figures", "figures-only"],
)
def test_answer_support(answer: str, supported: bool) -> None:
    question = _q(evidence=["une autre phrase du texte", EVIDENCE])  # any evidence string will do
    assert supports_evidence(answer, EVIDENCE) is supported
    assert answer_support(question, [answer]) == float(supported)


def test_answer_support_share_is_a_majority_of_content_words() -> None:
    evidence = "la Commission lancera un prix européen de l’intégration pour les écoles"
    words = sorted(content_words(evidence))  # commission, lancera, prix, européen, intégration, écoles
    keep = math.ceil(ANSWER_SUPPORT_MIN_SHARE * len(words))
    assert supports_evidence(" ".join(words[:keep]), evidence)
    assert not supports_evidence(" ".join(words[: keep - 1]), evidence)


def test_answer_support_counts_refusals_and_skips_what_cannot_be_checked() -> None:
    question = _q(evidence=["Lancé en mars 2016"])
    assert answer_support(question, []) == 0.0  # refused: nothing supports the evidence
    assert answer_support(question, ["Il a été lancé en mars", "en 2016 à Bruxelles."]) == 1.0  # joined
    assert answer_support(_q(kind="unanswerable", doc=None), ["anything"]) is None
    beir = GoldQuestion(id="q", lang="en", question="?", kind=BEIR_KIND, qrels={"d1": 1})
    assert answer_support(beir, ["anything"]) is None


def test_citation_precision() -> None:
    passages = [
        "Lancé en mars\u00a02016, le partenariat rassemble des villes.",
        "Le FEDER soutient l’inclusion grâce aux infrastructures.",
    ]
    sentences = [
        AnswerSentence("Lancé en mars 2016, le partenariat rassemble des villes.", [1]),  # right (nbsp)
        AnswerSentence("Le FEDER soutient l'inclusion grâce aux infrastructures.", [2, 1]),  # right, wrong
        AnswerSentence("Le FEDER soutient l'inclusion.", [3]),  # past the passages: cites nothing
    ]
    assert citation_precision(sentences, passages) == pytest.approx(2 / 4)
    assert citation_precision(sentences[:1], passages) == 1.0
    assert citation_precision([], passages) is None
    assert citation_precision([AnswerSentence("x", [0])], passages) == 0.0  # markers are 1-based


def test_aggregate_answer_metrics_and_abstention() -> None:
    def score(kind: str, gold_u: bool, pred_u: bool | None, support=None, cites=None) -> QuestionScore:
        return QuestionScore(
            "q",
            "fr",
            kind,
            "hybrid",
            gold_u,
            pred_u,
            5.0,
            0,
            None,
            answer_support=support,
            citation_precision=cites,
        )

    summary = aggregate(
        [
            score("fact", False, False, 1.0, 1.0),
            score("fact", False, False, 0.0, 0.5),
            score("fact", False, True, 0.0, None),  # answerable, refused
            score("unanswerable", True, True),
            score("unanswerable", True, False, None, 1.0),
        ]
    )
    assert summary["answer_support"] == pytest.approx(1 / 3)
    assert summary["citation_precision"] == pytest.approx(2.5 / 3)
    assert summary["answerable_refused"] == pytest.approx(1 / 3)
    assert summary["unanswerable_recall"] == 0.5 and summary["unanswerable_precision"] == 0.5
    retrieval_only = aggregate([score("fact", False, None), score("unanswerable", True, None)])
    for name in ("answer_support", "citation_precision", "answerable_refused", "unanswerable_recall"):
        assert retrieval_only[name] is None, name
    assert retrieval_only["asked"] == 0


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
    assert latency_summary([]) == {"median_ms": None, "p95_ms": None}


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
    assert {q.kind for q in questions} >= {"fact", "footnote_source", "outline", "unanswerable"}
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


def _beir_folder(
    root: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]
) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries), encoding="utf-8")
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in qrels)]
    (root / "qrels" / "test.tsv").write_text("\n".join(lines), encoding="utf-8")
    return root


ENGLISH = [
    "Member States should make full use of EU funding to support the integration of migrants.",
    "Language courses for newly arrived migrants help them find work and take part in society.",
    "Access to adequate and affordable housing is a key factor for successful integration.",
    "Migrant women face a higher risk of over-qualification than women born in the EU.",
]


def test_beir_language_is_the_collections_for_unsure_queries(tmp_path: Path) -> None:
    """Short queries fall back to the collection's language (here English), never to 'und'."""
    corpus = [{"_id": f"d{i}", "title": "", "text": text} for i, text in enumerate(ENGLISH)]
    corpus.append(
        {"_id": "fr", "title": "", "text": "Le Fonds social européen plus finance l’emploi et l’inclusion."}
    )
    queries = [
        {"_id": "q1", "text": "EU 2021?"},
        {"_id": "q2", "text": "Quel fonds finance l’emploi des migrants ?"},
    ]
    dataset = load_beir(_beir_folder(tmp_path / "en", corpus, queries, [("q1", "d0", 1), ("q2", "fr", 1)]))
    assert dataset.language == "en"
    assert {q.id: q.lang for q in dataset.questions} == {"q1": "en", "q2": "fr"}
    # a small corpus is detected in full: the French document keeps its language
    assert dataset.document_languages["fr"] == "fr" and dataset.document_languages["d0"] == "en"
    assert to_parsed_document(dataset.documents[-1], dataset).language == "fr"


def test_collection_language_reads_a_sample_and_declarations() -> None:
    documents = [BeirDocument(f"d{i}", "", ENGLISH[i % len(ENGLISH)]) for i in range(50)]
    documents.append(BeirDocument("declared", "", "Texte.", metadata={"lang": "FR"}))
    language, known = collection_language(documents, sample=10)
    assert language == "en"
    assert known["declared"] == "fr"  # declared, not detected
    assert len(known) == 11  # 10 detected, 1 declared: the other 40 are left to the collection's
    again = collection_language(documents, sample=10)
    assert again == (language, known)  # the sample is the same on every run
    dataset = BeirDataset("x", Path("x"), documents, [], language=language, document_languages=known)
    unsampled = next(d for d in documents if d.id not in known)
    assert to_parsed_document(unsampled, dataset).language == "en"
    assert collection_language([BeirDocument("d", "", "12 34")]) == (CORPUS_LANGUAGE, {})


def test_beir_empty_title_is_not_embedded_nor_made_from_the_id() -> None:
    dataset = BeirDataset("x", Path("x"), [], [], language="en")
    untitled = to_parsed_document(BeirDocument("doc-42", "", ENGLISH[0]), dataset)
    assert untitled.title == ""
    assert all(block.section_path == [] for block in untitled.blocks)
    passages = chunk_document(untitled)
    assert passages and all(embed_context(p) == "" for p in passages)
    assert all("doc-42" not in p.embed_text for p in passages)
    titled = chunk_document(to_parsed_document(BeirDocument("doc-43", "EU funds", ENGLISH[0]), dataset))
    assert all(embed_context(p) == "EU funds" for p in titled)
    only_title = to_parsed_document(BeirDocument("doc-44", "EU funds", ""), dataset)
    assert only_title.clean_text == "EU funds"


def test_any_kind_label_in_a_gold_file_is_loaded_as_it_is(tmp_path: Path) -> None:
    kinds = ["opinion", "Ma catégorie", "procédure/délai", "x" * 64]
    path = tmp_path / "gold.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": f"q{i}", "lang": "fr", "question": "q", "kind": kind, "evidence": ["e"]})
            for i, kind in enumerate(kinds)
        ),
        encoding="utf-8",
    )
    assert [q.kind for q in load_gold(path)] == kinds


class _BatchIndexer:
    """Records what ``index_beir`` hands to ``Indexer.ingest_many`` (the grouping is the real
    ``Indexer.ingest_stream``; only the embedding and writing are left out)."""

    ingest_stream = Indexer.ingest_stream

    def __init__(self) -> None:
        self.calls: list[list[tuple]] = []

    def ingest_many(self, parsed, report=None):
        from index.indexing import DocumentResult

        self.calls.append(list(parsed))
        results = [DocumentResult(doc.doc_id, "added", len(p), 0, doc.source_path) for doc, p in parsed]
        report.documents.extend(results)
        report.points_written += sum(len(p) for _, p in parsed)
        return results


def test_index_beir_embeds_across_documents_and_never_titles_with_the_id() -> None:
    """Documents go to the indexer in groups of ~GROUP_PASSAGES passages (full embedding
    batches), each once and in order; an empty title stays empty all the way to the embedder."""
    from evaluation.beir import index_beir, outcomes
    from index.indexing import GROUP_PASSAGES

    documents = [
        BeirDocument(f"doc-{i:03d}", "" if i % 3 else "EU funds", ENGLISH[i % len(ENGLISH)])
        for i in range(300)
    ]
    documents.append(BeirDocument("empty", "", ""))  # nothing to index
    dataset = BeirDataset("x", Path("x"), documents, [], language="en")
    indexer = _BatchIndexer()
    report = index_beir(dataset, indexer, progress=False)
    assert 1 < len(indexer.calls) < 300 // 4  # grouped, not one call per document
    assert all(sum(len(p) for _, p in call) >= GROUP_PASSAGES for call in indexer.calls[:-1])
    sent = [doc for call in indexer.calls for doc, _ in call]
    assert [d.doc_id for d in sent] == [d.id for d in documents[:300]]
    assert outcomes(report) == {"added": 300} and report.points_written == 300
    for doc, passages in (pair for call in indexer.calls for pair in call):
        if doc.title:
            assert all(embed_context(p) == "EU funds" for p in passages)
        else:
            assert all(embed_context(p) == "" and doc.doc_id not in p.embed_text for p in passages)


# --------------------------------------------------------------------------- the runner, on a stand-in service


def _passage(pid: str, text: str, doc: str = PLAN) -> Passage:
    return Passage(
        id=pid, doc_id=doc, title="t", kind="passage", section_path=[], order=0, start=0, end=len(text),
        text=text, embed_text=text,
    )  # fmt: skip


@dataclass
class _Settings:
    fusion_depth: int = 50
    prime_answer_cache_passages: int = 100


class _Retriever:
    """Mode -> a fixed ranking of 60 passages; hybrid reorders its head past ``fusion_depth``
    candidates, as convex fusion does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str | None]] = []
        base = [_passage(f"p{i}", f"filler {i}") for i in range(60)]
        base[7] = _passage("p7", "the evidence sentence is here.")
        self.rankings = {mode: list(base) for mode in ("bm25", "dense", "hybrid")}
        self.deep_hybrid = [base[1], base[0], *base[2:]]  # ranks 1 and 2 swap when fused deeper

    def search_with_embedding(self, query, mode=None, top_k=10, filters=None, language=None, record=True):
        if record:  # the runner's calls (the stand-in ask's own retrieval is not recorded)
            self.calls.append((mode, top_k, language))
        ranking = self.deep_hybrid if mode == "hybrid" and top_k > 50 else self.rankings[mode]
        return [Hit(passage=p, score=1.0, rank=i) for i, p in enumerate(ranking[:top_k], start=1)], None

    def get_document_passages(self, doc_id: str) -> list[Hit]:
        return [Hit(passage=p, score=0.0, rank=i) for i, p in enumerate(self.rankings["bm25"], start=1)]


@dataclass
class _Service:
    retriever: _Retriever = field(default_factory=_Retriever)
    settings: _Settings = field(default_factory=_Settings)
    asked: list[AskQuery] = field(default_factory=list)

    def ensure_index(self) -> None:
        return None

    def ask(self, request: AskQuery) -> Answer:
        self.asked.append(request)
        hits, _ = self.retriever.search_with_embedding(
            request.question, request.mode, request.top_k, record=False
        )
        passages = [
            CitedPassage(i, h.passage.id, "passage", h.passage.text, 1.0, Citation(PLAN, "t", [], 0, 1))
            for i, h in enumerate(hits, start=1)
        ]
        refused = request.question.startswith("Who")
        sentences = [] if refused else [AnswerSentence("the evidence sentence is here.", [8])]
        return Answer(
            question=request.question, language="en", mode=request.mode or "hybrid", answerable=not refused,
            sentences=sentences, passages=passages, timings_ms={"retrieve_ms": 1.0, "answer_ms": 2.0},
        )  # fmt: skip


def _questions() -> list[GoldQuestion]:
    def q(qid: str, kind: str, question: str, evidence: list[str]) -> GoldQuestion:
        return GoldQuestion(id=qid, lang="en", question=question, kind=kind, doc=PLAN, evidence=evidence)

    return [
        q("a", "ma catégorie", "Where is the evidence sentence of the plan?", ["the evidence sentence"]),
        q("b", "opinion", "EU 2021?", ["the evidence sentence"]),  # too short to tell: the fallback
        GoldQuestion(
            id="u", lang="en", question="Who chairs the European Migration Forum?", kind="unanswerable"
        ),
    ]


def test_retrieval_only_never_asks_and_scores_the_full_depth() -> None:
    from evaluation.runner import evaluate

    service = _Service()
    result = evaluate(_questions(), service, ["bm25", "hybrid"], depth=60, progress=False, warmup=1)
    assert service.asked == []  # the answer step is never paid for
    assert {top_k for mode, top_k, _ in service.retriever.calls if mode == "bm25"} == {60}
    # hybrid past the fusion depth: the head as the service returns it (top_k 10), then the deep ranking
    assert {top_k for mode, top_k, _ in service.retriever.calls if mode == "hybrid"} == {60, 10}
    hybrid = {s.id: s for s in result.scores["hybrid"]}
    assert hybrid["a"].returned[:2] == ["p0", "p1"] and len(hybrid["a"].returned) == 60
    assert hybrid["a"].first_relevant_rank == 8 and hybrid["a"].ranking["recall@60"] == 1.0
    assert result.overall["hybrid"]["map@60"] == pytest.approx(1 / 8)
    assert all(s.predicted_unanswerable is None and s.answer_ms is None for s in result.scores["bm25"])
    assert result.overall["bm25"]["answer_support"] is None and result.answers is False
    assert all(s.retrieve_ms is not None and s.retrieve_ms > 0 for s in result.scores["bm25"])
    # languages: detected as the service does, the fallback for what cannot be told
    assert {lang for _, _, lang in service.retriever.calls} <= {"en", CORPUS_LANGUAGE}
    # any kind label, grouped and reported as it is
    assert set(result.by_kind["bm25"]) == {"ma catégorie", "opinion", "unanswerable"}
    markdown = render_markdown(result)
    assert "| ma catégorie |" in markdown and "| opinion |" in markdown
    assert "recall@60" in markdown and "MAP@60" in markdown and "## Answers" not in markdown


def test_answers_are_scored_when_asked() -> None:
    from evaluation.runner import evaluate

    service = _Service()
    result = evaluate(_questions(), service, ["hybrid"], depth=60, answers=True, progress=False, warmup=1)
    assert [r.top_k for r in service.asked] == [10] * 4 and all(r.generate is False for r in service.asked)
    # the head comes from the ask call's passages: no extra retrieval at top_k 10
    assert {top_k for _, top_k, _ in service.retriever.calls} == {60}
    overall = result.overall["hybrid"]
    assert overall["answer_support"] == 1.0 and overall["citation_precision"] == 1.0
    assert overall["unanswerable_recall"] == 1.0 and overall["answerable_refused"] == 0.0
    assert overall["answer_median_ms"] == 2.0 and overall["ask_median_ms"] is not None
    assert result.by_kind["hybrid"]["opinion"]["answer_support"] == 1.0
    markdown = render_markdown(result)
    assert "## Answers" in markdown and "answer support" in markdown and "answerable refused" in markdown


def test_depth_below_ten_is_refused() -> None:
    from evaluation.runner import evaluate

    with pytest.raises(ValueError, match="at least 10"):
        evaluate(_questions(), _Service(), ["bm25"], depth=5, progress=False)


@dataclass
class _DocumentRetriever:
    """Ranks one passage per document, in a fixed order of doc ids (a BEIR-like index)."""

    order: list[str]
    calls: list[tuple[str, int, str | None]] = field(default_factory=list)

    def search_with_embedding(self, query, mode=None, top_k=10, filters=None, language=None):
        self.calls.append((mode, top_k, language))
        ranking = [_passage(f"{d}#0", f"text of {d}", doc=d) for d in self.order[:top_k]]
        return [Hit(passage=p, score=1.0, rank=i) for i, p in enumerate(ranking, start=1)], None


@dataclass
class _DocumentService:
    retriever: _DocumentRetriever
    settings: _Settings = field(default_factory=_Settings)

    def ensure_index(self) -> None:
        return None

    def ask(self, request: AskQuery) -> Answer:
        raise AssertionError("retrieval only: the answer step must not run")


def test_graded_qrels_are_honoured_in_ndcg_by_the_runner() -> None:
    """A BEIR grade 2 counts twice a grade 1 in the run's nDCG, not only in ``ranking_scores``."""
    from evaluation.runner import evaluate

    def ndcg(qrels: dict[str, int]) -> float:
        question = GoldQuestion(id="q", lang="fr", question="Quels fonds ?", kind=BEIR_KIND, qrels=qrels)
        service = _DocumentService(_DocumentRetriever(["b", "a", "x"]))
        result = evaluate([question], service, ["bm25"], depth=10, progress=False, warmup=1)
        assert result.scores["bm25"][0].returned == ["b", "a", "x"]  # judged per document
        return result.overall["bm25"]["ndcg@10"]

    graded = ndcg({"a": 2, "b": 1})
    assert graded == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert graded < ndcg({"a": 1, "b": 1}) == pytest.approx(1.0)


def test_a_question_detected_as_und_keeps_the_french_analyser() -> None:
    """Issue 15: plain French questions were detected as 'und', and bm25 then lost the
    French analyser. Neither the runner nor the service passes 'und'; and were it passed,
    the query analyser stays French (French stop words and stemming)."""
    from evaluation.runner import evaluate
    from index.sparse import FrenchAnalyzer, FrenchSparseTextEmbedder

    question = "Qu’est-ce que la fibre optique ?"
    service = _DocumentService(_DocumentRetriever(["a"]))
    evaluate(
        [GoldQuestion(id="q", lang="fr", question=question, kind=BEIR_KIND, qrels={"a": 1})],
        service,
        ["bm25"],
        depth=10,
        progress=False,
        warmup=1,
    )
    assert {lang for _, _, lang in service.retriever.calls} == {CORPUS_LANGUAGE}
    embedder = FrenchSparseTextEmbedder()
    und = embedder.run(question, language="und")["sparse_embedding"]
    french = embedder.run(question, language=CORPUS_LANGUAGE)["sparse_embedding"]
    assert und.indices == french.indices and und.values == french.values
    terms = FrenchAnalyzer().terms(question)
    assert terms and not {"que", "la", "est", "qu"} & set(terms)  # French stop words dropped
    assert any(t.startswith("optiqu") for t in terms)


def test_the_runner_normalises_filters_through_the_public_service_method() -> None:
    from evaluation.runner import _Retrieval
    from index.types import SearchFilters
    from qa.service import PolicyQAService

    filters = SearchFilters(funds=["ESF+"])
    expected = PolicyQAService.retrieval_filters(filters)
    assert expected is not None and expected.funds != ["ESF+"]  # a fund name becomes its registry id

    class Service:
        retriever = None
        retrieval_filters = staticmethod(PolicyQAService.retrieval_filters)

    assert _Retrieval(Service(), filters, CORPUS_LANGUAGE).filters == expected
    assert _Retrieval(_Service(), filters, CORPUS_LANGUAGE).filters == filters  # a service without it


# --------------------------------------------------------------------------- the real service


@pytest.fixture(scope="module")
def dev_result(indexed):
    """The dev set through the real service in hybrid mode, the API's default (one run shared by the
    tests below; modes side by side are covered by the smaller BEIR test)."""
    from evaluation.runner import evaluate
    from qa.service import PolicyQAService

    service = PolicyQAService(indexed.settings)
    return evaluate(load_gold(GOLD_DEV), service, ["hybrid"], answers=True, progress=False, gold_name="dev")


@pytest.mark.slow
def test_dev_set_regression_floor(dev_result) -> None:
    hybrid = dev_result.overall["hybrid"]
    assert hybrid["hit@5"] >= HYBRID_HIT5 - MARGIN, dev_result.overall
    assert hybrid["mrr@10"] >= HYBRID_MRR10 - MARGIN, dev_result.overall
    assert hybrid["answer_support"] >= ANSWER_SUPPORT - MARGIN, dev_result.overall
    assert hybrid["unanswerable_recall"] >= UNANSWERABLE_RECALL - 2 * MARGIN, dev_result.overall
    assert hybrid["answerable_refused"] <= ANSWERABLE_REFUSED + MARGIN, dev_result.overall


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
        assert all(s.retrieve_ms and s.ask_ms and s.answer_ms is not None for s in dev_result.scores[mode])
        assert all(len(s.returned) > 10 for s in dev_result.scores[mode])  # ranked to the full depth
        for name in ("unanswerable_recall", "answer_support", "citation_precision", "recall@100", "map@100"):
            assert dev_result.overall[mode][name] is not None, name
        assert (
            dev_result.overall[mode]["citation_precision"] == 1.0
        )  # extractive sentences cite their passage


@pytest.mark.slow
def test_report_files(dev_result, tmp_path: Path) -> None:
    from evaluation.report import write_report

    paths = write_report(dev_result, tmp_path)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    for heading in (
        "## Overall",
        "## Answers",
        "## By language",
        "## By kind",
        "## Unanswerable",
        "## Latency",
    ):
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


@pytest.mark.slow
def test_eval_command_end_to_end_retrieval_only(indexed, tmp_path: Path) -> None:
    """`policy-qa eval` on the validation set, retrieval only: report files with the new metrics."""
    from typer.testing import CliRunner

    from cli import app
    from qa.service import reset_service

    reset_service()  # the command's service, on the session's settings and index
    try:
        run = CliRunner().invoke(
            app, ["eval", "--gold", str(GOLD_VALIDATION), "--no-answers", "--out", str(tmp_path)]
        )
    finally:
        reset_service()
    assert run.exit_code == 0, run.output
    assert "retrieval only" in run.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["modes"] == ["bm25", "dense", "hybrid"] and data["depth"] == 100 and data["answers"] is False
    assert data["questions"] == len(load_gold(GOLD_VALIDATION))
    assert {"read", "load_models", "index", "warm_up", "questions", "scoring"} <= set(data["seconds"])
    for mode in data["modes"]:
        overall = data["overall"][mode]
        for name in ("hit@5", "mrr@10", "ndcg@10", "recall@100", "map@100", "retrieve_median_ms"):
            assert overall[name] is not None, (mode, name)
        assert overall["answer_support"] is None and overall["asked"] == 0
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "recall@100" in markdown and "MAP@100" in markdown and "retrieval p95" in markdown
    for name in ("metrics_by_mode.png", "by_language.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_eval_command_on_a_beir_folder_reports_its_ingest(indexed, tmp_path: Path) -> None:
    """`policy-qa eval` on a BEIR folder: retrieval only, indexing timed and counted apart."""
    from typer.testing import CliRunner

    from cli import app

    run = CliRunner().invoke(
        app, ["eval", "--gold", str(BEIR_MINI), "--modes", "bm25,hybrid", "--out", str(tmp_path)]
    )
    assert run.exit_code == 0, run.output
    assert "retrieval only" in run.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["answers"] is False and data["questions"] == 4
    ingest = data["ingest"]
    assert ingest["documents"] == 8 and ingest["passages"] >= 8
    assert sum(ingest["outcomes"].values()) == 8  # added on a first run, unchanged after
    assert {"read", "load_models", "index", "questions", "scoring"} <= set(data["seconds"])
