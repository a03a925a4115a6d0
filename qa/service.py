"""The question-answering service behind the HTTP API, the CLI and the evaluation runner.

One :class:`PolicyQAService` per process holds the embedding model, the Qdrant store, the
retriever and the indexer, loaded once. Reads (ask, search, listings) run concurrently: the
query pipelines keep no per-query state. Writes (corpus sync, uploads, deletions) take one
lock, so two uploads of the same document cannot interleave their upsert/delete steps.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import EmptyDocument, NotFound, UnsupportedFileType
from core.languages import detect_language, warm_up_detector
from core.settings import Settings, get_settings
from index.indexing import Indexer, IngestReport
from index.retrieval import Retriever
from index.types import Hit, Mode, SearchFilters
from ingest.chunker import chunk_document
from ingest.funds import Fund, FundRegistry, resolve
from ingest.readers import SUPPORTED, read_bytes
from qa.answer import ExtractiveAnswerer, message_for
from qa.generator import AnswerGenerator
from qa.questions import clean_question
from qa.results import (
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

log = logging.getLogger(__name__)

#: Upload types the readers handle, by file extension.
UPLOAD_SUFFIXES: tuple[str, ...] = SUPPORTED


def safe_filename(filename: str | None) -> str:
    """The base name of an uploaded file, without any directory part or control characters."""
    name = Path((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        raise UnsupportedFileType("The upload has no file name: send the file as a .txt or .pdf attachment.")
    return name


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
        self.answer_cache: AnswerCacheState = "off"

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
            self.load_error = f"{type(exc).__name__}: {exc}"

    def _prime(self) -> None:
        """Encode the indexed sentences once, so no question pays for them (bounded)."""
        try:
            t0 = time.perf_counter()
            docs = self.retriever.store.filter_documents()
            n = self.answerer.prime(
                [d.content or "" for d in docs[: self.settings.prime_answer_cache_passages]]
            )
            log.info("answer cache primed with %d sentences in %.1fs", n, time.perf_counter() - t0)
            self.answer_cache = "primed"
        except Exception:  # an optimisation only: answers still work without it
            log.exception("priming the answer cache failed")
            self.answer_cache = "failed"

    def ensure_index(self) -> IngestReport | None:
        """Bring the index in step with ``settings.corpus_dir`` (unless ``ingest_on_startup`` is off).

        Every start compares the corpus with the manifest (unchanged files are parsed, not
        embedded): a start-up ingest killed half-way is finished by the next start, not only an
        empty index filled. An index left by qdrant-client's local mode is rebuilt first.
        """
        self.load()
        self.rebuild_legacy_index()
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
    def _filters(filters: SearchFilters | None) -> SearchFilters | None:
        """Funds named by any of their names (FSE+, ESF+...) become registry ids."""
        if filters is None or not filters.funds:
            return filters
        return replace(filters, funds=[resolve(f) or f for f in filters.funds])

    def ask(self, request: AskQuery) -> Answer:
        """Retrieve, then answer extractively (and by the LLM when configured) with [n] markers."""
        question = clean_question(request.question)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        language = detect_language(question)
        mode: Mode = request.mode or self.settings.default_mode
        # the decision reads the same number of passages whatever top_k the caller wants back
        depth = max(request.top_k, self.answerer.candidate_passages)
        hits, query_embedding = self.retriever.search_with_embedding(
            question,
            mode=mode,
            top_k=depth,
            filters=self._filters(request.filters),
            language=language,
        )
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        extract = self.answerer.run(
            query=question,
            hits=hits,
            language=language,
            max_marker=request.top_k,
            query_embedding=query_embedding,
        )["answer"]
        hits = hits[: request.top_k]
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000
        passages = [CitedPassage.from_hit(hit, marker) for marker, hit in enumerate(hits, start=1)]
        response = Answer(
            question=question,
            language=language,
            mode=mode,
            answerable=extract.answerable,
            answer=extract.text,
            sentences=extract.answer_sentences(),
            message=None if extract.answerable else message_for(language),
            passages=passages,
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
        hits = self.retriever.search(query, mode=mode, top_k=top_k, filters=self._filters(filters))
        return SearchResult(
            query=query,
            mode=mode,
            passages=[CitedPassage.from_hit(h, i) for i, h in enumerate(hits, start=1)],
        )

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
            passages=[CitedPassage.from_hit(h, i) for i, h in enumerate(body, start=1)],
            footnotes=[CitedPassage.from_hit(h, i) for i, h in enumerate(notes, start=1)],
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
            passages=[CitedPassage.from_hit(h, i) for i, h in enumerate(hits, start=1)],
        )

    def ingest_upload(self, filename: str | None, data: bytes) -> UploadOutcome:
        """Read, chunk and index one uploaded file; a refused file changes nothing."""
        name = safe_filename(filename)
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise UnsupportedFileType(
                f"{name!r} is not a supported file type: upload a .txt or .md text file or a .pdf with a text layer."
            )
        if not data:
            raise EmptyDocument(f"{name!r} is empty: upload a file with text in it.")
        doc = read_bytes(data, name)
        passages = chunk_document(doc)
        if not passages:
            raise EmptyDocument(f"No text could be read from {name!r}: nothing to index.")
        with self._write_lock:
            result = self.indexer.ingest_parsed(doc, passages)
            self._keep_upload(name, data)
        return UploadOutcome(
            doc_id=result.doc_id,
            status=result.outcome,
            title=doc.title,
            passages=result.passages,
            footnotes=result.footnotes,
            seconds=round(result.seconds, 3),
        )

    def _keep_upload(self, name: str, data: bytes) -> None:
        """Keep the uploaded file under ``<data_dir>/uploads`` (provenance, re-ingestion)."""
        folder = self.settings.uploads_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        except OSError as exc:  # the index is what matters; a full disk here is only logged
            log.warning("could not keep a copy of upload %s: %s", name, exc)

    def delete_document(self, doc_id: str) -> DeleteOutcome:
        self._manifest(doc_id)
        with self._write_lock:
            removed = self.indexer.delete_document(doc_id)
        return DeleteOutcome(doc_id=doc_id, removed_points=removed)

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
