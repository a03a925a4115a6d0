"""Page numbers for a text document, taken from its PDF version.

Why: the corpus indexes the Word text export of the action plan, not its PDF (exact
footnotes, no layout noise: see ``ingest/pipeline.py``), but a reader checks a citation
against the published document, and the published document is cited by page. The text
export has no pages. ``corpus/sources.json`` declares the PDF ``"alternate_of"`` the text,
so the pages can be taken from it: every passage of the text is located in the PDF's page
texts and gets the pages it is printed on, in ``page_start``/``page_end``.

How: each page's text (pypdf) and each passage are *normalised for matching only*: accents,
case, punctuation, quotes (’ ' « »), spaces, line-end hyphens and digits (footnote markers
glued to the word before them, "COVID-1912") all go, leaving the letters. The stored
passage is never touched. A passage is found by its first and last ~60 letters (anchors),
in reading order (a cursor moves on from the previous passage, so a sentence repeated in the
document is found where this passage is), exactly first and then, only where the two
versions differ, by ``difflib`` (standard library) within a few pages. The anchors' pages
are the passage's first and last page.

* Body passages: located from the cursor, in reading order (headings too: they move the
  cursor and give the outlines their pages).
* Outline passages (a chapter's headings): the pages of the headings they list, first to
  last, as the chunker gives them for a document read from its PDF.
* Footnotes: the page where the note is printed, searched on the calling passage's pages
  and the next one (a note may run over to the next page); where it is not found there,
  anywhere; failing that, the calling passage's pages.

Measured on the action plan (``benchmarks/pdf_pages.py``): all 200 passages get a page, and
for the 139 evidence spans of the gold questions about it, the passage holding the span
covers the page(s) where pdfium finds the span printed in every case.
"""

from __future__ import annotations

import bisect
import functools
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from ingest.models import Block, ParsedDocument, Passage

__all__ = ["PdfText", "PageReport", "add_pages", "normalise", "pdf_text"]

log = logging.getLogger(__name__)

#: Letters taken from each end of a passage to find it.
ANCHOR = 60
#: A normalised text shorter than this (a lone "Santé") is not searched: too likely elsewhere.
MIN_CHARS = 12
#: How far past the cursor a passage is searched before the whole rest of the document:
#: a few pages' worth of letters (a page holds ~3,000-4,000).
WINDOW = 16_000
#: Room between a passage's head and tail for what the PDF prints in between (running
#: header, the footnotes at the foot of a page) beyond the passage's own letters.
GAP = 8_000
#: Least ``difflib`` ratio for an anchor found inexactly.
FUZZY_RATIO = 0.85

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})


