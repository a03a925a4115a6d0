"""External benchmarks in the BEIR layout, scored by the same runner as the gold sets.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score``, with a
header line). Each corpus document becomes a one-block :class:`ParsedDocument`, goes
through the project's chunker and indexer, and lands in its own data folder and collection,
so a benchmark never mixes with (or overwrites) the policy corpus. Relevance is per
document, as in BEIR: a passage is relevant when its document is in the query's qrels.

Language: detecting every document of a large corpus costs more than indexing it, so a
random sample of at most :data:`LANGUAGE_SAMPLE` documents is detected; the dominant language
is the collection's, given to every document not sampled (a ``metadata.lang`` wins) and to
queries whose own detection is unsure. A corpus of up to 200 documents is detected in full.
"""

from __future__ import annotations

import csv
import json
import random
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.languages import CORPUS_LANGUAGE, detect_language
from core.settings import Settings, get_settings
from evaluation.gold import GoldQuestion
from index.indexing import IngestReport
from ingest.chunker import chunk_document
from ingest.models import Block, ParsedDocument, Passage
from qa.service import PolicyQAService

BEIR_KIND = "beir"
LANGUAGE_SAMPLE = 200  # documents whose language is detected to find the collection's
LANGUAGE_SEED = 0  # the sample is random, and the same on every run


class BeirFormatError(ValueError):
    """The folder is not a usable BEIR dataset; the message names the file and line."""


@dataclass
class BeirDocument:
    id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class BeirDataset:
    name: str
    folder: Path
    documents: list[BeirDocument]
    questions: list[GoldQuestion]  # only the queries with at least one relevant document
    split: str = "test"
    language: str = CORPUS_LANGUAGE  # the collection's: dominant in the sample, fallback of detection
    document_languages: dict[str, str] = field(default_factory=dict)  # declared or detected (sample)


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise BeirFormatError(
            f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/."
        )
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BeirFormatError(f"{path}, line {lineno}: not valid JSON ({exc.msg}).") from exc
            if not isinstance(row, dict) or not str(row.get("_id", "")).strip():
                raise BeirFormatError(f"{path}, line {lineno}: expected an object with an '_id'.")
            yield lineno, row


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {doc id: grade}, keeping grades above 0 (BEIR lists some non-relevant pairs as 0)."""
    if not path.is_file():
        available = sorted(p.name for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        hint = f" (available: {', '.join(available)})" if available else ""
        raise BeirFormatError(f"{path} is missing{hint}: pass split= one of the qrels files.")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for lineno, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (lineno == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}):
                continue
            if len(row) < 3:
                raise BeirFormatError(
                    f"{path}, line {lineno}: expected query-id, corpus-id and score separated by tabs."
                )
            try:
                grade = int(float(row[2]))
            except ValueError as exc:
                raise BeirFormatError(f"{path}, line {lineno}: score {row[2]!r} is not a number.") from exc
            if grade > 0:
                qrels.setdefault(row[0].strip(), {})[row[1].strip()] = grade
    return qrels


def _declared_language(doc: BeirDocument) -> str | None:
    """``metadata.lang`` (or ``metadata.language``) of the corpus line, when it gives one."""
    value = str(doc.metadata.get("lang") or doc.metadata.get("language") or "").strip().lower()
    return value or None


def collection_language(
    documents: Sequence[BeirDocument], sample: int = LANGUAGE_SAMPLE, seed: int = LANGUAGE_SEED
) -> tuple[str, dict[str, str]]:
    """The collection's language and the documents' own where known.

    Documents keep a declared ``metadata.lang``; of the others, a random sample of at most
    ``sample`` is detected (all of them in a small corpus). The most frequent language,
    declared or detected, is the collection's; :data:`CORPUS_LANGUAGE` when none is known.
    A document whose detection is unsure is left to the collection's language.
    """
    known = {d.id: lang for d in documents if (lang := _declared_language(d))}
    pool = [d for d in documents if d.id not in known and (d.text or d.title)]
    chosen = pool if len(pool) <= sample else random.Random(seed).sample(pool, sample)
    for doc in chosen:
        lang = detect_language(doc.text or doc.title, fallback="")  # "": unsure, left out
        if lang:
            known[doc.id] = lang
    counts = Counter(known.values())
    return (counts.most_common(1)[0][0] if counts else CORPUS_LANGUAGE), known


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    """Read a BEIR folder; queries without judgements are left out, as BEIR's evaluator does."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BeirFormatError(f"{folder} is not a folder: pass the BEIR dataset folder (with corpus.jsonl).")
    documents = [
        BeirDocument(
            id=str(row["_id"]).strip(),
            title=str(row.get("title") or "").strip(),
            text=str(row.get("text") or "").strip(),
            metadata=meta if isinstance(meta := row.get("metadata"), dict) else {},
        )
        for _, row in _jsonl(folder / "corpus.jsonl")
    ]
    if not documents:
        raise BeirFormatError(f"{folder / 'corpus.jsonl'} holds no documents.")
    known = {d.id for d in documents}
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv")
    language, document_languages = collection_language(documents)
    questions: list[GoldQuestion] = []
    for lineno, row in _jsonl(folder / "queries.jsonl"):
        qid = str(row["_id"]).strip()
        relevant = {doc_id: grade for doc_id, grade in qrels.get(qid, {}).items() if doc_id in known}
        if not relevant:
            continue
        text = str(row.get("text") or "").strip()
        if not text:
            raise BeirFormatError(f"{folder / 'queries.jsonl'}, line {lineno}: query {qid!r} has no text.")
        questions.append(
            GoldQuestion(
                id=qid,
                lang=detect_language(text, fallback=language),
                question=text,
                kind=BEIR_KIND,
                qrels=relevant,
            )
        )
    if not questions:
        raise BeirFormatError(
            f"No query of {folder / 'queries.jsonl'} has a relevant document in qrels/{split}.tsv."
        )
    return BeirDataset(
        name=folder.name,
        folder=folder,
        documents=documents,
        questions=questions,
        split=split,
        language=language,
        document_languages=document_languages,
    )


