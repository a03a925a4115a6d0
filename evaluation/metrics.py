"""Scoring: which passages are relevant, ranking metrics (via ranx), footnotes, answers,
abstention, latency.

Relevance is decided on the passage text after normalisation, so that the same verbatim
evidence matches the Word-export text, the web page and the PDF (no-break spaces, curly
quotes, French spacing before ``?`` or ``%``, words hyphenated at a line end). The answer
metrics (support, citation precision) compare texts after the same normalisation.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.languages import CORPUS_LANGUAGE, LANGUAGES
from evaluation.gold import GoldQuestion
from qa.results import AnswerSentence

#: Our metric names -> ranx's names, read in the first 10 of a ranking (what a reader sees).
#: Hit@k is ranx's hit rate (1 when any relevant is in the top k). ranx's ``ndcg`` is the
#: Järvelin-Kekäläinen (trec_eval) form, gain = the qrels grade: BEIR grades above 1 count as such.
RANKING_METRICS: dict[str, str] = {
    "hit@1": "hit_rate@1",
    "hit@5": "hit_rate@5",
    "recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
FOOTNOTE_DEPTH = 5  # footnotes count when returned with the first five passages, what a reader sees

#: An answer *supports* the gold evidence when its sentences, joined, contain an evidence
#: string, or every number of one evidence string and at least this share of its content
#: words (normalised words that are not French stop words or single letters; a decimal such
#: as "40,7" is one word). Why not the verbatim string alone: an extractive answer is made of
#: whole sentences and stops at their boundaries, and the same fact comes back in another
#: footnote or the other format of the document with other wording ("Voir: JRC (2020), Gaps
#: in the EU Labour Market Participation Rates..." for "Voir également JRC (2020), Gaps...").
#: Why the numbers: a figure or a year is usually the answer, and a neighbouring sentence
#: shares the other words ("femmes migrantes ... nées dans l'UE" without "40,7 %"). Why 0.7:
#: measured on the answers of evaluation/gold (dev and validation, every mode, 2026-11-30),
#: the answered questions whose answer lacks the verbatim evidence cover at most half of its
#: content words, except 0.57 and 0.60, answers about something else (the sentence beside
#: the figure; "un espace européen de l'éducation" without its "six dimensions"), and 0.78
#: and 0.91, the right fact reworded. 0.7 keeps the last two and neither of the others.
ANSWER_SUPPORT_MIN_SHARE = 0.7


def depth_metrics(depth: int | None) -> dict[str, str]:
    """Our names -> ranx's names for a ranking scored to ``depth``: the top-10 metrics, plus
    recall and MAP over the whole depth (``recall@100``, ``map@100``)."""
    metrics = dict(RANKING_METRICS)
    if depth:
        metrics[f"recall@{depth}"] = f"recall@{depth}"
        metrics[f"map@{depth}"] = f"map@{depth}"
    return metrics


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


@lru_cache(maxsize=16_384)
def normalised_variants(text: str) -> tuple[str, ...]:
    """A line-end hyphen may be a syllable break ("intégra-/tion") or a real hyphen ("États-/membres"):
    both readings are kept, so either form of the evidence matches.

    Cached: the same passages come back for every mode and, with their document's other
    passages, for every question about it (a third of the runner's time before)."""
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
    qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]], depth: int | None = None
) -> dict[str, dict[str, float]]:
    """Per-question ranking metrics, computed by ranx.

    ``rankings`` keeps the service's order (scores are given as reciprocal ranks so ties
    cannot reorder it). A question with no relevant passage anywhere in the index, or
    nothing returned, scores 0: the evidence was not retrievable as the system stands.
    Grades are kept as given (BEIR's 2 counts twice a 1 in nDCG). With ``depth``, also
    ``recall@depth`` and ``map@depth`` (:func:`depth_metrics`).
    """
    from ranx import Qrels, Run, evaluate

    metrics = depth_metrics(depth)
    zero = dict.fromkeys(metrics, 0.0)
    scorable = [qid for qid, rel in qrels.items() if rel and rankings.get(qid)]
    scores: dict[str, dict[str, float]] = {qid: dict(zero) for qid in qrels}
    if not scorable:
        return scores
    run = Run({qid: {pid: 1.0 / rank for rank, pid in enumerate(rankings[qid], start=1)} for qid in scorable})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's "unsafe cast" notices on every call
        evaluate(Qrels({qid: qrels[qid] for qid in scorable}), run, list(dict.fromkeys(metrics.values())))
    for ours, theirs in metrics.items():
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


_WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+")  # "40,7" and "3.1" stay one word
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@lru_cache(maxsize=4)
def _stop_words(language: str) -> frozenset[str]:
    from stop_words import get_stop_words

    entry = LANGUAGES.get(language)
    if entry is None or entry.stopwords is None:
        return frozenset()
    return frozenset(normalise(w) for w in get_stop_words(entry.stopwords))


def content_words(text: str, language: str = CORPUS_LANGUAGE) -> set[str]:
    """The words that carry the meaning of a text of the corpus: normalised (as for evidence
    matching), without the stop words of its language (French by default) and single letters
    (the elided ``l'``, ``d'``)."""
    stop = _stop_words(language)
    return {w for w in _WORD.findall(normalise(text)) if w not in stop and (len(w) > 1 or w.isdigit())}


