"""The question-answering service behind the HTTP API, the CLI and the evaluation runner.

One :class:`PolicyQAService` per process holds the embedding model, the Qdrant store, the
retriever and the indexer, loaded once. Reads (ask, search, listings) run concurrently: the
query pipelines keep no per-query state. Writes (corpus sync, uploads, deletions) take one
lock, so two uploads of the same document cannot interleave their upsert/delete steps.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import EmptyDocument, NotFound
from core.languages import detect_language, warm_up_detector
from core.settings import Settings, get_settings
from index.documents import document_to_passage, fingerprint
from index.indexing import Indexer, IngestReport, ReconcileReport
from index.retrieval import Retriever, filters_to_haystack
from index.types import Hit, Mode, SearchFilters
from ingest.chunker import chunk_document
from ingest.funds import Fund, FundRegistry, resolve
from ingest.models import Passage
from ingest.readers import SUPPORTED, read_bytes
from qa import budget
from qa.answer import ExtractiveAnswerer, message_for
from qa.answer_types import arrange, asks_for_location
from qa.funding import asks_about_funding, fund_mentions
from qa.generator import AnswerGenerator
from qa.jobs import Job, JobConflict, JobQueue
from qa.questions import clean_question
from qa.results import (
    SOURCE_FIELDS,
    Answer,
    AnswerCacheState,
    AskQuery,
    CitedPassage,
    DeleteOutcome,
    DocumentDetail,
    DocumentInfo,
    FundDetail,
    FundSummary,
    SearchResult,
    UploadOutcome,
)
from qa.sections import Location, SectionLocator
from qa.uploads import (
    INCOMING_SUFFIX,
    DocumentExists,
    check_pages,
    check_passages,
    cited_path,
    kept_copy_name,
    pdf_page_count,
    public_source_path,
    safe_filename,
    upload_doc_id,
    upload_suffix,
)

log = logging.getLogger(__name__)

#: Upload types the readers handle, by file extension.
UPLOAD_SUFFIXES: tuple[str, ...] = SUPPORTED


@dataclass(frozen=True)
class PreparedUpload:
    """An upload that passed the cheap checks (name, type, size, pages, id), ready to ingest."""

    name: str  # the file name as sent, made safe
    doc_id: str
    suffix: str  # the type it is read as (a PDF sent as .txt is read as .pdf)
    data: bytes
    replace: bool = False


class PolicyQAService:
    """Search, answers, funds and document management over one index."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._indexer: Indexer | None = None
        self._retriever: Retriever | None = None
        self._answerer: ExtractiveAnswerer | None = None
        self._generator: AnswerGenerator | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.ready = False
        self.load_error: str | None = None
        self.startup_report: IngestReport | None = None
        self.reconcile_report: ReconcileReport | None = None
        self.answer_cache: AnswerCacheState = "off"
        #: Upload jobs, run one at a time outside the request (POST /documents, GET /jobs/{id}).
        self.jobs = JobQueue(self.settings.max_pending_uploads, self.settings.finished_jobs_kept)

    # ------------------------------------------------------------------ lifecycle

    def load(self) -> None:
        """Load the model and open the store (once; later calls return at once)."""
        with self._load_lock:
            if self._retriever is not None:
                return
            t0 = time.perf_counter()
            indexer = Indexer(self.settings)
            retriever = Retriever(self.settings)
            retriever.warm_up()
            answerer = ExtractiveAnswerer()
            answerer.warm_up(self.settings)
            answerer.sentence_store = retriever.store
            warm_up_detector()
            self._generator = AnswerGenerator.from_settings(self.settings)
            self._indexer, self._answerer, self._retriever = indexer, answerer, retriever
            log.info("model and store loaded in %.1fs", time.perf_counter() - t0)

    def start(self) -> None:
        """Load, then index the corpus if the index is empty; records failures for /ready."""
        try:
            self.load()
            self.startup_report = self.ensure_index()
            self.ready = True
            self.load_error = None
            if self.settings.prime_answer_cache:
                self.answer_cache = "priming"
                threading.Thread(target=self._prime, name="prime-answer-cache", daemon=True).start()
        except Exception as exc:  # reported by /ready; the process stays up for /health
            log.exception("start-up failed")
            # kept for the log and the operator; clients are told "see the server log" only
            self.load_error = f"{type(exc).__name__}: {exc}"

    def prime_answer_cache(self) -> int:
        """Encode the sentences of the passages the store holds no vectors for (a shard written
        before sentence vectors were stored), at most ``prime_answer_cache_passages`` of them,
        so that no question pays for them; returns how many sentences were encoded."""
        docs = self.retriever.store.without_sentence_vectors(self.settings.prime_answer_cache_passages)
        return self.answerer.prime([(d.id, d.content or "") for d in docs])

    def _prime(self) -> None:
        try:
            t0 = time.perf_counter()
            n = self.prime_answer_cache()
            log.info(
                "answer cache primed with %d sentences in %.1fs (the others are read from the store)",
                n,
                time.perf_counter() - t0,
            )
            self.answer_cache = "primed"
        except Exception:  # an optimisation only: answers still work without it
            log.exception("priming the answer cache failed")
            self.answer_cache = "failed"

    def ensure_index(self) -> IngestReport | None:
        """Bring the index in step with ``settings.corpus_dir`` (unless ``ingest_on_startup`` is off).

        Every start compares the corpus with the manifest (unchanged files are parsed, not
        embedded): a start-up ingest killed half-way is finished by the next start, not only an
        empty index filled. An index left by qdrant-client's local mode is rebuilt first. Then the
        index is reconciled with the manifest (``Indexer.reconcile``), before the corpus sync and
        whether or not it runs: text that an interrupted ingest, upload or deletion left behind
        without an acknowledged manifest record is removed, and an acknowledged document missing
        passages is ingested again from its file (or removed when its file is gone).
        """
        self.load()
        self.rebuild_legacy_index()
        with self._write_lock:
            self.reconcile_report = self.indexer.reconcile()
            self._drop_incoming_copies()
        if self.reconcile_report.changed:
            log.warning("start-up reconciliation: %s", self.reconcile_report.summary())
        if not self.settings.ingest_on_startup:
            return None
        corpus = Path(self.settings.corpus_dir)
        if not corpus.is_dir():
            log.warning("no corpus folder at %s: nothing to ingest at start-up", corpus)
            return None
        with self._write_lock:
            report = self.indexer.sync_corpus(corpus)
        if report.written:
            log.info("start-up ingest of %s:\n%s", corpus, report.summary())
        return report

    def rebuild_legacy_index(self) -> IngestReport | None:
        """An index left by qdrant-client's local mode is rebuilt (see Indexer.rebuild_legacy_index)."""
        with self._write_lock:
            return self.indexer.rebuild_legacy_index()

    @property
    def indexer(self) -> Indexer:
        if self._indexer is None:
            self.load()
        assert self._indexer is not None
        return self._indexer

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self.load()
        assert self._retriever is not None
        return self._retriever

    @property
    def answerer(self) -> ExtractiveAnswerer:
        if self._answerer is None:
            self.load()
        assert self._answerer is not None
        return self._answerer

    @property
    def generator(self) -> AnswerGenerator | None:
        return self._generator

    @generator.setter
    def generator(self, value: AnswerGenerator | None) -> None:
        self._generator = value

    # ------------------------------------------------------------------ reads

    @staticmethod
    def retrieval_filters(filters: SearchFilters | None) -> SearchFilters | None:
        """The filters as ``ask`` and ``search`` hand them to the retriever: funds named by
        any of their names (FSE+, ESF+...) become registry ids. Public for callers that
        query the retriever directly (the evaluation runner)."""
        if filters is None or not filters.funds:
            return filters
        return replace(filters, funds=[resolve(f) or f for f in filters.funds])

    def ask(self, request: AskQuery) -> Answer:
        """Retrieve, then answer extractively (and by the LLM when configured) with [n] markers."""
        question = clean_question(request.question)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        budget.check("retrieval")  # the request's time budget (qa/budget.py): stop between stages
        language = detect_language(question)
        funding = asks_about_funding(question)
        mode: Mode = request.mode or self.settings.default_mode
        # the decision reads the same number of passages whatever top_k the caller wants back
        depth = max(request.top_k, self.answerer.candidate_passages)
        hits, query_embedding = self.retriever.search_with_embedding(
            question,
            mode=mode,
            top_k=depth,
            filters=self.retrieval_filters(request.filters),
            language=language,
        )
        hits, location = self.arrange(question, hits, request.filters)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        budget.check("the extractive answer")
        t1 = time.perf_counter()
        extract = self.answerer.run(
            query=question,
            hits=hits,
            language=language,
            max_marker=request.top_k,
            query_embedding=query_embedding,
            funding=funding,
            location=location,
        )["answer"]
        hits = hits[: request.top_k]
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000
        passages = self._cite(hits)
        response = Answer(
            question=question,
            language=language,
            mode=mode,
            answerable=extract.answerable,
            answer=extract.text,
            sentences=extract.answer_sentences(),
            message=None if extract.answerable else message_for(language),
            passages=passages,
            funds=fund_mentions(passages) if funding else [],
            answerability=extract.decision_model(),
        )
        wants_llm = request.generate if request.generate is not None else self._generator is not None
        if wants_llm:
            if self._generator is None:
                response.warnings.append(
                    "No generated answer: no LLM endpoint is configured. Set POLICYQA_LLM_BASE_URL and "
                    "POLICYQA_LLM_MODEL (and POLICYQA_LLM_API_KEY if the endpoint needs one)."
                )
            elif not extract.answerable:
                response.warnings.append(
                    "No generated answer: the passages found do not answer the question."
                )
            else:
                budget.check("the generated answer")
                t2 = time.perf_counter()
                try:
                    response.generated = self._generator.generate(question, language, passages)
                except Exception as exc:  # the extractive answer stands on its own
                    log.warning("generation failed: %s", exc)
                    response.warnings.append(
                        f"The LLM endpoint failed ({type(exc).__name__}); extractive answer only."
                    )
                timings["generate_ms"] = (time.perf_counter() - t2) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        response.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        return response

    def search(
        self, query: str, mode: Mode | None = None, top_k: int = 10, filters: SearchFilters | None = None
    ) -> SearchResult:
        query = clean_question(query)
        mode = mode or self.settings.default_mode
        budget.check("retrieval")
        hits = self.retriever.search(query, mode=mode, top_k=top_k, filters=self.retrieval_filters(filters))
        return SearchResult(
            query=query,
            mode=mode,
            passages=self._cite(hits),
        )

    def arrange(
        self, question: str, hits: list[Hit], filters: SearchFilters | None = None
    ) -> tuple[list[Hit], Location | None]:
        """The order shown for a question (:func:`qa.answer_types.arrange`); for a question
        asking under which heading something is dealt with, the outline listing that heading
        first (:class:`qa.sections.SectionLocator`), and the heading found. Not when ``filters``
        exclude outlines (other kinds only, or passages naming a fund: an outline names none),
        since the outline may not have been retrieved."""
        outlines_allowed = filters is None or (
            (not filters.kinds or "outline" in filters.kinds) and not filters.funds
        )
        if outlines_allowed and asks_for_location(question):
            located, location = SectionLocator(self._outlines).arrange(hits)
            if location is not None:
                return located, location
        return arrange(question, hits), None  # also when no outline lists a heading (a web page)

    def _outlines(self, doc_id: str) -> list[Passage]:
        """A document's outline passages (a chapter's headings each): a filtered read, both
        fields keyword-indexed."""
        documents = self.retriever.store.filter_documents(
            filters_to_haystack(SearchFilters(doc_ids=[doc_id], kinds=["outline"]))
        )
        return [document_to_passage(d) for d in documents]

    def _cite(self, hits: list[Hit]) -> list[CitedPassage]:
        """The hits as cited passages, markers [1], [2]... in order, each citation carrying its
        document's reference, date, address and publisher (see qa.results.Citation)."""
        doc_ids = {h.passage.doc_id for h in hits} | {c.doc_id for h in hits for c in h.cited_by}
        sources = {doc_id: self._document_source(doc_id) for doc_id in sorted(doc_ids)}
        return [CitedPassage.from_hit(h, marker, sources) for marker, h in enumerate(hits, start=1)]

    def _document_source(self, doc_id: str) -> dict[str, Any]:
        """The citation fields of a document's manifest record (empty when it has none):
        one small lookup per cited document (SQLite, or the server's manifest collection)."""
        record = self.indexer.manifest.get(doc_id) or {}
        metadata = record.get("metadata") or {}
        return {name: metadata[name] for name in SOURCE_FIELDS if name in metadata}

    # ------------------------------------------------------------------ funds

    def _fund_counts(self, fund_id: str) -> tuple[int, int]:
        store = self.retriever.store

        def count(kind: str) -> int:
            return store.count_documents_by_filter(
                {
                    "operator": "AND",
                    "conditions": [
                        {"field": "meta.funds", "operator": "in", "value": [fund_id]},
                        {"field": "meta.kind", "operator": "==", "value": kind},
                    ],
                }
            )

        return count("passage"), count("footnote")

    def _fund_summary(self, fund: Fund) -> FundSummary:
        passages, footnotes = self._fund_counts(fund.id)
        return FundSummary(
            id=fund.id,
            name=fund.name_fr,
            name_en=fund.name_en,
            acronyms=list(fund.acronyms),
            aliases=list(fund.aliases),
            details=dict(fund.extra),
            passages=passages,
            footnotes=footnotes,
        )

    def funds(self) -> list[FundSummary]:
        """Every fund of the registry, with how many passages and footnotes mention it."""
        return [self._fund_summary(f) for f in FundRegistry.load().funds]

    def fund(self, name: str) -> FundDetail:
        """A fund named by id or any of its names, and the passages and footnotes that mention it."""
        registry = FundRegistry.load()
        fund_id = registry.resolve(name)
        if fund_id is None:
            raise NotFound(f"No fund is called {name!r}. GET /funds lists the funds and their names.")
        hits: list[Hit] = self.retriever.passages_with_fund(fund_id)
        body = [h for h in hits if h.passage.kind == "passage"]
        notes = [h for h in hits if h.passage.kind == "footnote"]
        return FundDetail(
            fund=self._fund_summary(registry.by_id[fund_id]),
            passages=self._cite(body),
            footnotes=self._cite(notes),
        )

    # ------------------------------------------------------------------ documents

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo.from_record(r) for r in self.indexer.documents()]

    def _manifest(self, doc_id: str) -> dict[str, Any]:
        record = self.indexer.manifest.get(doc_id)
        if record is None:
            raise NotFound(
                f"No document {doc_id!r} in the index. GET /documents lists the indexed documents."
            )
        return record

    def document(self, doc_id: str) -> DocumentDetail:
        record = self._manifest(doc_id)
        hits = self.retriever.get_document_passages(doc_id)
        return DocumentDetail(
            document=DocumentInfo.from_record(record),
            passages=self._cite(hits),
        )

    def known_documents(self, doc_ids: list[str]) -> list[str]:
        """The ids of ``doc_ids`` that the manifest knows, in order (filters drop the others)."""
        manifest = self.indexer.manifest
        return [d for d in doc_ids if manifest.get(d) is not None]

    # ---- uploads: checked at once, ingested by a job (or synchronously: ingest_upload)

    def prepare_upload(self, filename: str | None, data: bytes, replace: bool = False) -> PreparedUpload:
        """The cheap checks of an upload, before anything is parsed or queued.

        Raises a :class:`~core.errors.PolicyQAError`: a bad name (NUL: InvalidFileName), an
        unsupported type, an empty file, a PDF with more than ``max_upload_pages`` pages
        (DocumentTooLarge), or an id taken without ``replace`` (DocumentExists).
        """
        name = safe_filename(filename)
        suffix = upload_suffix(name, data)
        if not data:
            raise EmptyDocument(f"{name!r} is empty: upload a file with text in it.")
        if suffix == ".pdf":
            check_pages(name, pdf_page_count(data), self.settings.max_upload_pages)
        doc_id = upload_doc_id(name)
        self._check_replace(doc_id, name, replace)
        return PreparedUpload(name=name, doc_id=doc_id, suffix=suffix, data=data, replace=replace)

    def _public(self, path: str) -> str:
        return public_source_path(path, Path(self.settings.corpus_dir), self.settings.uploads_dir)

    def _check_replace(self, doc_id: str, name: str, replace: bool) -> None:
        record = self.indexer.manifest.get(doc_id)
        if record is None:
            return
        source = str(record.get("source_path", ""))
        if Path(source.partition("#")[0]).is_absolute():  # ingested from a folder, not uploaded
            raise DocumentExists(
                f"{name!r} would be the document {doc_id!r}, which was not uploaded "
                f"({self._public(source)}): rename the file and upload it again."
            )
        if not replace:
            raise DocumentExists(
                f"The document {doc_id!r} already exists (from {self._public(source) or 'an upload'}); "
                f"{name!r} would replace it. Send the form field replace=true to replace it, or "
                "rename the file to add it as another document."
            )

    def submit_upload(self, filename: str | None, data: bytes, replace: bool = False) -> Job:
        """Check the upload now, ingest it in the background; raises JobConflict while another
        job for the same document is queued or running, QueueFull when too many wait."""
        upload = self.prepare_upload(filename, data, replace)
        return self.jobs.submit(
            "upload", upload.doc_id, lambda: self.ingest_prepared(upload), filename=upload.name
        )

    def ingest_upload(self, filename: str | None, data: bytes, replace: bool = False) -> UploadOutcome:
        """Check, read, chunk and index one uploaded file now (the synchronous path: CLI, scripts).

        A refused file changes nothing. The HTTP API queues the same work as a job instead.
        """
        upload = self.prepare_upload(filename, data, replace)
        running = self.jobs.active(upload.doc_id)
        if running is not None:
            raise JobConflict(
                f"An upload of {upload.doc_id!r} is already {running.status} (job {running.id})."
            )
        return self.ingest_prepared(upload)

    def ingest_prepared(self, upload: PreparedUpload) -> UploadOutcome:
        """Read, chunk and index a checked upload, then keep its copy (a job's work)."""
        read_as = (
            upload.name
            if Path(upload.name).suffix.lower() == upload.suffix
            else (Path(upload.name).stem + upload.suffix)
        )
        doc = read_bytes(upload.data, read_as, doc_id=upload.doc_id)
        doc.source_path = cited_path(upload.doc_id, upload.suffix)
        passages = chunk_document(doc)
        if not passages:
            raise EmptyDocument(f"No text could be read from {upload.name!r}: nothing to index.")
        check_passages(upload.name, len(passages), self.settings.max_upload_passages)
        with self._write_lock:
            self._check_replace(upload.doc_id, upload.name, upload.replace)
            incoming = self._stage_copy(upload)
            try:
                result = self.indexer.ingest_parsed(doc, passages)
            except BaseException:
                if incoming is not None:
                    incoming.unlink(missing_ok=True)
                raise
            if incoming is not None:
                self._commit_copy(upload.doc_id, upload.suffix, incoming)
        return UploadOutcome(
            doc_id=result.doc_id,
            status=result.outcome,
            title=doc.title,
            passages=result.passages,
            footnotes=result.footnotes,
            seconds=round(result.seconds, 3),
        )

    def _stage_copy(self, upload: PreparedUpload) -> Path | None:
        """Write the kept copy beside its final name; it takes that name once indexed."""
        folder = self.settings.uploads_dir
        path = folder / (kept_copy_name(upload.doc_id, upload.suffix) + INCOMING_SUFFIX)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(upload.data)
        except OSError as exc:  # the index is what matters; a full disk here is only logged
            log.warning("could not keep a copy of upload %s: %s", upload.name, exc)
            return None
        return path

    def _commit_copy(self, doc_id: str, suffix: str, incoming: Path) -> None:
        """The kept copy of ``doc_id`` is now ``incoming`` (one per document: other formats go)."""
        folder = self.settings.uploads_dir
        try:
            os.replace(incoming, folder / kept_copy_name(doc_id, suffix))
            for other in UPLOAD_SUFFIXES:
                if other != suffix:
                    (folder / kept_copy_name(doc_id, other)).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not keep a copy of upload %s: %s", doc_id, exc)

    def _drop_copies(self, doc_id: str) -> None:
        folder = self.settings.uploads_dir
        for suffix in UPLOAD_SUFFIXES:
            try:
                (folder / kept_copy_name(doc_id, suffix)).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove the kept copy of %s: %s", doc_id, exc)

    def _drop_incoming_copies(self) -> None:
        """Kept copies an upload left half-way (killed): kept if the index holds that very
        version (the kill came after the manifest record), removed otherwise."""
        folder = self.settings.uploads_dir
        if not folder.is_dir():
            return
        for incoming in sorted(folder.glob(f"*{INCOMING_SUFFIX}")):
            final = Path(incoming.name[: -len(INCOMING_SUFFIX)])
            doc_id, suffix = final.stem, final.suffix.lower()
            record = self.indexer.manifest.get(doc_id)
            keep = False
            try:
                if record is not None and suffix in UPLOAD_SUFFIXES:
                    doc = read_bytes(incoming.read_bytes(), final.name, doc_id=doc_id)
                    doc.source_path = cited_path(doc_id, suffix)
                    keep = fingerprint(chunk_document(doc)) == record.get("fingerprint")
            except Exception as exc:  # unreadable: it was never indexed
                log.warning("unfinished upload copy %s is unreadable: %s", incoming.name, exc)
            if keep:
                self._commit_copy(doc_id, suffix, incoming)
                log.warning("kept copy %s of an interrupted upload completed", final.name)
            else:
                incoming.unlink(missing_ok=True)
                log.warning("kept copy %s of an interrupted upload removed", incoming.name)

    def delete_document(self, doc_id: str) -> DeleteOutcome:
        """Remove a document's passages, its manifest record, then its kept copy (uploads)."""
        self._manifest(doc_id)
        running = self.jobs.active(doc_id)
        if running is not None:
            raise JobConflict(
                f"An upload of {doc_id!r} is {running.status} (job {running.id}): wait until "
                f"GET /jobs/{running.id} says done or failed, then delete it."
            )
        with self._write_lock:
            removed = self.indexer.delete_document(doc_id)
            self._drop_copies(doc_id)
        return DeleteOutcome(doc_id=doc_id, removed_points=removed)

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(
                f"No job {job_id!r}: jobs are kept in memory, for the last "
                f"{self.settings.finished_jobs_kept} finished ones, until the server restarts."
            )
        return job

    def document_count(self) -> int:
        return len(self.indexer.documents())


_service: PolicyQAService | None = None
_service_lock = threading.Lock()


def get_service() -> PolicyQAService:
    """The process-wide service (created on first use; loading happens in :meth:`load`)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = PolicyQAService()
        return _service


def reset_service() -> None:
    """Forget the process-wide service (tests; a restart within one process)."""
    global _service
    with _service_lock:
        _service = None