def to_parsed_document(doc: BeirDocument, dataset: BeirDataset) -> ParsedDocument:
    """One block of body text under the document's title; the chunker adds the title to the embedded text.

    An empty title stays empty: nothing is embedded before the text (no document id made
    into a title), and the block has no section. A document with a title and no text is
    its title. No detection here: the language is the declared one, the one detected in
    the collection's sample, or the collection's (:func:`collection_language`).
    """
    text = doc.text or doc.title
    language = dataset.document_languages.get(doc.id) or _declared_language(doc) or dataset.language
    return ParsedDocument(
        doc_id=doc.id,
        title=doc.title,
        source_path=f"{dataset.folder / 'corpus.jsonl'}#{doc.id}",
        source_format="text",
        clean_text=text,
        blocks=[
            Block(
                kind="paragraph",
                text=text,
                start=0,
                end=len(text),
                section_path=[doc.title] if doc.title else [],
            )
        ],
        language=language,
        metadata={"beir": dataset.name},
    )


def collection_name(name: str) -> str:
    return "beir_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset")


def beir_settings(dataset: BeirDataset, base: Settings | None = None) -> Settings:
    """The base settings, pointed at ``<data_dir>/beir/<name>`` and its own collection.

    The provisioned model cache is shared; corpus start-up ingestion is off, because the
    corpus is the BEIR one.
    """
    base = base or get_settings()
    data_dir = Path(base.data_dir) / "beir" / collection_name(dataset.name)
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "models_path": base.models_dir,
            "corpus_dir": data_dir / "corpus",
            "qdrant_collection": collection_name(dataset.name),
            "ingest_on_startup": False,
        }
    )


def index_beir(dataset: BeirDataset, indexer: Any, progress: bool = True) -> IngestReport:
    """Chunk and index every document; unchanged documents are skipped by the indexer.

    Documents go to :meth:`Indexer.ingest_stream`, which indexes them in groups of about
    ``GROUP_PASSAGES`` passages, so the model embeds full batches across document boundaries: a BEIR document
    is one or two passages, and one ``ingest_parsed`` call per document ran the model in
    batches of one or two (issue 15: 9 passages/s where full batches give 25).
    """
    report = IngestReport()

    def parsed() -> Iterator[tuple[ParsedDocument, list[Passage]] | None]:
        for doc in dataset.documents:
            if not (doc.text or doc.title):
                yield None
                continue
            t0 = time.perf_counter()
            document = to_parsed_document(doc, dataset)
            passages = chunk_document(document)
            report.timings["parse"] += time.perf_counter() - t0
            yield document, passages

    return indexer.ingest_stream(
        parsed(), len(dataset.documents), report, progress, desc=f"indexing {dataset.name}", unit="doc"
    )


def outcomes(report: IngestReport) -> dict[str, int]:
    """How many documents were added, updated or left unchanged."""
    return dict(Counter(d.outcome for d in report.documents))


def prepare_beir_service(dataset: BeirDataset, base: Settings | None = None) -> PolicyQAService:
    """A service over the dataset's own index (built or brought up to date first)."""
    service = PolicyQAService(beir_settings(dataset, base))
    service.load()
    index_beir(dataset, service.indexer)
    return service
