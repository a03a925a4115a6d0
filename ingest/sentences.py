"""Sentence splitting for French policy prose, with offsets into the passage text.

Why not a library: NLTK's Punkt needs a data download (no Hub, no internet here) and spaCy
needs a model; policy texts are regular enough that a few rules do well. Splits happen at
``.``, ``!``, ``?`` or ``;`` followed by a new sentence (capital, digit, quote, bullet), at
line breaks, and never after the abbreviations these documents use (``art.``, ``p.``,
``cf.``, ``n°``, months: ``Dec.``...). Fragments too short to answer anything (headings) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Closing punctuation, optional closing quote/bracket/footnote-like digits, then a space and a
# sentence opener. ';' ends a sentence too: list items in these texts end with it.
_BOUNDARY = re.compile(r"(?<=[.!?;…])[»”\")\]]*\s+(?=[«“\"(\[]?[A-ZÀ-ÖØ-Þ0-9·•\-–])")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:art|arts|p|pp|cf|ex|n|no|nos|vol|etc|env|mm|m|mme|dr|st|ste|chap|fig|sect|al|op|cit|ibid|resp|approx"
    r"|e\.g|i\.e|cie|inc|ltd|vs"
    # months before a day or a year: "(Dec. 2018)", "le 3 janv. 2021"
    r"|jan|janv|feb|fevr|févr|apr|avr|jun|jul|juil|aug|sep|sept|oct|nov|dec|déc)\.|\b[A-Z]\.|\b[IVXLC]+\.|n°)$",
    re.IGNORECASE,
)
_LINE_BREAK = re.compile(r"\n+")
_BULLET = re.compile(r"^[\s·•▪\-–*]+")
MIN_CHARS = 25


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the text that was split
    end: int


def _spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in _LINE_BREAK.split(text):
        start = text.find(piece, pos) if piece else pos
        pos = start + len(piece)
        cut = start
        for m in _BOUNDARY.finditer(piece):
            before = piece[: m.start()].rstrip('»”")]')
            if _ABBREVIATIONS.search(before):
                continue
            spans.append((cut, start + m.start()))
            cut = start + m.end()
        spans.append((cut, start + len(piece)))
    return spans


def split_sentences(text: str, min_chars: int = MIN_CHARS) -> list[Sentence]:
    """Sentences of ``text`` (bullet marks and surrounding space trimmed, offsets kept)."""
    out: list[Sentence] = []
    for start, end in _spans(text):
        chunk = text[start:end]
        lead = len(chunk) - len(_BULLET.sub("", chunk))
        start += lead
        chunk = text[start:end]
        stripped = chunk.rstrip()
        end = start + len(stripped)
        if not stripped:
            continue
        if len(stripped) < min_chars:
            if stripped[-1] in ".!?;…" and out and not text[out[-1].end : start].strip(" "):
                prev = out[-1]  # "Fin." after a sentence on the same line: keep it with its sentence
                out[-1] = Sentence(text[prev.start : end], prev.start, end)
            continue  # a heading or a stray fragment: context, not an answer
        out.append(Sentence(stripped, start, end))
    return out
