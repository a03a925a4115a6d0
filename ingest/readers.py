"""One entry point for every supported file type, from a path or from uploaded bytes.

Dispatch: ``.pdf`` goes to the PDF reader; ``.txt`` to the Word-export reader when it
carries Word's footnote markup (``[footnoteRef:N]`` or ``[N: ...]`` notes), else to the
web page reader when it carries browser chrome, else to the plain-text reader; ``.md`` is
plain text. Anything else is refused before any byte is parsed.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import UnsupportedFileType
from ingest.models import ParsedDocument
from ingest.pdf_reader import read_pdf, read_pdf_bytes
from ingest.text_layout import decode_text
from ingest.text_reader import read_word_text
from ingest.web_reader import looks_like_web_page, read_plain_text, read_web_page

SUPPORTED = (".txt", ".md", ".pdf")
_WORD_MARKERS = re.compile(r"\[footnoteRef:\d+\]|\[\d{1,4}: ")


def check_file_type(name: str) -> str:
    """The lower-case suffix of a supported file name; UnsupportedFileType otherwise."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFileType(
            f"{Path(name).name}: unsupported file type {suffix or '(no extension)'!r}. "
            f"Supported types: {', '.join(SUPPORTED)} (convert Word documents to PDF or to text first)."
        )
    return suffix


def _from_text(text: str, path: Path, doc_id: str | None) -> ParsedDocument:
    if path.suffix.lower() == ".txt" and _WORD_MARKERS.search(text):
        return read_word_text(path, doc_id, text=text)
    if path.suffix.lower() == ".txt" and looks_like_web_page(text):
        return read_web_page(path, doc_id, text=text)
    return read_plain_text(path, doc_id, text=text)


def read_document(path: Path, doc_id: str | None = None) -> ParsedDocument:
    """Parse a file of any supported type; ``doc_id`` defaults to the file stem."""
    path = Path(path)
    if check_file_type(path.name) == ".pdf":
        return read_pdf(path, doc_id)
    return _from_text(decode_text(path.read_bytes(), path.name), path, doc_id)


def read_bytes(data: bytes, filename: str, doc_id: str | None = None) -> ParsedDocument:
    """Parse an upload in memory: nothing is written, so a refused file leaves nothing behind."""
    name = Path(filename).name
    suffix = check_file_type(name)
    doc_id = doc_id or Path(name).stem
    if suffix == ".pdf":
        return read_pdf_bytes(data, doc_id, source_path=name)
    return _from_text(decode_text(data, name), Path(name), doc_id)
