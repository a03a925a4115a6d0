"""Errors a user can act on. Each message says what went wrong and what to do."""

from __future__ import annotations


class IngestError(Exception):
    """Base class: the file was refused and nothing of it was indexed."""

    status_code: int = 422


class UnsupportedFileType(IngestError):
    status_code = 415


class EmptyDocument(IngestError):
    pass


class CorruptDocument(IngestError):
    pass


class EncryptedDocument(IngestError):
    pass


class NoTextLayer(IngestError):
    """A scanned PDF: pages are images, so there is nothing to read without OCR."""


class EncodingError(IngestError):
    pass
