"""One entry point for every supported file type, from a path or from uploaded bytes."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import UnsupportedFileType
from ingest.models import ParsedDocument
from ingest.text_reader import decode_text, read_web_page, read_word_text

SUPPORTED = (".txt", ".md", ".pdf")
_WORD_MARKERS = re.compile(r"\[footnoteRef:\d+\]|^\s*\[\d+:", re.MULTILINE)


def _check_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFileType(
            f"{Path(name).name}: unsupported file type {suffix or '(none)'!r}. Supported: {', '.join(SUPPORTED)}."
        )
    return suffix


def _from_text(text: str, path: Path, doc_id: str | None) -> ParsedDocument:
    if _WORD_MARKERS.search(text):
        return read_word_text(path, doc_id, text=text)
    return read_web_page(path, doc_id, text=text)


def read_document(path: Path, doc_id: str | None = None) -> ParsedDocument:
    path = Path(path)
    if _check_type(path.name) == ".pdf":
        from ingest.pdf_reader import read_pdf

        return read_pdf(path, doc_id)
    return _from_text(decode_text(path.read_bytes(), path.name), path, doc_id)


def read_bytes(data: bytes, filename: str, doc_id: str | None = None) -> ParsedDocument:
    """Parse an upload without writing it anywhere; errors leave nothing behind."""
    suffix = _check_type(filename)
    doc_id = doc_id or Path(filename).stem
    if suffix == ".pdf":
        from ingest.pdf_reader import read_pdf_bytes

        return read_pdf_bytes(data, doc_id, source_path=filename)
    return _from_text(decode_text(data, filename), Path(filename), doc_id)
