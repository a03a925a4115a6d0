"""From a file to passages: read, chunk, attach the corpus metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.readers import SUPPORTED, read_document

SOURCES_FILE = "sources.json"


def load_sources(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Entries of ``sources.json`` by file path relative to the corpus folder."""
    path = Path(corpus_dir) / SOURCES_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in data.get("documents", [])}


def _source_entry(path: Path) -> dict[str, Any] | None:
    for parent in path.resolve().parents:
        if (parent / SOURCES_FILE).exists():
            return load_sources(parent).get(path.resolve().relative_to(parent).as_posix())
    return None


def parse_and_chunk(path: Path, doc_id: str | None = None) -> tuple[ParsedDocument, list[Passage]]:
    path = Path(path)
    entry = _source_entry(path) or {}
    doc = read_document(path, doc_id or entry.get("doc_id"))
    if entry:
        doc.metadata.update({k: v for k, v in entry.items() if k not in ("file", "index") and v is not None})
        doc.title = doc.title or entry.get("title", "")
    return doc, chunk_document(doc)


def iter_corpus(corpus_dir: Path) -> list[Path]:
    """Every supported file under the folder, minus sources.json entries marked ``"index": false``."""
    corpus_dir = Path(corpus_dir)
    sources = load_sources(corpus_dir)
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in SUPPORTED or path.name.startswith("."):
            continue
        if sources.get(path.relative_to(corpus_dir).as_posix(), {}).get("index", True):
            files.append(path)
    return files
