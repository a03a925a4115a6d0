"""Uploaded files: their names, their document ids, their limits and their kept copies.

* An upload's document id is ``upload-<slug of the file stem>``: uploads have an id space of
  their own, so an upload never overwrites a corpus document. Names that give the same id
  (``Note 2024.pdf``, ``note-2024.txt``) are the same document: the second needs ``replace``.
* A kept copy of each upload is stored by document id, ``<data_dir>/uploads/<doc_id><suffix>``,
  one per document; its file name is what ``Indexer.rebuild_legacy_index`` re-ingests it by
  (stem = document id). The passages cite it as ``uploads/<doc_id><suffix>``.
* Limits: bytes (the HTTP layer, on the stream), pages of a PDF (counted before parsing),
  passages (after chunking, before any embedding).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from pathlib import Path

from core.errors import IngestError, PolicyQAError, UnsupportedFileType
from ingest.pipeline import UPLOAD_PREFIX
from ingest.readers import SUPPORTED

#: Folder name of the kept copies in cited source paths (``uploads/<file>``).
UPLOADS_FOLDER = "uploads"
#: Suffix of a kept copy being written (renamed once the document is indexed).
INCOMING_SUFFIX = ".incoming"
MAX_FILENAME_CHARS = 255
_SLUG_CHARS = 80


class InvalidFileName(IngestError):
    """A file name that cannot be stored or shown (a NUL, nothing left, too long)."""


class DocumentTooLarge(IngestError):
    """More pages or passages than an upload may have."""


class DocumentExists(PolicyQAError):
    """The upload's document id is taken and ``replace`` was not asked for (or cannot be)."""


def safe_filename(filename: str | None) -> str:
    """The base name of an uploaded file, without any directory part or control characters.

    A NUL is refused rather than dropped: it is never part of a real file name, and a name
    that was cut or spliced around one would not be the name the user sees.
    """
    raw = filename or ""
    if "\x00" in raw:
        raise InvalidFileName(
            "The file name contains a NUL character (\\x00), which no file name may hold: "
            "rename the file and upload it again."
        )
    name = Path(raw.replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        raise UnsupportedFileType("The upload has no file name: send the file as a .txt or .pdf attachment.")
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidFileName(
            f"The file name is {len(name)} characters long (limit {MAX_FILENAME_CHARS}): "
            "shorten it and upload the file again."
        )
    return name


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens (accents dropped, at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:_SLUG_CHARS].strip("-")


def upload_doc_id(name: str) -> str:
    """``upload-<slug of the stem>``; a stem with no Latin letter or digit gets a short hash instead."""
    stem = Path(name).stem
    return UPLOAD_PREFIX + (slug(stem) or hashlib.sha256(stem.encode("utf-8")).hexdigest()[:12])


def looks_like_pdf(data: bytes) -> bool:
    """A PDF whatever its name says: the header ``%PDF-`` at the start (after a BOM or blanks)."""
    return data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x00").startswith(b"%PDF-")


def upload_suffix(name: str, data: bytes) -> str:
    """The type the upload is read as: its suffix, except that a PDF sent as text is a PDF.

    An uncompressed PDF named ``.txt`` decodes as text and would index its PDF syntax, so the
    ``%PDF-`` header decides.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFileType(
            f"{name!r} is not a supported file type: upload a .txt or .md text file or a .pdf with a text layer."
        )
    if suffix != ".pdf" and looks_like_pdf(data):
        return ".pdf"
    return suffix


def pdf_page_count(data: bytes) -> int | None:
    """Pages a PDF declares, read from its page tree without parsing any page (None: unreadable,
    the reader then says why)."""
    from pypdf import PdfReader  # heavy; only uploads need it here

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return None
        try:
            return int(reader.trailer["/Root"]["/Pages"]["/Count"])  # type: ignore[index]
        except Exception:  # an odd page tree: count the pages themselves
            return len(reader.pages)
    except Exception:  # the reader reports damaged files with a precise message
        return None


def check_pages(name: str, pages: int | None, limit: int) -> None:
    if pages is not None and pages > limit:
        raise DocumentTooLarge(
            f"{name!r} has {pages:,} pages; an upload may have at most {limit:,} "
            "(POLICYQA_MAX_UPLOAD_PAGES): split the document and upload the parts."
        )


def check_passages(name: str, passages: int, limit: int) -> None:
    if passages > limit:
        raise DocumentTooLarge(
            f"{name!r} makes {passages:,} passages and footnotes; an upload may make at most {limit:,} "
            "(POLICYQA_MAX_UPLOAD_PASSAGES): split the document and upload the parts."
        )


def kept_copy_name(doc_id: str, suffix: str) -> str:
    return f"{doc_id}{suffix}"


def cited_path(doc_id: str, suffix: str) -> str:
    """The source path an upload's passages cite: relative, never the server's own folders."""
    return f"{UPLOADS_FOLDER}/{kept_copy_name(doc_id, suffix)}"


def public_source_path(path: str, corpus_dir: Path, uploads_dir: Path) -> str:
    """A source path as a client may see it: relative to the corpus folder for corpus files,
    ``uploads/<file>`` for uploads, the file name alone for anything else; ``#fragment`` kept."""
    if not path:
        return ""
    base, sep, fragment = path.partition("#")
    p = Path(base)
    if not p.is_absolute():
        return path if ".." not in p.parts else p.name + sep + fragment
    for root, prefix in ((corpus_dir, ""), (uploads_dir, f"{UPLOADS_FOLDER}/")):
        try:
            rel = p.relative_to(root)
        except ValueError:
            try:
                rel = p.relative_to(Path(root).resolve())
            except (ValueError, OSError):
                continue
        return prefix + rel.as_posix() + sep + fragment
    return p.name + sep + fragment
