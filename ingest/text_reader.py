"""Readers for plain-text sources: Word exports with footnotes, and web page text.

Word's text export keeps footnotes inline: a ``[footnoteRef:N]`` marker where the note is
cited and the note itself as ``[N: ...]`` after the paragraph, possibly over several lines and
containing brackets of its own (``[COM(2020) 565 final]``). Notes are therefore cut out with
bracket-depth counting, not a regular expression, before the text is split into lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import EmptyDocument, EncodingError
from ingest.models import Block, BlockKind, Footnote, ParsedDocument

_REF = re.compile(r"\[footnoteRef:(\d+)\]")
_NOTE_START = re.compile(r"\[(\d+):")
_NOISE = re.compile(r"\[(?:bookmark|image):[^\]]*\]")
_SENTINEL = re.compile(r"\x00(\d+)\x00")
_NUMBERED = re.compile(r"^\d{1,2}\.\s+\S")
_ROMAN = re.compile(r"^(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)\.\s+\S")
_BULLET = re.compile(r"^[·•▪◦\-–]\s")
NOTES_HEADING = "Notes"


def decode_text(data: bytes, source: str = "") -> str:
    """UTF-8 (with or without BOM) first, else the encoding charset-normalizer detects."""
    if not data.strip():
        raise EmptyDocument(f"{source or 'The file'} is empty: there is nothing to index.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    text = str(best) if best is not None else None
    if text is None or _looks_binary(text):
        raise EncodingError(
            f"{source or 'The file'} is not readable text (not UTF-8, and no other text encoding fits). "
            "Save it as UTF-8 text, or upload the PDF."
        )
    return text


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls > max(2, len(text) // 100)


def read_text_file(path: Path) -> str:
    return decode_text(Path(path).read_bytes(), str(path))


@dataclass
class _Builder:
    """Accumulates blocks and tracks the section stack."""

    blocks: list[tuple[BlockKind, str, list[str], list[int]]] = field(default_factory=list)
    stack: list[tuple[int, str]] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.blocks.append(("heading", text, self.path(), []))

    def add(self, kind: BlockKind, text: str, refs: list[int]) -> None:
        self.blocks.append((kind, text, self.path(), refs))

    def path(self) -> list[str]:
        return [t for _, t in self.stack]


def _assemble(
    doc_id: str, title: str, source: Path | str, fmt: str, builder: _Builder, notes: dict[int, str]
) -> ParsedDocument:
    """Join blocks with blank lines, then the notes area; record every offset."""
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for kind, text, path, refs in builder.blocks:
        if parts:
            parts.append("\n\n")
            pos += 2
        blocks.append(
            Block(kind=kind, text=text, start=pos, end=pos + len(text), section_path=path, footnote_refs=refs)
        )
        parts.append(text)
        pos += len(text)
    footnotes: dict[int, Footnote] = {}
    if notes:
        head = f"\n\n{NOTES_HEADING}"
        parts.append(head)
        pos += len(head)
        for number in sorted(notes):
            prefix = f"\n\n{number}. "
            parts.append(prefix)
            pos += len(prefix)
            footnotes[number] = Footnote(
                number=number, text=notes[number], start=pos, end=pos + len(notes[number])
            )
            parts.append(notes[number])
            pos += len(notes[number])
    return ParsedDocument(
        doc_id=doc_id,
        title=title,
        source_path=str(source),
        source_format=fmt,  # type: ignore[arg-type]
        clean_text="".join(parts),
        blocks=blocks,
        footnotes=footnotes,
    )


def _cut_notes(text: str) -> tuple[str, dict[int, str]]:
    """Remove ``[N: ...]`` notes (bracket depth) and noise; turn refs into sentinels."""
    text = _NOISE.sub("", text)
    text = _REF.sub(lambda m: f"\x00{m.group(1)}\x00", text)
    out: list[str] = []
    notes: dict[int, str] = {}
    i = 0
    while i < len(text):
        m = _NOTE_START.match(text, i) if text[i] == "[" else None
        if m is None:
            out.append(text[i])
            i += 1
            continue
        depth, j = 0, i
        while j < len(text):
            if text[j] == "[":
                depth += 1
            elif text[j] == "]":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        notes[int(m.group(1))] = " ".join(text[m.end() : j].split())
        i = j + 1
    return "".join(out), notes


def _take_refs(line: str) -> tuple[str, list[int]]:
    refs = [int(n) for n in _SENTINEL.findall(line)]
    # drop the marker and a space it leaves before punctuation: "intégration [40]." -> "intégration."
    line = re.sub(r"\s*\x00\d+\x00(?=\s*[.,;:!?)»]|\s*$)", "", line)
    line = _SENTINEL.sub("", line)
    return line.strip(), refs


def read_word_text(path: Path, doc_id: str | None = None, text: str | None = None) -> ParsedDocument:
    """Read a Word text export: title on the first line, numbered and roman headings,
    tab-indented sub-headings, ``·`` bullets, footnotes."""
    path = Path(path)
    raw = text if text is not None else read_text_file(path)
    body, notes = _cut_notes(raw.replace("\r\n", "\n").replace("\r", "\n"))
    builder = _Builder()
    title = ""
    for line in body.split("\n"):
        if not line.strip() or not _SENTINEL.sub("", line).strip():
            continue
        indented = line.startswith("\t")
        clean, refs = _take_refs(line)
        if not title:
            title = clean
            builder.add("heading", clean, refs)
            continue
        if _NUMBERED.match(clean) and len(clean) < 250:
            builder.heading(1, clean)
        elif _ROMAN.match(clean) and len(clean) < 250:
            builder.heading(2, clean)
        elif indented and len(clean) < 250:
            builder.heading(3, clean)
        elif _BULLET.match(clean):
            builder.add("bullet", clean, refs)
        else:
            builder.add("paragraph", clean, refs)
        if refs and builder.blocks[-1][0] == "heading":
            builder.blocks[-1][3].extend(refs)
    if not builder.blocks:
        raise EmptyDocument(f"{path.name} has no text to index.")
    doc = _assemble(doc_id or path.stem, title, path, "text", builder, notes)
    return doc


_WEB_NOISE = {
    "navigation path",
    "read more",
    "members",
    "en savoir plus",
    "lire la suite",
    "share this page",
    "partager cette page",
}


def _is_heading_line(line: str) -> bool:
    return len(line) <= 120 and not re.search(r"[.:;!?…,]$", line) and not _BULLET.match(line)


def read_web_page(path: Path, doc_id: str | None = None, text: str | None = None) -> ParsedDocument:
    """Read the text of a web page (or any plain text): a title, short unpunctuated lines as
    section headings, paragraphs separated by line breaks; navigation noise dropped."""
    path = Path(path)
    raw = text if text is not None else read_text_file(path)
    lines = [ln.strip() for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln and ln.lower() not in _WEB_NOISE]
    if not lines:
        raise EmptyDocument(f"{path.name} has no text to index.")
    # the browser tab title is often truncated ("... - Commission Européenne"); the page's H1
    # follows it: prefer the H1 when the tab title is a prefix of it
    title = lines[0]
    tab = re.sub(r"\s+-\s+[^-]+$", "", title).rstrip(".… ")
    if len(lines) > 1 and tab and lines[1].startswith(tab.rstrip("i").rstrip()[: max(10, len(tab) - 5)]):
        lines = lines[1:]
        title = lines[0]
    builder = _Builder()
    builder.heading(1, title)
    for line in lines[1:]:
        if _is_heading_line(line):
            builder.heading(2, line)
        elif _BULLET.match(line):
            builder.add("bullet", line, [])
        else:
            builder.add("paragraph", line, [])
    return _assemble(doc_id or path.stem, title, path, "web", builder, {})
