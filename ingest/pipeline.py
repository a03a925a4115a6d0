"""From a file to passages: read, attach the corpus metadata, chunk.

Which files make the corpus index (``iter_corpus``): every supported file under the corpus
folder, except a file that ``corpus/sources.json`` declares an ``"alternate_of"`` another
document present in the folder. The action plan exists as Word text export and as PDF;
the text version is indexed (exact footnotes, no layout noise) and the PDF only when asked
(``include_alternates=True``, or by ingesting its path directly), under its own doc_id so
the two never overwrite each other's passages.

A text document with such a PDF alternate still gets the PDF's page numbers: each of its
passages is located in the PDF's pages (``ingest/pages.py``), so its citations give the page
a reader finds in the published document.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.pages import add_pages, pdf_text
from ingest.readers import SUPPORTED, read_document

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.json"
#: Prefix of every uploaded document's id (the API's uploads, qa/uploads.py), reserved to them:
#: a corpus file named ``upload-x.txt`` would otherwise share the id of an upload of ``x.txt``,
#: and either would replace the other.
UPLOAD_PREFIX = "upload-"
#: What such a file's id gets in front instead.
RESERVED_ID_PREFIX = "file-"
_NOT_METADATA = ("file", "doc_id")


def load_sources(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Entries of ``sources.json`` by file path relative to the corpus folder ({} if none)."""
    path = Path(corpus_dir) / SOURCES_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in data.get("documents", [])}


def alternates(corpus_dir: Path) -> dict[str, str]:
    """doc_id of each alternate format (``"alternate_of"`` in sources.json) -> the doc_id of
    the document it is another version of. Evaluation uses it so that a question about the
    action plan is judged the same whether the text or the PDF version was indexed."""
    entries = list(load_sources(corpus_dir).values())
    declared = {entry["doc_id"] for entry in entries if "doc_id" in entry}
    return {
        entry["doc_id"]: entry["alternate_of"]
        for entry in entries
        if "doc_id" in entry and entry.get("alternate_of") in declared
    }


def _sources_folder(path: Path) -> Path | None:
    """The nearest folder above ``path`` that has a sources.json."""
    for parent in Path(path).resolve().parents:
        if (parent / SOURCES_FILE).exists():
            return parent
    return None


def source_entry(path: Path) -> dict[str, Any] | None:
    """The sources.json entry of a file, looked up in the nearest folder above that has one."""
    path = Path(path).resolve()
    folder = _sources_folder(path)
    if folder is None:
        return None
    return load_sources(folder).get(path.relative_to(folder).as_posix())


def pdf_alternate(path: Path) -> Path | None:
    """The PDF that sources.json declares ``"alternate_of"`` this file's document, when it is
    present in the same corpus folder (the action plan's text -> corpus/pdf/...pdf)."""
    folder = _sources_folder(path)
    if folder is None:
        return None
    sources = load_sources(folder)
    doc_id = (sources.get(Path(path).resolve().relative_to(folder).as_posix()) or {}).get("doc_id")
    if not doc_id:
        return None
    for rel, entry in sorted(sources.items()):
        candidate = folder / rel
        if entry.get("alternate_of") == doc_id and candidate.suffix.lower() == ".pdf" and candidate.is_file():
            return candidate
    return None


def parse_and_chunk(path: Path, doc_id: str | None = None) -> tuple[ParsedDocument, list[Passage]]:
    """Read one file and chunk it; doc_id: the argument, else sources.json's, else the stem."""
    path = Path(path)
    entry = source_entry(path) or {}
    doc = read_document(path, doc_id or entry.get("doc_id"))
    if doc_id is None and doc.doc_id.startswith(UPLOAD_PREFIX):
        doc.doc_id = RESERVED_ID_PREFIX + doc.doc_id
    # the curated entry wins over what the reader guessed (a PDF's own title metadata...)
    doc.metadata.update({k: v for k, v in entry.items() if k not in _NOT_METADATA and v is not None})
    if not doc.title and entry.get("title"):
        doc.title = entry["title"]
    passages = chunk_document(doc)
    if doc.source_format != "pdf":
        _pages_from_alternate(path, doc, passages)
    return doc, passages


def _pages_from_alternate(path: Path, doc: ParsedDocument, passages: list[Passage]) -> None:
    """Page numbers from the document's PDF version, when sources.json declares one.

    The document's ``pages`` and ``pages_from`` (the PDF, relative to the corpus folder) say
    which file the numbers refer to. A PDF that cannot be read leaves the pages empty: the
    text is indexed all the same."""
    alternate = pdf_alternate(path)
    if alternate is None:
        return
    try:
        report = add_pages(doc, passages, pdf_text(alternate))
    except Exception as exc:  # pages are a nicety: an unreadable PDF must not stop the text
        log.warning("%s: no pages from %s (%s: %s)", doc.doc_id, alternate.name, type(exc).__name__, exc)
        return
    if not any(report.located.values()):  # no text layer (a scan), or another document
        log.warning("%s: no passage found in %s: no pages", doc.doc_id, alternate.name)
        return
    folder = _sources_folder(alternate)
    doc.metadata["pages"] = report.pages
    doc.metadata["pages_from"] = alternate.relative_to(folder).as_posix() if folder else alternate.name
    if report.missed:
        log.info(
            "%s: %d of %d passages not found in %s (no page)",
            doc.doc_id, len(report.missed), len(passages), alternate.name,
        )  # fmt: skip


def iter_corpus(corpus_dir: Path, include_alternates: bool = False) -> list[Path]:
    """The files to index, sorted: supported types, hidden files skipped, alternate formats
    of a document already in the folder skipped unless ``include_alternates``."""
    corpus_dir = Path(corpus_dir)
    sources = load_sources(corpus_dir)
    present = {
        entry["doc_id"]
        for rel, entry in sources.items()
        if "doc_id" in entry and (corpus_dir / rel).is_file()
    }
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if not path.is_file() or path.suffix.lower() not in SUPPORTED:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        alternate_of = sources.get(rel.as_posix(), {}).get("alternate_of")
        if alternate_of in present and not include_alternates:
            continue
        files.append(path)
    return files
