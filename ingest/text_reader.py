"""Reader for Word's plain-text export of a Commission document, footnotes included.

Word's text export keeps footnotes inline: a ``[footnoteRef:N]`` marker where the note is
cited, and the note itself as ``[N: ...]`` after the paragraph, often on the same line,
possibly over several lines, several in a row, and containing brackets of its own
(``[COM(2020) 565 final]``). Notes are therefore cut out with bracket-depth counting, not a
regular expression, before the text is split into lines.

Structure is read from the export's conventions: the first line is the title; ``1.``..``6.``
open level-1 sections and ``I.``..``V.`` level-2 sections under the current numbered one;
a tab-indented short line ("\\tQu’entend faire la Commission...?") is a level-3 sub-heading;
lines starting with ``·`` are bullets.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import EmptyDocument
from core.languages import detect_language
from ingest.markers import SENTINEL_WITH_SPACE, sentinel, take_markers
from ingest.models import ParsedDocument
from ingest.text_layout import (
    BULLET,
    NOTES_HEADING,
    SectionBuilder,
    assemble,
    decode_text,
    read_text_file,
    split_lines,
)

# read_web_page lived here before ingest/web_reader.py; kept importable for older callers.
from ingest.web_reader import read_web_page

__all__ = ["NOTES_HEADING", "decode_text", "read_text_file", "read_web_page", "read_word_text", "cut_notes"]

_REF = re.compile(r"\[footnoteRef:(\d+)\]")
_NOTE_START = re.compile(r"\[(\d{1,4}):")
_NOISE = re.compile(r"\[(?:bookmark|image):[^\]]*\]")
_NUMBERED = re.compile(r"^\d{1,2}\.\s+\S")
_ROMAN = re.compile(r"^(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)\.\s+\S")
_MAX_HEADING = 250
_LINE_BREAK_IN_NOTE = re.compile(r"[ \t]*\n[ \t]*")


def cut_notes(text: str) -> tuple[str, dict[int, str]]:
    """Remove every ``[N: ...]`` note (matched by bracket depth) and the noise markers.

    Returns the body, in which each ``[footnoteRef:N]`` became a sentinel that
    :func:`ingest.markers.take_markers` reads, and the note texts by number (line breaks inside a note
    become spaces; other characters, no-break spaces included, are kept).
    """
    text = _NOISE.sub("", text)
    # refs become sentinels while notes are cut, so a "[" inside a note never meets a
    # half-removed marker
    text = _REF.sub(lambda m: sentinel(m.group(1)), text)
    out: list[str] = []
    notes: dict[int, str] = {}
    i = 0
    while i < len(text):
        start = text.find("[", i)
        if start < 0:
            out.append(text[i:])
            break
        match = _NOTE_START.match(text, start)
        if match is None:
            out.append(text[i : start + 1])
            i = start + 1
            continue
        out.append(text[i:start])
        # an unclosed note runs to the end of the text (better a long note than a lost one),
        # but never over the next note: a note holds no other note
        depth, j, resume = 0, start, len(text)
        while j < len(text):
            if text[j] == "[":
                if depth and _NOTE_START.match(text, j):
                    resume = j
                    break
                depth += 1
            elif text[j] == "]":
                depth -= 1
                if depth == 0:
                    resume = j + 1
                    break
            j += 1
        # a ref inside a note cites nothing (Word notes cannot); its sentinel must not leak
        note = SENTINEL_WITH_SPACE.sub("", text[match.end() : j])
        notes[int(match.group(1))] = _LINE_BREAK_IN_NOTE.sub(" ", note).strip()
        i = resume
    return "".join(out), notes


def read_word_text(path: Path, doc_id: str | None = None, text: str | None = None) -> ParsedDocument:
    """Parse a Word text export; ``text`` skips reading ``path`` (an upload already decoded)."""
    path = Path(path)
    raw = text if text is not None else read_text_file(path)
    body, notes = cut_notes("\n".join(split_lines(raw)))
    builder = SectionBuilder()
    title = ""
    for line in body.split("\n"):
        clean, refs, positions = take_markers(line)
        if not clean:
            continue
        if not title:
            title = clean
            builder.title(clean, refs, positions)
        elif len(clean) <= _MAX_HEADING and _NUMBERED.match(clean):
            builder.heading(1, clean, refs, positions)
        elif len(clean) <= _MAX_HEADING and _ROMAN.match(clean):
            builder.heading(2, clean, refs, positions)
        elif line.startswith("\t") and len(clean) <= _MAX_HEADING and not BULLET.match(clean):
            builder.heading(3, clean, refs, positions)
        elif BULLET.match(clean):
            builder.add("bullet", clean, refs, positions)
        else:
            builder.add("paragraph", clean, refs, positions)
    if not builder:
        raise EmptyDocument(f"{path.name} has no text to index once markup is removed.")
    doc = assemble(doc_id or path.stem, title, path, "text", builder, notes)

    doc.language = detect_language(doc.clean_text[:4000])
    return doc
