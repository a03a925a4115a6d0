"""Runs a question set through the service, in every mode, and scores it.

Retrieval is scored on its own by default: each question goes to the service's retriever
(``service.retriever.search_with_embedding``) exactly as ``PolicyQAService.ask`` sends it
(the question cleaned by ``clean_question``, its language detected by ``detect_language``,
the request's filters through the service's own normaliser), once per mode, to ``depth``
passages, so recall@100 and MAP@100 see the whole ranking and a BEIR run never pays for the
answer step. With ``answers`` the runner then calls ``service.ask`` (``top_k`` 10) for the
answer metrics: answer support, citation precision, abstention.

Retrieval and answers are timed apart, after a few untimed warm-up questions per mode.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, cast

from core.languages import CORPUS_LANGUAGE, detect_language
from evaluation.beir import BeirFormatError, beir_settings, index_beir, load_beir, outcomes
from evaluation.gold import GoldFormatError, GoldQuestion, load_gold
from evaluation.metrics import (
    QuestionScore,
    RetrievedPassage,
    aggregate,
    answer_support,
    citation_precision,
    footnote_recall,
    judge,
    ranking_scores,
)
from evaluation.report import write_report
from evaluation.results import DEFAULT_DEPTH, WARMUP_QUESTIONS, EvalResult
from index.types import MODES, Hit, Mode, SearchFilters
from ingest.pipeline import alternates
from qa.answer_types import arrange
from qa.questions import clean_question
from qa.results import Answer, AskQuery, CitedPassage
from qa.service import PolicyQAService, get_service

RANKING_DEPTH = 10  # hit@k, MRR@10, nDCG@10, recall@10 read the top 10
ANSWER_TOP_K = 10  # passages of the ask call when answers are scored (its [n] markers cite them)


class QueryService(Protocol):
    """What the runner needs of the API service (qa/service.py)."""

    @property
    def retriever(self) -> Any: ...

    def ensure_index(self) -> Any: ...

    def ask(self, request: AskQuery) -> Answer: ...


#: Every passage of a document (kind passage and footnote), to find all the relevant ones.
DocumentPassages = Callable[[str], list[RetrievedPassage]]


def retrieved(passage: CitedPassage) -> RetrievedPassage:
    """The scoring view of a passage returned by ``ask``."""
    number = getattr(passage, "footnote_number", None)
    return RetrievedPassage(
        id=passage.id,
        doc_id=passage.citation.doc_id,
        kind=passage.kind,
        text=passage.text,
        footnotes=[f.number for f in passage.footnotes],
        footnote_number=number if passage.kind == "footnote" else None,
    )


def hit_passage(hit: Hit) -> RetrievedPassage:
    """The scoring view of a retriever hit."""
    p = hit.passage
    return RetrievedPassage(
        id=p.id,
        doc_id=p.doc_id,
        kind=p.kind,
        text=p.text,
        footnotes=[f.number for f in p.footnotes],
        footnote_number=p.footnote_number if p.kind == "footnote" else None,
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
        return [hit_passage(h) for h in retriever.get_document_passages(doc_id)]

    return passages


def _service_filters(service: Any, filters: SearchFilters | None) -> SearchFilters | None:
    """The filters as ``ask`` hands them to the retriever (``PolicyQAService.retrieval_filters``:
    fund names resolved to registry ids); as given for a service without that method."""
    normalise = getattr(service, "retrieval_filters", None)
    return normalise(filters) if callable(normalise) else filters


def order_depends_on_top_k(service: Any, mode: str, depth: int) -> bool:
    """Whether asking for ``depth`` passages reorders the first ones.

    Hybrid fuses ``max(top_k, fusion_depth)`` candidates of each ranker, and convex or DBSF
    fusion scales scores over those candidates: past ``fusion_depth`` the top 10 changes (59
    of the 101 dev questions at depth 100, fusion depth 50). The service answers with top_k
    at most 20, so its ranking is the one fused from ``fusion_depth`` candidates. BM25 and
    dense return the same first passages at any depth, up to the order of equal scores (9
    and 1 of the 101 dev questions put tied passages in another order): not worth a second
    search.
    """
    fusion_depth = getattr(getattr(service, "settings", None), "fusion_depth", 0)
    return mode == "hybrid" and depth > fusion_depth


class _Retrieval:
    """Retrieval as ``PolicyQAService.ask`` does it, to any depth, without the answer step."""

    def __init__(self, service: Any, filters: SearchFilters | None, language_fallback: str) -> None:
        self.service = service
        self.retriever = service.retriever
        self.filters = _service_filters(service, filters)
        self.fallback = language_fallback

    def language(self, question: str) -> str:
        return detect_language(question, fallback=self.fallback)

    def search(self, question: str, mode: str, top_k: int, language: str) -> list[Hit]:
        hits, _ = self.retriever.search_with_embedding(
            question, mode=mode, top_k=top_k, filters=self.filters, language=language
        )
        arranged = getattr(self.service, "arrange", None)
        if arranged is None:  # a service without its own (tests' stand-ins)
            return arrange(question, hits)
        return cast(list[Hit], arranged(question, hits, self.filters)[0])


def prime_answer_cache(service: Any) -> float | None:
    """Prime the answer cache before anything is timed, as the API does at start-up
    (``PolicyQAService.prime_answer_cache``); seconds taken.

    Without it the answer step's sentence cache, shared by the modes, fills as questions
    come: whichever mode asks first pays for encoding each passage's sentences and the
    others find them cached, so per-mode answer latencies would compare cold with warm.
    None when the service has nothing to prime.
    """
    prime = getattr(service, "prime_answer_cache", None)
    if prime is None:
        return None
    t0 = time.perf_counter()
    prime()
    return time.perf_counter() - t0


def _merge_head(
    head: Sequence[RetrievedPassage], ranking: Sequence[RetrievedPassage], depth: int
) -> list[RetrievedPassage]:
    """The service's own first passages, then the deep ranking's others in its order."""
    seen = {p.id for p in head}
    return [*head, *(p for p in ranking if p.id not in seen)][:depth]


def evaluate(
    questions: Sequence[GoldQuestion],
    service: QueryService,
    modes: Sequence[str] = MODES,
    *,
    depth: int = DEFAULT_DEPTH,
    answers: bool = False,
    answer_top_k: int = ANSWER_TOP_K,
    filters: SearchFilters | None = None,
    language_fallback: str = CORPUS_LANGUAGE,
    warmup: int = WARMUP_QUESTIONS,
    prime_answers: bool = True,
    document_passages: DocumentPassages | None = None,
    same_document: Mapping[str, str] | None = None,
    progress: bool = True,
    gold_name: str = "",
    settings: dict[str, Any] | None = None,
) -> EvalResult:
    """Retrieve every question in every mode to ``depth`` and score the rankings; with
    ``answers``, also ask each question (``answer_top_k`` passages) and score the answers.

    Relevant passages are judged over every passage of the question's document (when
    ``document_passages`` is given, by default from the service's retriever) plus everything
    any mode returned, so recall and nDCG know how many relevant passages exist.
    ``same_document`` maps the doc_id of another format of a document (the PDF of a text)
    to the doc_id the gold questions name, so either version's passages can be relevant.
    ``language_fallback``: the language of a question whose detection is unsure (the
    service's, the corpus language, unless the collection is in another: BEIR).

    The first 10 passages scored are those the service returns (see
    :func:`order_depends_on_top_k`); the deep ranking supplies the rest. With ``answers``
    and ``prime_answers``, the answer cache is primed first (:func:`prime_answer_cache`).
    """
    from tqdm.auto import tqdm

    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"Unknown mode(s) {', '.join(unknown)}: use some of {', '.join(MODES)}.")
    if not questions:
        raise ValueError("No questions to evaluate.")
    if depth < RANKING_DEPTH:
        raise ValueError(f"depth must be at least {RANKING_DEPTH}: the @10 metrics read the top 10.")
    started = time.perf_counter()
    modes = list(dict.fromkeys(modes))
    same_document = dict(same_document or {})
    versions: dict[str, list[str]] = {}
    for alternate, main in same_document.items():
        versions.setdefault(main, [main]).append(alternate)
    if document_passages is None:
        document_passages = document_passages_from(service)
    retrieval = _Retrieval(service, filters, language_fallback)
    heads = {m: order_depends_on_top_k(service, m, depth) for m in modes}
    head_from_answer = answers and answer_top_k >= RANKING_DEPTH

    def request(question: GoldQuestion, mode: str) -> AskQuery:
        return AskQuery(
            question=question.question,
            top_k=answer_top_k,
            mode=cast(Mode, mode),
            filters=filters,
            generate=False,
        )

    primed = prime_answer_cache(service) if answers and prime_answers else None
    for question in questions[: max(warmup, 1)]:  # models, sessions and pipelines warm before timing
        text = clean_question(question.question)
        language = retrieval.language(text)
        for mode in modes:
            retrieval.search(text, mode, depth, language)
            if heads[mode] and not head_from_answer:
                retrieval.search(text, mode, RANKING_DEPTH, language)
            if answers:
                service.ask(request(question, mode))
    warmed = time.perf_counter()

    ids: dict[str, dict[str, list[str]]] = {m: {} for m in modes}
    footnotes: dict[str, dict[str, float | None]] = {m: {} for m in modes}
    flagged: dict[str, dict[str, bool | None]] = {m: {} for m in modes}
    support: dict[str, dict[str, float | None]] = {m: {} for m in modes}
    cited: dict[str, dict[str, float | None]] = {m: {} for m in modes}
    timing: dict[str, dict[str, dict[str, float | None]]] = {m: {} for m in modes}
    qrels: dict[str, dict[str, int]] = {}
    doc_cache: dict[str, list[RetrievedPassage]] = {}  # gold sets: every passage of the documents named
    bar = tqdm(
        total=len(questions) * len(modes),
        desc="questions x modes",
        unit="question",
        disable=not progress,
        file=sys.stderr,
    )
    for question in questions:  # modes interleaved, so that load on the machine hits them alike
        t0 = time.perf_counter()
        text = clean_question(question.question)
        language = retrieval.language(text)
        detect_ms = (time.perf_counter() - t0) * 1000.0
        judged = question.answerable and question.qrels is None
        if question.answerable:
            qrels[question.id] = dict(question.qrels) if question.qrels is not None else {}
        if judged and question.doc and document_passages is not None:
            if question.doc not in doc_cache:
                doc_cache[question.doc] = [
                    _as_document(p, same_document)
                    for doc_id in versions.get(question.doc, [question.doc])
                    for p in document_passages(doc_id)
                ]
            qrels[question.id].update(judge(question, doc_cache[question.doc]))
        for mode in modes:
            bar.set_postfix_str(f"{question.id} {mode}", refresh=False)
            t0 = time.perf_counter()
            hits = retrieval.search(text, mode, depth, language)
            retrieve_ms = detect_ms + (time.perf_counter() - t0) * 1000.0
            ranking = [_as_document(hit_passage(h), same_document) for h in hits]
            del hits
            head: list[RetrievedPassage] | None = None
            times: dict[str, float | None] = {"retrieve_ms": retrieve_ms, "answer_ms": None, "ask_ms": None}
            if answers:
                t0 = time.perf_counter()
                response = service.ask(request(question, mode))
                times["ask_ms"] = (time.perf_counter() - t0) * 1000.0
                times["answer_ms"] = response.timings_ms.get("answer_ms")
                flagged[mode][question.id] = not response.answerable
                support[mode][question.id] = answer_support(question, [s.text for s in response.sentences])
                cited[mode][question.id] = citation_precision(
                    response.sentences, [p.text for p in response.passages]
                )
                if heads[mode] and head_from_answer:
                    head = [
                        _as_document(retrieved(p), same_document) for p in response.passages[:RANKING_DEPTH]
                    ]
            else:
                flagged[mode][question.id] = None
                support[mode][question.id] = cited[mode][question.id] = None
            if heads[mode] and head is None:
                head = [
                    _as_document(hit_passage(h), same_document)
                    for h in retrieval.search(text, mode, RANKING_DEPTH, language)
                ]
            if head is not None:
                ranking = _merge_head(head, ranking, depth)
            timing[mode][question.id] = times
            ids[mode][question.id] = _ranked_ids(question, ranking)
            footnotes[mode][question.id] = footnote_recall(question, ranking)
            if judged:  # pooled: every mode's passages are judged for the question
                qrels[question.id].update(judge(question, ranking))
            bar.update()
    bar.close()
    asked = time.perf_counter()
    unreachable = [qid for qid, rel in qrels.items() if not rel]

    scores: dict[str, list[QuestionScore]] = {}
    for mode in modes:
        per_question = ranking_scores(qrels, {qid: ids[mode][qid] for qid in qrels}, depth)
        scores[mode] = [
            QuestionScore(
                id=q.id,
                lang=q.lang,
                kind=q.kind,
                mode=mode,
                gold_unanswerable=not q.answerable,
                predicted_unanswerable=flagged[mode][q.id],
                latency_ms=float(timing[mode][q.id]["ask_ms"] or timing[mode][q.id]["retrieve_ms"] or 0.0),
                relevant=len(qrels.get(q.id, {})),
                ranking=per_question.get(q.id),
                first_relevant_rank=_first_relevant(ids[mode][q.id], qrels[q.id]) if q.id in qrels else None,
                footnote_recall=footnotes[mode][q.id],
                returned=ids[mode][q.id],
                retrieve_ms=timing[mode][q.id]["retrieve_ms"],
                answer_ms=timing[mode][q.id]["answer_ms"],
                ask_ms=timing[mode][q.id]["ask_ms"],
                answer_support=support[mode][q.id],
                citation_precision=cited[mode][q.id],
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
        depth=depth,
        answers=answers,
        warmup=min(max(warmup, 1), len(questions)),
        seconds={
            **({"prime_answer_cache": round(primed, 2)} if primed is not None else {}),
            "warm_up": round(warmed - started - (primed or 0.0), 2),
            "questions": round(asked - warmed, 2),
            "scoring": round(time.perf_counter() - asked, 2),
        },
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
    names = ["hit@1", "hit@5", "mrr@10", "ndcg@10", f"recall@{result.depth}", f"map@{result.depth}"]
    names.append("footnote_recall")
    if result.answers:
        names += ["answer_support", "citation_precision", "unanswerable_recall", "answerable_refused"]
    width = max(len(n) for n in names) + 1
    lines = ["mode     " + " ".join(f"{n:>{width}}" for n in names) + f" {'retrieval p50 ms':>17}"]
    for mode in result.modes:
        overall = result.overall[mode]
        values = [overall.get(n) for n in names]
        p50 = overall.get("retrieve_median_ms")
        lines.append(
            f"{mode:<8} "
            + " ".join(f"{'-' if v is None else f'{v:.3f}':>{width}}" for v in values)
            + f" {'-' if p50 is None else f'{p50:.1f}':>17}"
        )
    return "\n".join(lines)


def run_cli(
    gold: Path, modes: list[str], out: Path, depth: int = DEFAULT_DEPTH, answers: bool | None = None
) -> EvalResult:
    """``policy-qa eval``: a gold JSONL file or a BEIR folder -> report.md, report.json, charts.

    ``answers`` None: scored for a gold JSONL set whose questions have evidence, not for a
    BEIR folder (its qrels judge documents, not answers; the answer step would only cost).
    """
    import typer

    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        typer.echo(
            f"Error: unknown mode(s) {', '.join(unknown) or '(none given)'}; use some of {','.join(MODES)}.",
            err=True,
        )
        raise typer.Exit(2)
    if depth < RANKING_DEPTH:
        typer.echo(f"Error: --depth must be at least {RANKING_DEPTH}.", err=True)
        raise typer.Exit(2)
    gold = Path(gold)
    seconds: dict[str, float] = {}
    ingest: dict[str, Any] = {}
    language_fallback = CORPUS_LANGUAGE
    try:
        t0 = time.perf_counter()
        if gold.is_dir():
            dataset = load_beir(gold)
            seconds["read"] = time.perf_counter() - t0
            typer.echo(
                f"BEIR set {dataset.name}: {len(dataset.documents)} documents, {len(dataset.questions)} judged "
                f"queries, language {dataset.language}."
            )
            service: Any = PolicyQAService(beir_settings(dataset))
            t0 = time.perf_counter()
            service.load()
            seconds["load_models"] = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            report = index_beir(dataset, service.indexer)
            seconds["index"] = time.perf_counter() - t0
            ingest = {
                "documents": len(dataset.documents),
                "passages": sum(d.passages + d.footnotes for d in report.documents),
                "points_written": report.points_written,
                "outcomes": outcomes(report),
                "embed_index_s": round(report.timings.get("embed_index", 0.0), 2),
                "cpu_s": round(time.process_time() - c0, 2),  # all threads: steadier on a shared machine
            }
            questions = dataset.questions
            same_document: dict[str, str] = {}
            language_fallback = dataset.language
            if answers is None:
                answers = False
        else:
            questions = load_gold(gold)
            seconds["read"] = time.perf_counter() - t0
            service = get_service()
            t0 = time.perf_counter()
            service.load()
            seconds["load_models"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            same_document = alternates(service.settings.corpus_dir)
            sync = service.ensure_index()
            seconds["index"] = time.perf_counter() - t0
            if sync is not None:
                ingest = {
                    "documents": len(sync.documents),
                    "points_written": sync.points_written,
                    "outcomes": outcomes(sync),
                }
            if answers is None:
                answers = any(q.evidence for q in questions)
    except (GoldFormatError, BeirFormatError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc

    result = evaluate(
        questions,
        service,
        modes,
        depth=depth,
        answers=answers,
        language_fallback=language_fallback,
        same_document=same_document,
        gold_name=str(gold),
        settings=describe_settings(service.settings),
    )
    result.seconds = {**{k: round(v, 2) for k, v in seconds.items()}, **result.seconds}
    result.ingest = ingest
    paths = write_report(result, out)
    typer.echo(summary_table(result))
    if result.unreachable:
        typer.echo(f"Evidence found in no indexed passage: {', '.join(result.unreachable)} (scored 0).")
    phases = ", ".join(f"{k.replace('_', ' ')} {v:.1f}s" for k, v in result.seconds.items())
    typer.echo(f"Answers {'scored' if answers else 'not run (retrieval only)'}; {phases}.")
    typer.echo("Written: " + ", ".join(str(p) for p in paths.values()))
    return result
