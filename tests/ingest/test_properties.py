"""Property-based tests of the readers: random and malformed input never crashes them.

Whatever the input (Word exports with random, nested or unbalanced footnote markup, web
pages, plain text, random bytes, truncated or damaged PDFs), a reader either returns a
:class:`ParsedDocument` whose offsets round-trip and whose passages carry no markup, or
refuses the file with an :class:`~core.errors.IngestError` that tells the user what to do.
Any other exception would reach an upload as a 500.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.errors import IngestError
from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.readers import read_bytes
from ingest.text_layout import decode_text
from ingest.text_reader import read_word_text
from ingest.web_reader import read_web_page
from tests.conftest import CORPUS

PDF = CORPUS / "pdf" / "plan-action-integration-inclusion-2021-2027.pdf"
#: Markup the Word-export reader removes, and the private sentinels it uses meanwhile.
MARKERS = re.compile(r"\[footnoteRef:\d+\]|\[(?:bookmark|image):|\[\d{1,4}:|[\ue000\ue001\x00]")
FRENCH_SIGNS = "’«»€"

PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PDF_PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- checks


def check_document(doc: ParsedDocument) -> list[Passage]:
    """Offsets round-trip for blocks, notes and passages; passages hold text and no markup."""
    assert isinstance(doc, ParsedDocument)
    assert doc.blocks, "a document without blocks should have been refused"
    for block in doc.blocks:
        assert doc.clean_text[block.start : block.end] == block.text
        assert block.text.strip(), f"empty {block.kind} block"
    for number, note in doc.footnotes.items():
        assert note.number == number
        assert doc.clean_text[note.start : note.end] == note.text
    passages = chunk_document(doc)
    assert passages
    assert len({p.id for p in passages}) == len(passages)
    for p in passages:
        if p.kind == "outline":  # the list of the headings: its own text, over the chapter's span
            assert 0 <= p.start <= p.end <= len(doc.clean_text) and p.text.strip()
        else:
            assert doc.clean_text[p.start : p.end] == p.text
        assert p.kind == "footnote" or p.text.strip()
        found = MARKERS.search(p.text)
        assert found is None, f"markup {found.group(0)!r} left in {p.kind}: {p.text[:200]!r}"
    return passages


def read_or_refuse(data: bytes, filename: str) -> ParsedDocument | None:
    """The document, or None when refused with an IngestError (any other exception fails)."""
    try:
        doc = read_bytes(data, filename)
    except IngestError as exc:
        assert type(exc) is not IngestError, "refusals use a specific IngestError subclass"
        assert str(exc).strip(), "a refusal says why"
        return None
    check_document(doc)
    return doc


# --------------------------------------------------------------------------- strategies

_LETTERS = "abcdeéèêfghiîjklmnoôpqrstuùûvwxyzçœ" + "ABCÉÈDEÇ" + "0123456789"
word = st.text(alphabet=_LETTERS, min_size=1, max_size=10)
#: Printable text of any script, without controls, private-use sentinels or lone surrogates.
any_text = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")), max_size=12
)
french = st.one_of(
    word,
    word.map(lambda w: f"l’{w}"),
    word.map(lambda w: f"«\u00a0{w}\u00a0»"),
    word.map(lambda w: f"«{w}»"),
    st.integers(0, 10**6).map(lambda n: f"{n}\u00a0€"),
    st.integers(0, 100).map(lambda n: f"{n}\u202f%"),
    st.sampled_from([",", ".", ";", ":", "?", "!", "(", ")", "-", "–", "/", "+"]),
)
note_number = st.integers(0, 120)


@st.composite
def note_body(draw: st.DrawFn) -> str:
    """A footnote's text: words, bracketed references, nested and sometimes unbalanced brackets."""
    parts = draw(
        st.lists(
            st.one_of(
                french,
                french,
                any_text,
                st.just("[COM(2020) 565 final]"),
                st.just("[voir [annexe [I]]]"),
                st.builds(lambda w: f"[{w}]", word),
                st.just("["),
                st.just("]"),
                st.just("\n"),
                st.just("https://ec.europa.eu/info/fr?x=[1]"),
            ),
            max_size=12,
        )
    )
    return " ".join(parts)