def evidence_coverage(answer_text: str, evidence: str) -> float:
    """1.0 when the answer contains the evidence (normalised); else the share of the
    evidence's content words the answer has (0.0 when it has none)."""
    if contains_evidence(answer_text, evidence):
        return 1.0
    wanted = content_words(evidence)
    if not wanted:
        return 0.0
    return len(wanted & content_words(answer_text)) / len(wanted)


def supports_evidence(answer_text: str, evidence: str) -> bool:
    """The answer contains the evidence, or all its numbers and most of its content words
    (:data:`ANSWER_SUPPORT_MIN_SHARE`)."""
    if contains_evidence(answer_text, evidence):
        return True
    numbers = {w for w in content_words(evidence) if _NUMBER.fullmatch(w)}
    if not numbers <= content_words(answer_text):
        return False
    return evidence_coverage(answer_text, evidence) >= ANSWER_SUPPORT_MIN_SHARE


def answer_support(question: GoldQuestion, sentences: Sequence[str]) -> float | None:
    """1.0 when the answer's sentences, joined, support one of the gold evidence strings
    (:func:`supports_evidence`), else 0.0; a refusal (no sentence) is 0.0. None when there is
    nothing to check: an unanswerable question, or a question judged by qrels (BEIR) rather
    than evidence."""
    if not question.answerable or not question.evidence:
        return None
    if not sentences:
        return 0.0
    text = " ".join(sentences)
    return float(any(supports_evidence(text, ev) for ev in question.evidence))


def citation_precision(sentences: Sequence[AnswerSentence], passage_texts: Sequence[str]) -> float | None:
    """Share of the answer's ``[n]`` markers that point to a passage containing their sentence.

    ``n`` is 1-based: marker ``n`` cites ``passage_texts[n - 1]``; a marker past the end
    cites nothing and is wrong. Sentences and passages are compared normalised. None when the
    answer has no marker (a refusal)."""
    right = total = 0
    for sentence in sentences:
        for marker in sentence.markers:
            total += 1
            if 1 <= marker <= len(passage_texts) and contains_evidence(
                passage_texts[marker - 1], sentence.text
            ):
                right += 1
    return right / total if total else None


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
    predicted_unanswerable: bool | None  # None: the answer step was not run
    latency_ms: float  # the ask call when answers were run, else the retrieval
    relevant: int  # relevant passages in the index (pooled)
    ranking: dict[str, float] | None  # None for unanswerable questions: nothing to rank
    first_relevant_rank: int | None = None
    footnote_recall: float | None = None
    returned: list[str] = field(default_factory=list)  # passage ids (BEIR: document ids), in order
    retrieve_ms: float | None = None  # retrieval to the scored depth, language detection included
    answer_ms: float | None = None  # the answer step of the ask call, as the service timed it
    ask_ms: float | None = None  # the whole ask call (retrieval of its top_k + answer step)
    answer_support: float | None = None  # 1/0 for answerable questions with evidence, when answered
    citation_precision: float | None = None  # None without markers


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(statistics.fmean(kept)) if kept else None


def aggregate(scores: Sequence[QuestionScore]) -> dict[str, float | None]:
    """Means over a group of questions (a mode, a language, a kind).

    Ranking metrics: over the questions with something to rank. Abstention and answer
    metrics: over the questions whose answer step was run (``predicted_unanswerable`` set);
    None when there are none. ``answerable_refused``: share of the answerable questions the
    service refused to answer.
    """
    ranked = [s.ranking for s in scores if s.ranking is not None]
    summary: dict[str, float | None] = {"questions": float(len(scores)), "ranked": float(len(ranked))}
    names = list(RANKING_METRICS) + [n for r in ranked for n in r if n not in RANKING_METRICS]
    for name in dict.fromkeys(names):
        summary[name] = _mean(r.get(name) for r in ranked)
    summary["footnote_recall"] = _mean(s.footnote_recall for s in scores)
    asked = [s for s in scores if s.predicted_unanswerable is not None]
    summary["asked"] = float(len(asked))
    abstention = unanswerable_precision_recall(
        [s.gold_unanswerable for s in asked], [bool(s.predicted_unanswerable) for s in asked]
    )
    summary["unanswerable_precision"] = abstention["precision"]
    summary["unanswerable_recall"] = abstention["recall"]
    summary["answerable_refused"] = _mean(
        float(bool(s.predicted_unanswerable)) for s in asked if not s.gold_unanswerable
    )
    summary["answer_support"] = _mean(s.answer_support for s in scores)
    summary["citation_precision"] = _mean(s.citation_precision for s in scores)
    for prefix, values in (
        ("latency", [s.latency_ms for s in scores]),
        ("retrieve", [s.retrieve_ms for s in scores if s.retrieve_ms is not None]),
        ("answer", [s.answer_ms for s in scores if s.answer_ms is not None]),
        ("ask", [s.ask_ms for s in scores if s.ask_ms is not None]),
    ):
        latency = latency_summary(values)
        summary[f"{prefix}_median_ms"] = latency["median_ms"]
        summary[f"{prefix}_p95_ms"] = latency["p95_ms"]
    return summary
