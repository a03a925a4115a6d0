"""Structure-aware chunking: passages that keep their section and their footnotes.

A passage never crosses a section. Within a section, blocks are packed into passages of at
most ``max_chars``; a paragraph and the bullet list it introduces stay together when they
fit, and only a paragraph longer than the limit is cut, at sentence ends. Where cuts are
needed they are placed by a small dynamic programme rather than greedily, so a long list
becomes two balanced halves instead of a full passage and a one-bullet remnant.

Headings are not passages: they travel in ``section_path`` and in ``embed_text`` (title and
path, context for the embedder only); ``text`` is always ``clean_text[start:end]``. Each
footnote becomes a passage of its own, linked both ways with the passages citing it.

The default size was chosen by measuring dense retrieval (multilingual-e5-small on
``embed_text``) over the 20 answerable dev questions, ``benchmarks/chunk_sizes.py``;
"body" ranks body passages only, "+notes" adds the footnote units (``--footnotes``):

    max_chars  passages  mean len   body hit@1 hit@5 MRR@10   +notes hit@1 hit@5 MRR@10
          400       295       281        0.50  0.65  0.575           0.65  0.75  0.715
          600       196       424        0.60  0.70  0.657           0.75  0.85  0.800
          700       165       504        0.55  0.70  0.617           0.70  0.85  0.767
          800       144       578        0.55  0.70  0.625           0.70  0.85  0.775
          900       130       640        0.60  0.75  0.647           0.70  0.90  0.772
         1000       119       699        0.60  0.70  0.625           0.75  0.85  0.775
         1500        82      1016        0.55  0.75  0.604           0.65  0.80  0.721
         2000        64      1302        0.50  0.75  0.596           0.60  0.85  0.710

600-1000 is a plateau (one question is 0.05, and the order within it changed with small
changes to the packing costs); 400 and 1500+ are worse. 800 sits at its middle.
Four of the 20 questions are answered by a footnote only: body scores are capped at 0.80.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from core.languages import detect_language
from ingest.enrich import find_legal_refs, find_urls
from ingest.funds import find_funds
from ingest.models import Block, FootnoteCitation, ParsedDocument, Passage
from ingest.sentences import split_sentences as sentences_of

DEFAULT_MAX_CHARS = 800
# A cut costs as much as leaving this share of a passage empty, squared: cutting a bullet
# list from its lead-in is worth it only to avoid a passage under ~30% full.
LIST_CUT_COST = 0.5
SENTENCE_CUT_COST = 1.0
# A passage that holds the end of one unit and the start of a list it then cuts separates
# the list's lead-in ("les États membres sont encouragés à:") from the rest of its bullets.
STRADDLE_COST = 1.0
_OVERSIZE_COST = 10.0
_SENTENCE_END = re.compile(r"(?<=[.!?;»])\s+(?=[«\"“(A-ZÀ-ÖØ-Þ0-9·])")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``, shifted by ``offset``."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((offset + start, offset + m.start()))
        start = m.end()
    spans.append((offset + start, offset + len(text)))
    return [(a, b) for a, b in spans if b > a]


@dataclass
class _Piece:
    """A block, or one sentence of a block too long for a passage."""

    start: int
    end: int
    block: Block
    unit: int  # pieces of one paragraph, or of a lead-in paragraph and its bullets, share a unit
    cut_cost: float = 0.0  # cost of ending a passage right after this piece


def _pieces(blocks: list[Block], max_chars: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    unit = -1
    for block in blocks:
        if block.kind != "bullet" or not pieces:
            unit += 1
        if block.end - block.start <= max_chars:
            spans = [(block.start, block.end)]
        else:
            spans = split_sentences(block.text, block.start)
        for a, b in spans:
            if pieces and pieces[-1].unit == unit:
                pieces[-1].cut_cost = SENTENCE_CUT_COST if pieces[-1].block is block else LIST_CUT_COST
            pieces.append(_Piece(a, b, block, unit))
    return pieces


def _fill_cost(size: int, max_chars: int) -> float:
    if size > max_chars:  # a single sentence longer than the limit: allowed, never sought
        return _OVERSIZE_COST * (size / max_chars)
    return ((max_chars - size) / max_chars) ** 2


def _pack(pieces: list[_Piece], max_chars: int) -> list[list[_Piece]]:
    """Contiguous groups of pieces of minimal total cost: emptiness squared, plus each cut
    inside a unit, plus a unit begun mid-passage and cut (its lead-in should open a passage)."""
    n = len(pieces)
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        last = pieces[i - 1]
        cut = last.cut_cost if i < n else 0.0
        for j in range(i - 1, -1, -1):
            size = last.end - pieces[j].start
            if size > max_chars and j < i - 1:
                break
            straddle = STRADDLE_COST if cut and pieces[j].unit != last.unit else 0.0
            cost = best[j] + _fill_cost(size, max_chars) + cut + straddle
            if cost < best[i]:
                best[i], back[i] = cost, j
    groups: list[list[_Piece]] = []
    i = n
    while i > 0:
        groups.append(pieces[back[i] : i])
        i = back[i]
    return groups[::-1]


def _sections(doc: ParsedDocument) -> Iterator[tuple[list[Block], list[int]]]:
    """Body blocks grouped by section, with the notes cited in the headings that open it
    (headings are not passages, so their notes go to the section's first passage)."""
    group: list[Block] = []
    pending: list[int] = []
    heading_refs: list[int] = []
    for block in doc.blocks:
        if block.kind == "heading":
            if group:
                yield group, heading_refs
                group, heading_refs = [], []
            pending.extend(block.footnote_refs)
            continue
        if group and group[-1].section_path != block.section_path:
            yield group, heading_refs
            group, heading_refs = [], []
        if not group:
            heading_refs, pending = pending, []
        group.append(block)
    if group:
        yield group, heading_refs


def _refs_in(block: Block, start: int, end: int) -> list[int]:
    """Notes a block cites within [start, end]: by position when the reader recorded it."""
    if len(block.footnote_ref_offsets) == len(block.footnote_refs):
        return [
            n
            for n, at in zip(block.footnote_refs, block.footnote_ref_offsets, strict=True)
            if start <= at <= end
        ]
    return list(block.footnote_refs)


def _context(doc: ParsedDocument, section_path: list[str]) -> str:
    path = section_path[1:] if section_path[:1] == [doc.title] else section_path
    return " > ".join([doc.title, *path])


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _pages(blocks: list[Block]) -> tuple[int | None, int | None]:
    starts = [b.page_start for b in blocks if b.page_start is not None]
    ends = [b.page_end or b.page_start for b in blocks if b.page_start is not None]
    return (min(starts), max(e for e in ends if e is not None)) if starts else (None, None)


def _calling_sentences(doc: ParsedDocument) -> dict[int, str]:
    """The body sentence that calls each footnote (the first call), by note number.

    A note's own text rarely says what it is the source of ("Eurostat, lfsa_ergacob"): the
    sentence that calls it does ("le taux d’emploi des femmes nées hors de l’UE..."), so the
    footnote passage is embedded with it.
    """
    found: dict[int, str] = {}
    for block in doc.blocks:
        if block.kind == "heading" or len(block.footnote_ref_offsets) != len(block.footnote_refs):
            continue
        text = doc.clean_text[block.start : block.end]
        sentences = sentences_of(text, min_chars=1)
        for number, at in zip(block.footnote_refs, block.footnote_ref_offsets, strict=True):
            if number in found:
                continue
            offset = at - block.start
            sentence = next((x for x in sentences if x.start <= offset <= x.end), None)
            if sentence is not None:
                found[number] = sentence.text
    return found


def _outline_passages(doc: ParsedDocument, first_order: int) -> list[Passage]:
    """One passage listing the document's chapters, and one per chapter listing its sections.

    Headings are not body passages, so "what are the main areas of the plan" found nothing to
    match: the answer *is* the list of headings. Generic sub-headings repeated in every
    section ("Qu’entend faire la Commission...") are left out; chapters without sub-sections
    get no outline of their own.
    """
    headings = [b for b in doc.blocks if b.kind == "heading" and b.section_path]
    if len(headings) < 3:
        return []
    repeated = {t for t, n in Counter(b.text.strip() for b in headings).items() if n > 1}
    top = [b for b in headings if len(b.section_path) == 1 and b.text.strip() not in repeated]
    outlines: list[tuple[list[str], list[Block], int, int]] = []
    if len(top) >= 2:
        outlines.append(([], top, top[0].start, doc.blocks[-1].end))
    for chapter in top:
        children = [
            b
            for b in headings
            if len(b.section_path) == 2
            and b.section_path[0] == chapter.section_path[0]
            and b.text.strip() not in repeated
        ]
        if len(children) >= 2:
            end = max(b.end for b in doc.blocks if b.section_path[:1] == chapter.section_path[:1])
            outlines.append((list(chapter.section_path), [chapter, *children], chapter.start, end))
    passages = []
    for path, items, start, end in outlines:
        label = "Plan du document" if not path else "Plan de la section"
        head = doc.title if not path else path[-1]
        text = f"{label} : {head}\n" + "\n".join(
            b.text.strip() for b in items if not path or b is not items[0]
        )
        page_start, page_end = _pages(items)
        passages.append(
            Passage(
                id=f"{doc.doc_id}:outline-{_hash(text)}",
                doc_id=doc.doc_id,
                title=doc.title,
                kind="outline",
                section_path=path,
                order=first_order + len(passages),
                start=start,
                end=end,
                text=text,
                embed_text=f"{_context(doc, path)}\n\n{text}",
                language=doc.language,
                page_start=page_start,
                page_end=page_end,
                source_path=doc.source_path,
            )
        )
    return passages


def chunk_document(doc: ParsedDocument, max_chars: int = DEFAULT_MAX_CHARS) -> list[Passage]:
    """Body passages in reading order, outline passages, then one passage per footnote,
    embedded with the sentence that calls it and linked both ways with the citing passages."""
    passages: list[Passage] = []
    seen: set[str] = set()
    citing: dict[int, list[str]] = {}
    for blocks, heading_refs in _sections(doc):
        for n, group in enumerate(_pack(_pieces(blocks, max_chars), max_chars)):
            start, end = group[0].start, group[-1].end
            text = doc.clean_text[start:end]
            used = {id(p.block) for p in group}
            in_passage = [b for b in blocks if id(b) in used]
            refs = list(heading_refs) if n == 0 else []
            for block in in_passage:
                refs.extend(_refs_in(block, start, end))
            refs = sorted(set(refs))
            notes = [doc.footnotes[r] for r in refs if r in doc.footnotes]
            notes_text = " ".join(note.text for note in notes)
            pid = f"{doc.doc_id}:{_hash(text)}"
            if pid in seen:  # the same words twice in a document: told apart by order
                pid = f"{pid}-{len(passages)}"
            seen.add(pid)
            path = list(in_passage[0].section_path)
            page_start, page_end = _pages(in_passage)
            passages.append(
                Passage(
                    id=pid,
                    doc_id=doc.doc_id,
                    title=doc.title,
                    kind="passage",
                    section_path=path,
                    order=len(passages),
                    start=start,
                    end=end,
                    text=text,
                    embed_text=f"{_context(doc, path)}\n\n{text}",
                    language=detect_language(text, fallback=doc.language),
                    footnotes=[
                        FootnoteCitation(note.number, note.text, find_urls(note.text)) for note in notes
                    ],
                    urls=find_urls(f"{text}\n{notes_text}"),
                    legal_refs=find_legal_refs(f"{text}\n{notes_text}"),
                    funds=find_funds(f"{text}\n{notes_text}"),
                    page_start=page_start,
                    page_end=page_end,
                    source_path=doc.source_path,
                )
            )
            for r in refs:
                citing.setdefault(r, []).append(pid)
    body = {p.id: p for p in passages}
    passages.extend(_outline_passages(doc, len(passages)))
    calls = _calling_sentences(doc)
    for number, note in sorted(doc.footnotes.items()):
        cited_by = citing.get(number, [])
        path = body[cited_by[0]].section_path if cited_by else []
        passages.append(
            Passage(
                id=f"{doc.doc_id}:fn{number}-{_hash(note.text)[:8]}",
                doc_id=doc.doc_id,
                title=doc.title,
                kind="footnote",
                section_path=[*path, f"Note {number}"],
                order=len(passages),
                start=note.start,
                end=note.end,
                text=note.text,
                embed_text=f"{_context(doc, path)} > Note {number}\n\n{calls.get(number, '')}\n\n{note.text}",
                language=detect_language(note.text, fallback=doc.language),
                footnotes=[FootnoteCitation(number, note.text, find_urls(note.text))],
                urls=find_urls(note.text),
                legal_refs=find_legal_refs(note.text),
                funds=find_funds(note.text),
                page_start=note.page,
                page_end=note.page,
                footnote_number=number,
                cited_by=cited_by,
                source_path=doc.source_path,
            )
        )
    return passages