fragment = st.one_of(
    french,
    french,
    french,
    any_text,
    st.just("\t"),
    st.just("\u00a0"),
    note_number.map(lambda n: f"[footnoteRef:{n}]"),
    st.builds(lambda n, body: f"[{n}: {body}]", note_number, note_body()),
    st.builds(lambda n, body: f"[{n}:{body}", note_number, note_body()),  # never closed
    word.map(lambda w: f"[bookmark: {w}]"),
    word.map(lambda w: f"[bookmark: _Toc{w}]"),
    word.map(lambda w: f"[image: {w}.png]"),
    st.just("[]"),
    st.just("[["),
    st.just("]]"),
)
line_start = st.sampled_from(["", "", "", "\t", "\t\t", "· ", "·\t", "• ", "- ", "1. ", "12. ", "IV. ", "  "])
line_end = st.sampled_from(["\n", "\n", "\n\n", "\r\n", "\r", "\n\t\n"])


@st.composite
def word_export(draw: st.DrawFn) -> str:
    """Text shaped like Word's export: a title, headings, bullets, paragraphs, inline notes."""
    title = " ".join(draw(st.lists(french, min_size=1, max_size=6)))
    lines = draw(
        st.lists(
            st.tuples(line_start, st.lists(fragment, max_size=15), line_end),
            max_size=12,
        )
    )
    body = "".join(start + " ".join(frags) + end for start, frags, end in lines)
    # a Word export always carries a marker somewhere: that is how read_bytes recognises one
    return f"{title}\n{body}[footnoteRef:1]\n[1: {draw(note_body())}]"


paragraph = st.lists(french, min_size=1, max_size=30).map(" ".join)


@st.composite
def web_page(draw: st.DrawFn) -> str:
    chrome = ["Navigation path", "Read more", "Members", "Lire la suite", "Partager cette page"]
    lines = [draw(st.sampled_from(["Titre du document - Commission européenne", "Titre du document"]))]
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["paragraph", "paragraph", "heading", "bullet", "chrome", "blank"]))
        if kind == "chrome":
            lines.append(draw(st.sampled_from(chrome)))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        elif kind == "bullet":
            lines.append(draw(st.sampled_from(["• ", "- ", "· "])) + draw(paragraph))
        elif kind == "heading":
            lines.append(" ".join(draw(st.lists(word, min_size=1, max_size=5))))
        else:
            lines.append(draw(paragraph) + draw(st.sampled_from([".", "", " ?", " :"])))
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- text readers


@PROPS
@given(word_export())
def test_word_exports_parse_or_are_refused(text: str):
    read_or_refuse(text.encode("utf-8"), "export.txt")


@PROPS
@given(word_export())
def test_word_export_reader_directly(text: str):
    try:
        doc = read_word_text(Path("export.txt"), text=text)
    except IngestError:
        return
    check_document(doc)
    assert doc.source_format == "text"


@PROPS
@given(web_page())
def test_web_pages_parse_or_are_refused(text: str):
    read_or_refuse(text.encode("utf-8"), "page.txt")
    try:
        doc = read_web_page(Path("page.txt"), text=text)
    except IngestError:
        return
    check_document(doc)
    assert all(ln not in doc.clean_text.splitlines() for ln in ("Navigation path", "Read more", "Members"))


@PROPS
@given(st.text(max_size=400), st.sampled_from(["x.txt", "x.md"]))
def test_any_unicode_text_parses_or_is_refused(text: str, name: str):
    read_or_refuse(text.encode("utf-8", "surrogatepass"), name)


@PROPS
@given(st.binary(max_size=3000))
def test_random_bytes_as_text_parse_or_are_refused(data: bytes):
    read_or_refuse(data, "x.txt")


