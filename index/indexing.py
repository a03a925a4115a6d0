"""Incremental, idempotent indexing of documents into Qdrant, as a Haystack pipeline.

Per document: read and chunk (ingest/), fingerprint the passages, and compare with the
manifest. Unchanged: nothing is written. Changed: the new passages are embedded and
upserted first (deterministic ids, so a re-run overwrites rather than duplicates), then the
document's points with another fingerprint are deleted, then the manifest is updated. At
every moment a query finds the old version, the new one, or both, never neither; an ingest
killed midway leaves a fingerprint mismatch that the next run repairs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from haystack import Pipeline
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy
from tqdm.auto import tqdm

from core.errors import PolicyQAError
from core.settings import Settings, get_settings
from index.documents import PassagesToDocuments, fingerprint
from index.embedders import document_embedder
from index.graph import run_in_order
from index.sentence_vectors import SentenceEmbedder
from index.sparse import FrenchSparseDocumentEmbedder
from index.stores import get_document_store, get_manifest, legacy_local_index
from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.pipeline import iter_corpus, parse_and_chunk
from ingest.readers import SUPPORTED, read_bytes

log = logging.getLogger(__name__)

Outcome = Literal["added", "updated", "unchanged"]

#: Passages parsed before a group is embedded and written: several embedding batches, so the
#: model runs full batches across document boundaries, and little memory per group.
GROUP_PASSAGES = 256


@dataclass
class DocumentResult:
    doc_id: str
    outcome: Outcome
    passages: int
    footnotes: int
    source_path: str
    seconds: float = 0.0


@dataclass
class IngestReport:
    documents: list[DocumentResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "embed_index": 0.0})
    points_written: int = 0

    @property
    def written(self) -> int:
        return sum(1 for d in self.documents if d.outcome != "unchanged")

    def summary(self) -> str:
        if not self.documents:
            return "No documents found."
        lines = [
            f"{d.doc_id}: {d.outcome} ({d.passages} passages, {d.footnotes} footnotes)"
            for d in self.documents
        ]
        if self.written == 0:
            lines.append("Index already up to date: nothing written.")
        return "\n".join(lines)


@dataclass
class ReconcileReport:
    """What :meth:`Indexer.reconcile` changed at start-up."""

    orphan_points: int = 0  # points whose doc_id has no manifest record (never acknowledged)
    stale_points: int = 0  # points of a version other than the record's (an interrupted update)
    repaired: list[str] = field(default_factory=list)  # incomplete documents ingested again
    rolled_back: list[str] = field(default_factory=list)  # incomplete documents whose file is gone

    @property
    def changed(self) -> bool:
        return bool(self.orphan_points or self.stale_points or self.repaired or self.rolled_back)

    def summary(self) -> str:
        return (
            f"{self.orphan_points} point(s) without a manifest record and {self.stale_points} of another "
            f"version removed; incomplete documents ingested again: {self.repaired or 'none'}; "
            f"removed (file gone): {self.rolled_back or 'none'}"
        )


def build_indexing_pipeline(settings: Settings) -> Pipeline:
    """passages -> documents -> dense embedder -> sentence embedder -> French sparse embedder -> writer."""

    dense = document_embedder(settings)
    dense.meta_fields_to_embed = ["embed_context"]
    dense.embedding_separator = "\n\n"
    pipe = Pipeline()
    pipe.add_component("to_documents", PassagesToDocuments())
    pipe.add_component("dense", dense)
    pipe.add_component("sentences", SentenceEmbedder(document_embedder(settings)))
    pipe.add_component("sparse", FrenchSparseDocumentEmbedder())
    pipe.add_component(
        "writer",
        DocumentWriter(document_store=get_document_store(settings), policy=DuplicatePolicy.OVERWRITE),
    )
    pipe.connect("to_documents.documents", "dense.documents")
    pipe.connect("dense.documents", "sentences.documents")
    pipe.connect("sentences.documents", "sparse.documents")
    pipe.connect("sparse.documents", "writer.documents")
    return pipe


class Indexer:
    """Keeps the Qdrant collection in step with a set of source files."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.store = get_document_store(self.settings)
        self.manifest = get_manifest(self.settings)
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()  # one writer at a time per process

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = build_indexing_pipeline(self.settings)
            self._pipeline.warm_up()
        return self._pipeline

    def ingest_paths(
        self, paths: list[Path], report: IngestReport | None = None, progress: bool = False
    ) -> IngestReport:
        """Parse files and index them in groups (:meth:`ingest_stream`)."""
        report = report or IngestReport()

        def parsed() -> Iterator[tuple[ParsedDocument, list[Passage]]]:
            for path in paths:
                t0 = time.perf_counter()
                item = parse_and_chunk(path)
                report.timings["parse"] += time.perf_counter() - t0
                yield item

        return self.ingest_stream(parsed(), len(paths), report, progress and len(paths) > 1)

    def ingest_stream(
        self,
        documents: Iterable[tuple[ParsedDocument, list[Passage]] | None],
        total: int,
        report: IngestReport | None = None,
        progress: bool = False,
        desc: str = "ingest",
        unit: str = "file",
    ) -> IngestReport:
        """Index parsed documents in groups of about :data:`GROUP_PASSAGES` passages (``None``:
        an input skipped, counted by the progress bar only).

        Passages of several documents are embedded together: one document of a BEIR folder is
        one or two passages, and embedding them one document at a time ran at a third of the
        model's batch rate (profiled: 88 % of indexing time in tiny batches).
        """
        report = report or IngestReport()
        group: list[tuple[ParsedDocument, list[Passage]]] = []
        size = 0
        with tqdm(total=total, unit=unit, desc=desc, disable=not progress) as bar:
            for item in documents:
                if item is None:
                    bar.update()
                    continue
                group.append(item)
                size += len(item[1])
                if size >= GROUP_PASSAGES:
                    self.ingest_many(group, report)
                    bar.update(len(group))
                    group, size = [], 0
            if group:
                self.ingest_many(group, report)
                bar.update(len(group))
        return report

    def ingest_parsed(
        self, doc: ParsedDocument, passages: list[Passage], report: IngestReport | None = None
    ) -> DocumentResult:
        """Index one already-parsed document (uploads come this way)."""
        return self.ingest_many([(doc, passages)], report)[0]

    def ingest_many(
        self, parsed: list[tuple[ParsedDocument, list[Passage]]], report: IngestReport | None = None
    ) -> list[DocumentResult]:
        """Index parsed documents; the changed ones are embedded and written in one batch.

        Per document, the new passages are written first (deterministic ids: a re-run
        overwrites), then its points of another fingerprint are deleted, then its manifest
        record is written: an ingest killed in between leaves a fingerprint mismatch that the
        next run repairs.
        """
        report = report or IngestReport()
        t0 = time.perf_counter()
        results: list[DocumentResult] = []
        with self._lock:
            changed: list[tuple[ParsedDocument, list[Passage], str, DocumentResult]] = []
            for doc, passages in parsed:
                fp = fingerprint(passages)
                footnotes = sum(1 for p in passages if p.kind == "footnote")
                result = DocumentResult(
                    doc.doc_id, "unchanged", len(passages) - footnotes, footnotes, doc.source_path
                )
                results.append(result)
                previous = self.manifest.get(doc.doc_id)
                count = self._count(doc.doc_id)
                if previous and previous.get("fingerprint") == fp and count == len(passages):
                    continue
                result.outcome = (
                    "updated" if previous else "added"
                )  # points without a record were never acknowledged
                changed.append((doc, passages, fp, result))
            if changed:
                written = self._run_pipeline(
                    [p for _, passages, _, _ in changed for p in passages],
                    {doc.doc_id: fp for doc, _, fp, _ in changed},
                    report,
                )
                for doc, _, fp, result in changed:
                    self._finish(doc, fp, result)
                log.info("indexed %d documents: %d passages written", len(changed), written)
        seconds = (time.perf_counter() - t0) / max(1, len(results))
        for result in results:
            result.seconds = seconds
        report.documents.extend(results)
        return results

    def _finish(self, doc: ParsedDocument, fp: str, result: DocumentResult) -> None:
        """Drop the document's points of other versions, then record this one."""
        self.store.delete_by_filter(
            {
                "operator": "AND",
                "conditions": [
                    {"field": "meta.doc_id", "operator": "==", "value": doc.doc_id},
                    {"field": "meta.doc_fingerprint", "operator": "!=", "value": fp},
                ],
            }
        )
        self.manifest.put(
            {
                "doc_id": doc.doc_id,
                "title": doc.title,
                "source_path": doc.source_path,
                "source_format": doc.source_format,
                "language": doc.language,
                "fingerprint": fp,
                "passages": result.passages,
                "footnotes": result.footnotes,
                "pages": doc.metadata.get("pages"),
                "metadata": {
                    k: v for k, v in doc.metadata.items() if isinstance(v, str | int | float | bool)
                },
                "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        log.info("indexed %s", doc.doc_id)

    def _run_pipeline(
        self, passages: list[Passage], fingerprints: dict[str, str], report: IngestReport
    ) -> int:
        t0 = time.perf_counter()
        # the components copy what they change (dataclasses.replace), so Pipeline.run's deep
        # copies of every Document with its vectors are not needed: 4.6 s of 62 in a BEIR ingest
        out = run_in_order(
            self.pipeline, {"to_documents": {"passages": passages, "fingerprints": fingerprints}}
        )
        report.timings["embed_index"] = report.timings.get("embed_index", 0.0) + time.perf_counter() - t0
        written = int(out["writer"]["documents_written"])
        report.points_written += written
        return written

    def optimize(self, report: IngestReport | None = None, reopen: bool = False) -> bool:
        """Build the vector index (HNSW) after a bulk write, when it pays.

        Measured (benchmarks/edge_optimize.py): below ~10,000 points a dense query is a
        sub-millisecond scan and optimising changes nothing; at 100,000 it takes the dense
        query from 6.9 to 0.8 ms and hybrid from 8.3 to 1.6 ms, for 84-139 s of work that
        stops every thread of the process. So it runs from ``policy-qa ingest`` only (never
        in the serving process), when the ingest wrote ``settings.optimize_after_points``.
        ``reopen=True`` (the CLI, which reads nothing meanwhile) lowers its peak memory by about
        a fifth (:meth:`index.stores.EdgeDocumentStore.optimize`).
        """
        if report is not None and report.points_written < self.settings.optimize_after_points:
            return False
        t0 = time.perf_counter()
        changed = self.store.optimize(reopen=reopen)
        if report is not None:
            report.timings["optimize"] = time.perf_counter() - t0
        return changed

    def _count(self, doc_id: str) -> int:
        return self.store.count_documents_by_filter(
            {"field": "meta.doc_id", "operator": "==", "value": doc_id}
        )

    def delete_document(self, doc_id: str) -> int:
        """Remove every point of a document; returns how many were removed."""
        with self._lock:
            removed = self.store.delete_by_filter({"field": "meta.doc_id", "operator": "==", "value": doc_id})
            self.manifest.delete(doc_id)
        return removed

    def documents(self) -> list[dict]:
        return self.manifest.all()

    def reconcile(self) -> ReconcileReport:
        """Bring the passages in step with the manifest after a crash (called at every start).

        :meth:`ingest_many` writes a document's passages, then deletes its points of other
        fingerprints, then writes its manifest record; :meth:`delete_document` deletes the
        points, then the record. So the points with no manifest record, or with a fingerprint
        other than their record's, are exactly the ones no client was told about: they are
        deleted, and no unacknowledged text stays citable. A record with fewer points than it
        counts (a deletion interrupted half-way) is completed from its file, the corpus file or
        the kept copy of an upload, or removed when that file is gone.
        """
        report = ReconcileReport()
        with self._lock:
            records = self.manifest.all()
            ids = [r["doc_id"] for r in records]
            if ids:
                orphans: dict = {"field": "meta.doc_id", "operator": "not in", "value": ids}
            else:  # no record: every point is unacknowledged (a doc_id is never empty)
                orphans = {"field": "meta.doc_id", "operator": "!=", "value": ""}
            report.orphan_points = self.store.delete_by_filter(orphans)
            # a fingerprint hashes the passages, doc_id included: no two documents share one
            fingerprints = sorted({str(r.get("fingerprint", "")) for r in records})
            if records:
                report.stale_points = self.store.delete_by_filter(
                    {"field": "meta.doc_fingerprint", "operator": "not in", "value": fingerprints}
                )
            expected = {r["doc_id"]: int(r.get("passages", 0)) + int(r.get("footnotes", 0)) for r in records}
            incomplete: list[dict] = []
            if self.store.count_documents() != sum(expected.values()):
                for record in records:  # only after a crash: find which documents differ
                    doc_id, fp = record["doc_id"], str(record.get("fingerprint", ""))
                    report.stale_points += self.store.delete_by_filter(
                        {
                            "operator": "AND",
                            "conditions": [
                                {"field": "meta.doc_id", "operator": "==", "value": doc_id},
                                {"field": "meta.doc_fingerprint", "operator": "!=", "value": fp},
                            ],
                        }
                    )
                    if self._count(doc_id) < expected[doc_id]:
                        incomplete.append(record)
        for record in incomplete:
            self._complete(record, report)
        return report

    def _complete(self, record: dict, report: ReconcileReport) -> None:
        """Ingest an incomplete document again from its file, or remove it if the file is gone."""
        doc_id = record["doc_id"]
        source = str(record.get("source_path", "")).partition("#")[0]
        path = Path(source)
        if not path.is_absolute():  # an upload: "uploads/<doc_id><suffix>" (or a bare legacy name)
            path = self.settings.uploads_dir / path.name
        try:
            if not source or not path.is_file():
                raise FileNotFoundError(source)
            if path.is_relative_to(self.settings.uploads_dir):
                doc = read_bytes(path.read_bytes(), path.name, doc_id=doc_id)
                doc.source_path = str(record.get("source_path"))
                passages = chunk_document(doc)
            else:
                doc, passages = parse_and_chunk(path, doc_id=doc_id)
            self.ingest_parsed(doc, passages)
            report.repaired.append(doc_id)
        except (OSError, PolicyQAError) as exc:
            log.warning("incomplete document %s cannot be ingested again (%s): removing it", doc_id, exc)
            self.delete_document(doc_id)
            report.rolled_back.append(doc_id)

    def rebuild_legacy_index(self) -> IngestReport | None:
        """Rebuild an index written by qdrant-client's local mode (before Qdrant Edge).

        Its passages are not read back (another engine's format): the corpus and the kept
        originals of every upload (``settings.uploads_dir``) are ingested again, then the old
        folder is set aside, so nothing a user uploaded is lost.
        """
        folder = legacy_local_index(self.settings)
        if folder is None:
            return None
        uploads_dir = self.settings.uploads_dir
        uploads = sorted(p for p in uploads_dir.glob("*") if p.is_file()) if uploads_dir.is_dir() else []
        backup = folder.with_name(f"{folder.name}.local-mode-backup")
        log.warning(
            "Found an index written by qdrant-client's local mode in %s; the embedded engine is now "
            "Qdrant Edge. Rebuilding the index from %s and the %d kept upload(s) in %s. The old "
            "folder is kept as %s: delete it once the new index answers.",
            folder,
            self.settings.corpus_dir,
            len(uploads),
            uploads_dir,
            backup,
        )
        report = IngestReport()
        if Path(self.settings.corpus_dir).is_dir():
            self.sync_corpus(Path(self.settings.corpus_dir), report=report)
        for path in uploads:
            if path.suffix.lower() not in SUPPORTED:  # e.g. the copy of an upload killed half-way
                continue
            try:
                # kept copies are named <doc_id><suffix> (older ones by the file name, whose stem
                # was the doc_id), and cited as uploads/<file>, as the upload itself was
                doc = read_bytes(path.read_bytes(), path.name, doc_id=path.stem)
                doc.source_path = f"{uploads_dir.name}/{path.name}"
                self.ingest_parsed(doc, chunk_document(doc), report)
            except PolicyQAError as exc:  # it was indexed before: say why it is not now
                log.error("kept upload %s could not be re-ingested: %s", path.name, exc)
        folder.rename(backup)
        log.warning("legacy index rebuilt with Qdrant Edge: %d documents", len(report.documents))
        return report

    def sync_corpus(
        self,
        corpus_dir: Path | None = None,
        prune: bool = False,
        progress: bool = False,
        report: IngestReport | None = None,
    ) -> IngestReport:
        """Ingest every supported file of the corpus; with ``prune``, drop documents no longer there."""
        corpus_dir = corpus_dir or self.settings.corpus_dir
        paths = iter_corpus(corpus_dir)
        report = self.ingest_paths(paths, report=report, progress=progress)
        if prune:
            present = {d.doc_id for d in report.documents}
            for record in self.manifest.all():
                if record["doc_id"] not in present and str(record.get("source_path", "")).startswith(
                    str(corpus_dir)
                ):
                    self.delete_document(record["doc_id"])
        return report
