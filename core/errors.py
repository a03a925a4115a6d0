"""Errors a user can act on, shared by every stage. Each message says what went wrong and
what to do; how an error reaches a client (an HTTP status, a CLI exit code) is decided where
it is shown (``api/errors.py``, ``cli``), not here."""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class of the errors a user caused and can fix."""


class IngestError(PolicyQAError):
    """The file was refused and nothing of it was indexed."""


class UnsupportedFileType(IngestError):
    pass


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


class NotFound(PolicyQAError, LookupError):
    """A document or fund the user named does not exist; the message says how to list them."""


class InvalidQuestion(PolicyQAError, ValueError):
    """A question that cannot be searched: blank, without a letter or digit, or too long."""


class QuestionTooLong(InvalidQuestion):
    pass


class ProvisionError(RuntimeError):
    """The offline model could not be built (an operator's problem, not a request's); the
    message says what to do."""
