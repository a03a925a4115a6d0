"""Comparing two readings of one document (the PDF against the text export) word for word.

The PDF reader's tests and ``benchmarks/pdf_reader_quality.py`` score coverage and block
agreement with these two functions, so the test thresholds and the printed figures measure
the same thing.
"""

from __future__ import annotations

import re
import unicodedata


def comparable(text: str) -> str:
    """Compare words, not typography: case, spaces, quotes and hyphens set aside."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"^[·•]\s", "", text)  # each reader keeps its own bullet glyph
    text = re.sub(r"[’‘`']", "'", text)
    text = re.sub(r"[«»“”\"]", '"', text)
    text = re.sub(r"[-\u00ad\u2010\u2011]", "", text)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r' ?" ?', '"', text).strip()


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;:])\s+", text) if s.strip()]
