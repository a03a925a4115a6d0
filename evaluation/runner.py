"""Runs a question set through the service, in every mode, and scores it.

Every question goes through ``service.ask`` exactly as an API call would (same language
detection, fusion, footnote linking and abstention), once per mode. One call per question
and mode gives both the ranking (its passages, top 10) and the answer-side signals
(``answerable``, footnotes returned), so the query is embedded once, and the latency
measured is the latency a user sees.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from evaluation.gold import GoldQuestion
from evaluation.metrics import (
    QuestionScore,
    RetrievedPassage,
    aggregate,
    footnote_recall,
    judge,
    ranking_scores,
)
from index.types import MODES
from qa.results import Answer, AskQuery, CitedPassage

RANKING_DEPTH = 10  # recall@10, MRR@10, nDCG@10 need the top 10


class QueryService(Protocol):
    """What the runner needs of the API service (qa/service.py)."""

    def ensure_index(self) -> Any: ...

    def ask(self, request: AskQuery) -> Answer: ...


#: Every passage of a document (kind passage and footnote), to find all the relevant ones.
DocumentPassages = Callable[[str], list[RetrievedPassage]]


@dataclass
class EvalResult:
    gold: str
    modes: list[str]
    question_ids: list[str]
    answerable: int
    scores: dict[str, list[QuestionScore]]
    overall: dict[str, dict[str, float | None]]
    by_language: dict[str, dict[str, dict[str, float | None]]]
    by_kind: dict[str, dict[str, dict[str, float | None]]]
    unreachable: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def questions(self) -> int:
        return len(self.question_ids)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = self.questions
        return data


def retrieved(passage: CitedPassage) -> RetrievedPassage:
    """The scoring view of a returned passage."""
    number = getattr(passage, "footnote_number", None)
    return RetrievedPassage(
        id=passage.id,
        doc_id=passage.citation.doc_id,
        kind=passage.kind,
        text=passage.text,
        footnotes=[f.number for f in passage.footnotes],
        footnote_number=number if passage.kind == "footnote" else None,
    )


def _as_document(passage: RetrievedPassage, same_document: Mapping[str, str]) -> RetrievedPassage:
    """The passage under the doc_id the gold set uses for its document."""
    main = same_document.get(passage.doc_id)
    return passage if main is None else replace(passage, doc_id=main)


def _ranked_ids(question: GoldQuestion, ranking: Sequence[RetrievedPassage]) -> list[str]:
    """Passage ids for gold sets; for BEIR (judged per document) each document at its first rank."""
    if question.qrels is None:
        return [p.id for p in ranking]
    return list(dict.fromkeys(p.doc_id for p in ranking))


def _first_relevant(ids: Sequence[str], relevant: dict[str, int]) -> int | None:
    return next((rank for rank, pid in enumerate(ids, start=1) if pid in relevant), None)


def _group(
    scores: list[QuestionScore], key: Callable[[QuestionScore], str]
) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[QuestionScore]] = {}
    for score in scores:
        groups.setdefault(key(score), []).append(score)
    return {name: aggregate(members) for name, members in sorted(groups.items())}


def document_passages_from(service: Any) -> DocumentPassages | None:
    """All passages of a document, from the service's retriever when it exposes one."""
    retriever = getattr(service, "retriever", None)
    if retriever is None or not hasattr(retriever, "get_document_passages"):
        return None

    def passages(doc_id: str) -> list[RetrievedPassage]:
        return [
            RetrievedPassage(
                id=h.passage.id,
                doc_id=h.passage.doc_id,
                kind=h.passage.kind,
                text=h.passage.text,
                footnotes=[f.number for f in h.passage.footnotes],
                footnote_number=h.passage.footnote_number,
            )
            for h in retriever.get_document_passages(doc_id)
        ]

    return passages


