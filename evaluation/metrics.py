"""Scoring: which passages are relevant, ranking metrics (via ranx), footnotes, abstention, latency.

Relevance is decided on the passage text after normalisation, so that the same verbatim
evidence matches the Word-export text, the web page and the PDF (no-break spaces, curly
quotes, French spacing before ``?`` or ``%``, words hyphenated at a line end).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluation.gold import GoldQuestion

#: Our metric names -> ranx's names. Hit@k is ranx's hit rate (1 when any relevant is in the top k).
RANKING_METRICS: dict[str, str] = {
    "hit@1": "hit_rate@1",
    "hit@5": "hit_rate@5",
    "recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
FOOTNOTE_DEPTH = 5  # footnotes count when returned with the first five passages, what a reader sees

_QUOTES = str.maketrans(
    {
        "\u2019": "'",  # ’
        "\u2018": "'",  # ‘
        "\u02bc": "'",  # ʼ
        "\u00b4": "'",  # ´
        "`": "'",
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u2039": '"',  # ‹
        "\u203a": '"',  # ›
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # no-break hyphen
        "\u00ad": None,  # soft hyphen: invisible in print, present in some PDFs
        "\u200b": None,  # zero-width space
    }
)
_LINE_END_HYPHEN = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)")
_SPACE_AROUND_QUOTE = re.compile(r'\s*"\s*')
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([%;:!?.,)])")
_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)  # NFKC: U+00A0, U+202F -> space, ligatures
    text = _SPACES.sub(" ", text.casefold())
    text = _SPACE_AROUND_QUOTE.sub('"', text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def normalise(text: str) -> str:
    """Canonical form for matching: case, spaces, quotes, French spacing, line-end hyphenation joined."""
    return _normalise(_LINE_END_HYPHEN.sub(r"\1\2", text))


def normalised_variants(text: str) -> tuple[str, ...]:
    """A line-end hyphen may be a syllable break ("intégra-/tion") or a real hyphen ("États-/membres"):
    both readings are kept, so either form of the evidence matches."""
    joined = normalise(text)
    kept = _normalise(_LINE_END_HYPHEN.sub(r"\1-\2", text))
    return (joined,) if kept == joined else (joined, kept)


def contains_evidence(passage_text: str, evidence: str) -> bool:
    needle = normalise(evidence)
    return bool(needle) and any(needle in variant for variant in normalised_variants(passage_text))


@dataclass
class RetrievedPassage:
    """What scoring needs of one returned passage (taken from the service's CitedPassage)."""

    id: str
    doc_id: str
    kind: str
    text: str
    footnotes: list[int] = field(default_factory=list)  # numbers of the footnotes the passage cites
    footnote_number: int | None = None  # for a footnote unit: its own number


def relevance(question: GoldQuestion, passage: RetrievedPassage) -> int:
    """Grade of a passage for a question (0: not relevant).

    Gold sets: 1 when the passage contains one of the evidence strings (and belongs to the
    question's document when one is named). BEIR: the qrels grade of the passage's document.
    """
    if question.qrels is not None:
        return int(question.qrels.get(passage.doc_id, 0))
    if question.doc and passage.doc_id != question.doc:
        return 0
    return int(any(contains_evidence(passage.text, ev) for ev in question.evidence))


def judge(question: GoldQuestion, pool: Iterable[RetrievedPassage]) -> dict[str, int]:
    """Relevant passage ids among a pool (every passage of the document, plus everything retrieved)."""
    judged: dict[str, int] = {}
    for passage in pool:
        if passage.id not in judged:
            grade = relevance(question, passage)
            if grade > 0:
                judged[passage.id] = grade
    return judged


def ranking_scores(
    qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]
) -> dict[str, dict[str, float]]:
    """Per-question ranking metrics, computed by ranx.

    ``rankings`` keeps the service's order (scores are given as reciprocal ranks so ties
    cannot reorder it). A question with no relevant passage anywhere in the index, or
    nothing returned, scores 0: the evidence was not retrievable as the system stands.
    """
    from ranx import Qrels, Run, evaluate

    zero = dict.fromkeys(RANKING_METRICS, 0.0)
    scorable = [qid for qid, rel in qrels.items() if rel and rankings.get(qid)]
    scores: dict[str, dict[str, float]] = {qid: dict(zero) for qid in qrels}
    if not scorable:
        return scores
    run = Run({qid: {pid: 1.0 / rank for rank, pid in enumerate(rankings[qid], start=1)} for qid in scorable})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's "unsafe cast" notices on every call
        evaluate(Qrels({qid: qrels[qid] for qid in scorable}), run, list(RANKING_METRICS.values()))
    for ours, theirs in RANKING_METRICS.items():
        for qid, value in run.scores[theirs].items():
            scores[qid][ours] = float(value)
    return scores


