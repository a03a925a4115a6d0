"""What the plain-text readers share: decoding bytes, building the section tree, laying out
``clean_text`` with exact offsets.

Every text reader (Word export, web page, plain text) ends the same way: a list of blocks
joined by blank lines, then a "Notes" area holding each footnote text, so that offsets
into ``clean_text`` round-trip for blocks and footnotes alike. Doing this once keeps the
readers down to recognising structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import EmptyDocument, EncodingError
from ingest.models import Block, BlockKind, Footnote, ParsedDocument, SourceFormat

NOTES_HEADING = "Notes"
BLOCK_SEPARATOR = "\n\n"
#: Bullet glyphs seen in exports and Markdown; the glyph stays in the text, as printed.
BULLET = re.compile(r"^(?:[·•▪◦‣●○■□–—]|[-*+](?=\s))\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes, source: str = "") -> str:
    """UTF-8 (BOM or not) first, since nearly every export is; else what charset-normalizer
    finds (Latin-1, cp1252, UTF-16...). Binary data is refused rather than indexed as noise."""
    name = source or "The file"
    if not data.strip():
        raise EmptyDocument(
            f"{name} is empty: there is nothing to index. Check that the right file was sent."
        )
    try:
        text: str | None = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _detect_and_decode(data)
    if text is None or _looks_binary(text):
        raise EncodingError(
            f"{name} is not readable text (not UTF-8, and no other text encoding fits). "
            "Save it as UTF-8 text, or upload the PDF."
        )
    # the few control characters a text may carry (a stray NUL) are not words: drop them
    text = _CONTROL.sub("", text)
    if not text.strip():
        raise EmptyDocument(
            f"{name} is empty: there is nothing to index. Check that the right file was sent."
        )
    return text


#: Western European code pages first: a short French text fits Central European ones just as
#: well ("Première" reads "Premičre" in cp1250), but these documents are French and EU texts.
_PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_CHAOS_TIE = 0.01


def _detect_and_decode(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least + _CHAOS_TIE]
    for encoding in _PREFERRED_ENCODINGS:
        if any(encoding in m.could_be_from_charset for m in tied):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    return str(min(tied, key=lambda m: (m.chaos, -m.coherence)))


def _looks_binary(text: str) -> bool:
    """Control characters other than tab, newline, CR and form feed do not occur in text."""
    return len(_CONTROL.findall(text)) > max(2, len(text) // 200)


def read_text_file(path: Path) -> str:
    path = Path(path)
    return decode_text(path.read_bytes(), path.name)


def split_lines(text: str) -> list[str]:
    """Lines with every newline convention (CRLF, CR, LF) unified."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass
class _Draft:
    kind: BlockKind
    text: str
    section_path: list[str]
    footnote_refs: list[int]
    ref_positions: list[int]  # where each ref was cited, relative to the block text


@dataclass
class SectionBuilder:
    """Collects blocks in reading order and keeps the stack of open headings.

    A heading of level *n* closes every open heading of level >= *n*, so "II." after "I."
    replaces it, and "5." closes the roman sections of "4.".
    """

    drafts: list[_Draft] = field(default_factory=list)
    stack: list[tuple[int, str]] = field(default_factory=list)

    def heading(
        self, level: int, text: str, refs: list[int] | None = None, positions: list[int] | None = None
    ) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.drafts.append(_Draft("heading", text, self.path(), list(refs or []), list(positions or [])))

    def title(self, text: str, refs: list[int] | None = None, positions: list[int] | None = None) -> None:
        """A heading block that opens no section (the Word export's first line)."""
        self.drafts.append(_Draft("heading", text, [], list(refs or []), list(positions or [])))

    def add(
        self, kind: BlockKind, text: str, refs: list[int] | None = None, positions: list[int] | None = None
    ) -> None:
        self.drafts.append(_Draft(kind, text, self.path(), list(refs or []), list(positions or [])))

    def path(self) -> list[str]:
        return [text for _, text in self.stack]

    def __bool__(self) -> bool:
        return any(d.kind != "heading" for d in self.drafts)


def assemble(
    doc_id: str,
    title: str,
    source: Path | str,
    source_format: SourceFormat,
    builder: SectionBuilder,
    notes: dict[int, str] | None = None,
    metadata: dict[str, object] | None = None,
) -> ParsedDocument:
    """Join the blocks with blank lines, then the notes area ("Notes", then "N. text" for
    each note), recording the offsets of every block and every note text."""
    parts: list[str] = []
    pos = 0

    def put(text: str) -> int:
        nonlocal pos
        start = pos
        parts.append(text)
        pos += len(text)
        return start

    blocks: list[Block] = []
    for draft in builder.drafts:
        if parts:
            put(BLOCK_SEPARATOR)
        start = put(draft.text)
        blocks.append(
            Block(
                kind=draft.kind,
                text=draft.text,
                start=start,
                end=pos,
                section_path=draft.section_path,
                footnote_refs=draft.footnote_refs,
                footnote_ref_offsets=[start + p for p in draft.ref_positions],
            )
        )
    footnotes: dict[int, Footnote] = {}
    if notes:
        put(BLOCK_SEPARATOR + NOTES_HEADING)
        for number in sorted(notes):
            put(f"{BLOCK_SEPARATOR}{number}. ")
            start = put(notes[number])
            footnotes[number] = Footnote(number=number, text=notes[number], start=start, end=pos)
    return ParsedDocument(
        doc_id=doc_id,
        title=title,
        source_path=str(source),
        source_format=source_format,
        clean_text="".join(parts),
        blocks=blocks,
        footnotes=footnotes,
        metadata=dict(metadata or {}),
    )