def _note_text(raw: str) -> str:
    """What the reader keeps of a note: line breaks (and the spaces around them) become one space."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", raw).strip()


@PROPS
@given(
    st.lists(st.tuples(paragraph, st.lists(note_body(), max_size=2)), min_size=1, max_size=8),
    st.sampled_from(["word", "web", "plain"]),
)
def test_french_signs_and_no_break_spaces_survive(paragraphs: list[tuple[str, list[str]]], shape: str):
    """’ « » €, and no-break spaces inside a text, are the document's own words: never lost."""
    texts = [text for text, _ in paragraphs]
    notes: list[str] = []
    if shape == "word":
        lines = ["Titre du plan d’action"]
        for text, note_texts in paragraphs:
            note_texts = [n.replace("[", "(").replace("]", ")") for n in note_texts]
            numbers = range(len(notes) + 1, len(notes) + 1 + len(note_texts))
            refs = "".join(f"[footnoteRef:{n}]" for n in numbers)
            inline = " ".join(f"[{n}: {note}]" for n, note in zip(numbers, note_texts, strict=True))
            lines.append(f"{text}{refs} {inline}")
            notes.extend(note_texts)
        source = "\n".join(lines) + "\n[footnoteRef:0]\n[0: Note.]"
    else:
        title = "Titre du document" if shape == "web" else "Titre d’un texte"
        source = title + "\n\n" + "\n\n".join(text + "." for text in texts)
        if shape == "web":
            source = "Navigation path\n" + source + "\n\nRead more\nMembers\n"
    doc = read_bytes(source.encode("utf-8"), "document.txt")
    check_document(doc)
    assert doc.source_format == {"word": "text", "web": "web", "plain": "text"}[shape]
    for text in texts:
        assert text in doc.clean_text
    for note in notes:
        assert _note_text(note) in doc.clean_text
    # and nothing else of these was made up or lost elsewhere (title, headings)
    signs = Counter(ch for ch in source if ch in FRENCH_SIGNS)
    assert Counter(ch for ch in doc.clean_text if ch in FRENCH_SIGNS) == signs


def test_decode_keeps_french_signs_in_utf8_and_cp1252():
    text = "L’Union «\u00a0intègre\u00a0» 3\u00a0000\u00a0€ et l’œuvre."
    assert decode_text(text.encode("utf-8"), "a.txt") == text
    assert decode_text(text.encode("utf-8-sig"), "a.txt") == text
    latin = decode_text(text.encode("cp1252"), "a.txt")
    assert all(sign in latin for sign in FRENCH_SIGNS)


# --------------------------------------------------------------------------- PDF reader


@PDF_PROPS
@given(st.binary(max_size=4000), st.sampled_from([b"", b"%PDF-1.7\n", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]))
def test_random_bytes_as_pdf_parse_or_are_refused(data: bytes, header: bytes):
    read_or_refuse(header + data + (b"\n%%EOF\n" if header else b""), "x.pdf")


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return PDF.read_bytes()


@PDF_PROPS
@given(cut=st.floats(0.0, 1.0, exclude_max=True), eof=st.booleans())
def test_truncated_pdfs_parse_or_are_refused(pdf_bytes: bytes, cut: float, eof: bool):
    data = pdf_bytes[: int(len(pdf_bytes) * cut)]
    read_or_refuse(data + (b"\n%%EOF\n" if eof else b""), "tronque.pdf")


@PDF_PROPS
@given(
    edits=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.binary(min_size=1, max_size=16)),
        min_size=1,
        max_size=8,
    )
)
def test_damaged_pdfs_parse_or_are_refused(pdf_bytes: bytes, edits: list[tuple[float, bytes]]):
    data = bytearray(pdf_bytes)
    for where, junk in edits:
        at = int(len(data) * where)
        data[at : at + len(junk)] = junk
    assume(bytes(data) != pdf_bytes)
    read_or_refuse(bytes(data), "abime.pdf")