def returned_footnotes(
    question: GoldQuestion, ranking: Sequence[RetrievedPassage], depth: int = FOOTNOTE_DEPTH
) -> set[int]:
    """Footnote numbers a reader gets with the top passages: those cited, and footnote hits themselves.

    Numbers are per document, so only passages of the question's document count.
    """
    numbers: set[int] = set()
    for passage in ranking[:depth]:
        if question.doc and passage.doc_id != question.doc:
            continue
        numbers.update(passage.footnotes)
        if passage.kind == "footnote" and passage.footnote_number is not None:
            numbers.add(passage.footnote_number)
    return numbers


def footnote_recall(
    question: GoldQuestion, ranking: Sequence[RetrievedPassage], depth: int = FOOTNOTE_DEPTH
) -> float | None:
    """Share of the gold footnotes returned with the top passages; None when the question cites none."""
    if not question.footnotes:
        return None
    gold = set(question.footnotes)
    return len(gold & returned_footnotes(question, ranking, depth)) / len(gold)


def unanswerable_precision_recall(
    gold_unanswerable: Sequence[bool], predicted_unanswerable: Sequence[bool]
) -> dict[str, float | None]:
    """Precision and recall of abstention (positive class: the question cannot be answered).

    None when undefined (nothing predicted, or no unanswerable question in the set).
    """
    tp = sum(g and p for g, p in zip(gold_unanswerable, predicted_unanswerable, strict=True))
    predicted = sum(predicted_unanswerable)
    actual = sum(gold_unanswerable)
    return {
        "precision": tp / predicted if predicted else None,
        "recall": tp / actual if actual else None,
        "support": float(actual),
    }


def latency_summary(milliseconds: Sequence[float]) -> dict[str, float | None]:
    if not milliseconds:
        return {"median_ms": None, "p95_ms": None}
    return {
        "median_ms": float(statistics.median(milliseconds)),
        "p95_ms": float(np.percentile(np.asarray(milliseconds, dtype=float), 95)),
    }


@dataclass
class QuestionScore:
    """Everything measured for one question in one mode."""

    id: str
    lang: str
    kind: str
    mode: str
    gold_unanswerable: bool
    predicted_unanswerable: bool
    latency_ms: float
    relevant: int  # relevant passages in the index (pooled)
    ranking: dict[str, float] | None  # None for unanswerable questions: nothing to rank
    first_relevant_rank: int | None = None
    footnote_recall: float | None = None
    returned: list[str] = field(default_factory=list)  # passage ids, in order
    retrieve_ms: float | None = None  # the retrieval part of latency_ms, as the service timed it


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(statistics.fmean(kept)) if kept else None


def aggregate(scores: Sequence[QuestionScore]) -> dict[str, float | None]:
    """Means over a group of questions (a mode, a language, a kind)."""
    ranked = [s.ranking for s in scores if s.ranking is not None]
    summary: dict[str, float | None] = {"questions": float(len(scores)), "ranked": float(len(ranked))}
    for name in RANKING_METRICS:
        summary[name] = _mean(r[name] for r in ranked)
    summary["footnote_recall"] = _mean(s.footnote_recall for s in scores)
    abstention = unanswerable_precision_recall(
        [s.gold_unanswerable for s in scores], [s.predicted_unanswerable for s in scores]
    )
    summary["unanswerable_precision"] = abstention["precision"]
    summary["unanswerable_recall"] = abstention["recall"]
    latency = latency_summary([s.latency_ms for s in scores])
    summary["latency_median_ms"] = latency["median_ms"]
    summary["latency_p95_ms"] = latency["p95_ms"]
    retrieval = latency_summary([s.retrieve_ms for s in scores if s.retrieve_ms is not None])
    summary["retrieve_median_ms"] = retrieval["median_ms"]
    summary["retrieve_p95_ms"] = retrieval["p95_ms"]
    return summary