def normalise(text: str) -> str:
    """The letters of ``text``, lower case, without accents: what is compared, never stored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(ch for ch in decomposed if ch.isalpha())


@dataclass(frozen=True)
class PdfText:
    """The PDF's pages, normalised and joined, with the offset where each page begins."""

    text: str
    starts: tuple[int, ...]

    @classmethod
    def from_pages(cls, pages: Sequence[str]) -> PdfText:
        starts, parts, at = [], [], 0
        for page in pages:
            starts.append(at)
            norm = normalise(page)
            parts.append(norm)
            at += len(norm)
        return cls("".join(parts), tuple(starts))

    @property
    def pages(self) -> int:
        return len(self.starts)

    def page_at(self, offset: int) -> int:
        """The page (from 1) holding the normalised text's ``offset``."""
        return max(1, bisect.bisect_right(self.starts, offset))

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Offsets of pages ``first``..``last`` (from 1, clamped to the document)."""
        first = min(max(first, 1), self.pages)
        last = min(max(last, first), self.pages)
        end = self.starts[last] if last < self.pages else len(self.text)
        return self.starts[first - 1], end

    def pages_of(self, start: int, end: int) -> tuple[int, int]:
        return self.page_at(start), self.page_at(max(start, end - 1))

    # ------------------------------------------------------------------ search

    def find(self, needle: str, lo: int, hi: int) -> int | None:
        """Where ``needle`` starts in text[lo:hi]: exactly, else by difflib (windows only)."""
        at = self.text.find(needle, lo, hi)
        if at >= 0:
            return at
        if hi - lo > 2 * WINDOW:
            return None
        return _fuzzy_find(self.text, needle, lo, hi)

    def locate(self, norm: str, lo: int = 0, hi: int | None = None) -> tuple[int, int] | None:
        """(start, end) of the normalised text ``norm`` in text[lo:hi], by its two anchors.

        Each anchor is tried at a few offsets (a head cut by a page break, where a running
        header or the footnotes come between, is found by its next letters)."""
        hi = len(self.text) if hi is None else min(hi, len(self.text))
        if len(norm) < MIN_CHARS or lo >= hi:
            return None
        if len(norm) <= 2 * ANCHOR:
            at = self.find(norm, lo, hi)
            if at is not None:
                return at, at + len(norm)
        # anchors of a short text are shorter, so that one fits on each side of a page break
        size = min(ANCHOR, max(MIN_CHARS, len(norm) // 3))
        offsets = range(0, min(len(norm) - size, 4 * ANCHOR) + 1, max(1, size // 2))
        head: int | None = None
        for offset in offsets:
            at = self.find(norm[offset : offset + size], lo, hi)
            if at is not None:
                head = max(lo, at - offset)
                break
        tail_lo = head if head is not None else lo
        tail_hi = min(hi, tail_lo + len(norm) + GAP)
        end: int | None = None
        for offset in offsets:
            stop = len(norm) - offset
            at = self.find(norm[stop - size : stop], tail_lo, tail_hi)
            if at is not None:
                end = at + size + offset
                break
        if head is None and end is None:
            return None
        if head is None:
            assert end is not None
            head = max(lo, end - len(norm))
        if end is None:
            end = min(hi, head + len(norm))
        return head, max(end, head + 1)


def _fuzzy_find(text: str, needle: str, lo: int, hi: int) -> int | None:
    """Start of the best inexact match of ``needle`` in text[lo:hi] (a typo, a letter the
    extraction lost), accepted above :data:`FUZZY_RATIO`."""
    window = text[lo:hi]
    matcher = SequenceMatcher(None, window, needle, autojunk=False)
    block = matcher.find_longest_match(0, len(window), 0, len(needle))
    if block.size < max(MIN_CHARS, len(needle) // 4):
        return None
    start = max(0, block.a - block.b)
    candidate = window[start : start + len(needle)]
    if SequenceMatcher(None, candidate, needle, autojunk=False).ratio() < FUZZY_RATIO:
        return None
    return lo + start


def _page_texts(path: Path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path), strict=False)
    return [page.extract_text() or "" for page in reader.pages]


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int, size: int) -> PdfText:
    return PdfText.from_pages(_page_texts(Path(path)))


def pdf_text(path: Path) -> PdfText:
    """The normalised pages of a PDF, read once per file version (every start parses the
    corpus again to compare it with the index; the PDF costs ~1 s to extract)."""
    path = Path(path).resolve()
    stat = path.stat()
    return _cached(str(path), stat.st_mtime_ns, stat.st_size)


@dataclass
class PageReport:
    """How many passages got pages, by kind; ``missed``: the ids of those that did not."""

    pages: int = 0
    located: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        total = sum(self.total.values())
        return sum(self.located.values()) / total if total else 1.0


def add_pages(doc: ParsedDocument, passages: list[Passage], pdf: PdfText) -> PageReport:
    """Set ``page_start``/``page_end`` of ``passages`` (chunked from ``doc``) from ``pdf``, in place.

    Only the page fields change; a passage not found keeps ``None``. See the module's docstring.
    """
    report = PageReport(pages=pdf.pages)
    by_id = {p.id: p for p in passages}
    body = [p for p in passages if p.kind == "passage"]
    headings = [b for b in doc.blocks if b.kind == "heading"]
    # reading order: headings and body passages by their offset in the clean text
    items: list[tuple[int, int, Passage | Block]] = [(p.start, 1, p) for p in body]
    items += [(b.start, 0, b) for b in headings]
    items.sort(key=lambda item: (item[0], item[1]))
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for _, _, item in items:
        norm = normalise(item.text)
        found = pdf.locate(norm, cursor, cursor + WINDOW) or pdf.locate(norm, cursor)
        spans.append(found)
        if found is not None:
            cursor = found[0]
    _between_neighbours([item.text for _, _, item in items], spans, pdf)
    heading_pages: dict[str, tuple[int, int]] = {}
    for (_, _, item), found in zip(items, spans, strict=True):
        if found is None:
            continue
        first, last = pdf.pages_of(*found)
        if isinstance(item, Passage):
            item.page_start, item.page_end = first, last
        else:
            heading_pages.setdefault(_heading_key(item.text), (first, last))
    if doc.title:
        found = pdf.locate(normalise(doc.title), 0, min(len(pdf.text), WINDOW))
        if found is not None:
            heading_pages.setdefault(_heading_key(doc.title), pdf.pages_of(*found))

    for p in passages:
        if p.kind == "outline":
            lines = p.text.split("\n")
            head = lines[0].partition(" : ")[2]  # "Plan de la section : <the chapter's heading>"
            listed = [head, *lines[1:]] if p.section_path else lines[1:]
            pages = [heading_pages[k] for k in map(_heading_key, listed) if k in heading_pages]
            if pages:
                p.page_start, p.page_end = min(a for a, _ in pages), max(b for _, b in pages)
        elif p.kind == "footnote":
            _footnote_pages(p, [by_id[c] for c in p.cited_by if c in by_id], pdf)

    for p in passages:
        report.total[p.kind] = report.total.get(p.kind, 0) + 1
        if p.page_start is not None:
            report.located[p.kind] = report.located.get(p.kind, 0) + 1
        else:
            report.missed.append(p.id)
    return report


def _between_neighbours(texts: list[str], spans: list[tuple[int, int] | None], pdf: PdfText) -> None:
    """Place, in place, the items the anchors could not: too short to search the whole
    document for ("6. Conclusions", "IV. Logement" leave 11 and 10 letters) or changed.

    Such an item lies between its located neighbours: it is searched there only, where a
    short text is unambiguous; not found, it takes the page both neighbours share, if any."""
    for i, found in enumerate(spans):
        if found is not None:
            continue
        lo = next((s[1] for s in reversed(spans[:i]) if s is not None), 0)
        hi = next((s[0] for s in spans[i + 1 :] if s is not None), len(pdf.text))
        norm = normalise(texts[i])
        at = pdf.text.find(norm, lo, hi) if norm and lo < hi else -1
        if at >= 0:
            spans[i] = (at, at + len(norm))
        elif lo < hi and pdf.page_at(lo) == pdf.page_at(hi - 1):
            spans[i] = (lo, hi)


def _heading_key(text: str) -> str:
    return normalise(text)


def _footnote_pages(note: Passage, callers: list[Passage], pdf: PdfText) -> None:
    """Where the note is printed: on its first caller's pages or the next, else anywhere
    (a note long enough to be told apart), else its first caller's pages."""
    norm = normalise(note.text)
    caller = next((c for c in callers if c.page_start is not None), None)
    found = None
    if caller is not None and caller.page_start is not None:
        lo, hi = pdf.span(caller.page_start, (caller.page_end or caller.page_start) + 1)
        found = pdf.locate(norm, lo, hi)
    if found is None and len(norm) >= 2 * ANCHOR:
        found = pdf.locate(norm)
    if found is not None:
        note.page_start, note.page_end = pdf.pages_of(*found)
    elif caller is not None:
        note.page_start, note.page_end = caller.page_start, caller.page_end