def evaluate(
    questions: Sequence[GoldQuestion],
    service: QueryService,
    modes: Sequence[str] = MODES,
    *,
    document_passages: DocumentPassages | None = None,
    same_document: Mapping[str, str] | None = None,
    progress: bool = True,
    gold_name: str = "",
    settings: dict[str, Any] | None = None,
) -> EvalResult:
    """Ask every question in every mode and score the answers.

    Relevant passages are judged over every passage of the question's document (when
    ``document_passages`` is given, by default from the service's retriever) plus everything
    any mode returned, so recall and nDCG know how many relevant passages exist.
    ``same_document`` maps the doc_id of another format of a document (the PDF of a text)
    to the doc_id the gold questions name, so either version's passages can be relevant.
    """
    from tqdm.auto import tqdm

    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"Unknown mode(s) {', '.join(unknown)}: use some of {', '.join(MODES)}.")
    if not questions:
        raise ValueError("No questions to evaluate.")
    modes = list(dict.fromkeys(modes))
    same_document = dict(same_document or {})
    versions: dict[str, list[str]] = {}
    for alternate, main in same_document.items():
        versions.setdefault(main, [main]).append(alternate)
    if document_passages is None:
        document_passages = document_passages_from(service)

    for mode in modes:  # load models and build pipelines before anything is timed
        service.ask(AskQuery(question=questions[0].question, mode=mode, top_k=RANKING_DEPTH, generate=False))

    rankings: dict[str, dict[str, list[RetrievedPassage]]] = {m: {} for m in modes}
    flagged: dict[str, dict[str, bool]] = {m: {} for m in modes}
    latency: dict[str, dict[str, float]] = {m: {} for m in modes}
    retrieval: dict[str, dict[str, float | None]] = {m: {} for m in modes}
    bar = tqdm(
        total=len(questions) * len(modes),
        desc="questions x modes",
        unit="ask",
        disable=not progress,
        file=sys.stderr,
    )
    for question in questions:  # modes interleaved, so that load on the machine hits them alike
        for mode in modes:
            bar.set_postfix_str(f"{question.id} {mode}", refresh=False)
            request = AskQuery(question=question.question, mode=mode, top_k=RANKING_DEPTH, generate=False)
            t0 = time.perf_counter()
            response = service.ask(request)
            latency[mode][question.id] = (time.perf_counter() - t0) * 1000.0
            retrieval[mode][question.id] = response.timings_ms.get("retrieve_ms")
            rankings[mode][question.id] = [
                _as_document(retrieved(p), same_document) for p in response.passages[:RANKING_DEPTH]
            ]
            flagged[mode][question.id] = not response.answerable
            bar.update()
    bar.close()

    # relevance judgements: for BEIR straight from the qrels; for gold sets pooled over the
    # question's document and every mode's results
    qrels: dict[str, dict[str, int]] = {}
    doc_cache: dict[str, list[RetrievedPassage]] = {}
    for question in questions:
        if not question.answerable:
            continue
        if question.qrels is not None:
            qrels[question.id] = dict(question.qrels)
            continue
        pool = [p for mode in modes for p in rankings[mode][question.id]]
        if question.doc and document_passages is not None:
            if question.doc not in doc_cache:
                doc_cache[question.doc] = [
                    _as_document(p, same_document)
                    for doc_id in versions.get(question.doc, [question.doc])
                    for p in document_passages(doc_id)
                ]
            pool = doc_cache[question.doc] + pool
        qrels[question.id] = judge(question, pool)
    unreachable = [qid for qid, rel in qrels.items() if not rel]

    scores: dict[str, list[QuestionScore]] = {}
    for mode in modes:
        ids = {q.id: _ranked_ids(q, rankings[mode][q.id]) for q in questions}
        per_question = ranking_scores(qrels, {qid: ids[qid] for qid in qrels})
        scores[mode] = [
            QuestionScore(
                id=q.id,
                lang=q.lang,
                kind=q.kind,
                mode=mode,
                gold_unanswerable=not q.answerable,
                predicted_unanswerable=flagged[mode][q.id],
                latency_ms=latency[mode][q.id],
                relevant=len(qrels.get(q.id, {})),
                ranking=per_question.get(q.id),
                first_relevant_rank=_first_relevant(ids[q.id], qrels[q.id]) if q.id in qrels else None,
                footnote_recall=footnote_recall(q, rankings[mode][q.id]),
                returned=ids[q.id],
                retrieve_ms=retrieval[mode][q.id],
            )
            for q in questions
        ]
    return EvalResult(
        gold=gold_name,
        modes=modes,
        question_ids=[q.id for q in questions],
        answerable=len(qrels),
        scores=scores,
        overall={m: aggregate(scores[m]) for m in modes},
        by_language={m: _group(scores[m], lambda s: s.lang) for m in modes},
        by_kind={m: _group(scores[m], lambda s: s.kind) for m in modes},
        unreachable=unreachable,
        settings=settings or {},
    )


def describe_settings(settings: Any) -> dict[str, Any]:
    """The settings that change the scores, recorded with them."""
    return {
        "embedding_model": settings.embedding_model,
        "fusion": f"{settings.fusion_method} (dense weight {settings.fusion_dense_weight}, rrf k {settings.fusion_rrf_k})",
        "fusion_depth": settings.fusion_depth,
        "collection": settings.qdrant_collection,
    }


def summary_table(result: EvalResult) -> str:
    """A few lines for the terminal: the overall metrics by mode."""
    names = ["hit@1", "hit@5", "recall@10", "mrr@10", "ndcg@10", "footnote_recall"]
    lines = ["mode     " + " ".join(f"{n:>15}" for n in names)]
    for mode in result.modes:
        values = [result.overall[mode].get(n) for n in names]
        lines.append(f"{mode:<8} " + " ".join(f"{'-' if v is None else f'{v:.3f}':>15}" for v in values))
    return "\n".join(lines)


def run_cli(gold: Path, modes: list[str], out: Path) -> None:
    """``policy-qa eval``: a gold JSONL file or a BEIR folder -> report.md, report.json, charts."""
    import typer

    from evaluation.beir import BeirFormatError, load_beir, prepare_beir_service
    from evaluation.gold import GoldFormatError, load_gold
    from evaluation.report import write_report
    from ingest.pipeline import alternates

    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        typer.echo(
            f"Error: unknown mode(s) {', '.join(unknown) or '(none given)'}; use some of {','.join(MODES)}.",
            err=True,
        )
        raise typer.Exit(2)
    gold = Path(gold)
    try:
        if gold.is_dir():
            dataset = load_beir(gold)
            typer.echo(
                f"BEIR set {dataset.name}: {len(dataset.documents)} documents, {len(dataset.questions)} judged queries."
            )
            service = prepare_beir_service(dataset)
            questions = dataset.questions
            same_document = {}
        else:
            from qa.service import get_service

            questions = load_gold(gold)
            service = get_service()
            same_document = alternates(service.settings.corpus_dir)
            service.ensure_index()
    except (GoldFormatError, BeirFormatError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc

    result = evaluate(
        questions,
        service,
        modes,
        same_document=same_document,
        gold_name=str(gold),
        settings=describe_settings(service.settings),
    )
    paths = write_report(result, out)
    typer.echo(summary_table(result))
    if result.unreachable:
        typer.echo(f"Evidence found in no indexed passage: {', '.join(result.unreachable)} (scored 0).")
    typer.echo("Written: " + ", ".join(str(p) for p in paths.values()))
