"""The PDF reader against the text version of the same document.

The action plan exists as a 24-page PDF and as a text export; the text reader's output
is the reference, so every check here says how much of it the PDF reader recovers
from layout alone: footnotes, body text, headings, markers, pages.

Body coverage is measured on sentences: the text version's blocks are cut into
sentences, both sides are normalised (case, whitespace, quotes, hyphens) and a sentence
counts as recovered when it occurs verbatim in the PDF's normalised body text. The
share is in characters.
"""

from __future__ import annotations

import io
import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from pypdf import PdfWriter

from core.errors import CorruptDocument, EmptyDocument, EncryptedDocument, IngestError, NoTextLayer
from evaluation.fidelity import comparable, sentences
from ingest.models import ParsedDocument
from ingest.pdf_reader import read_pdf, read_pdf_bytes
from ingest.text_reader import read_word_text

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PDF = CORPUS / "pdf" / "plan-action-integration-inclusion-2021-2027.pdf"
TXT = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
PAGES = 24
FOOTNOTES = list(range(2, 71))


@pytest.fixture(scope="module")
def pdf_doc() -> ParsedDocument:
    return read_pdf(PDF)


@pytest.fixture(scope="module")
def txt_doc() -> ParsedDocument:
    return read_word_text(TXT)


def ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------------------- footnotes


def test_all_footnotes_found_with_their_numbers(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    assert sorted(pdf_doc.footnotes) == FOOTNOTES == sorted(txt_doc.footnotes)
    assert all(number == note.number for number, note in pdf_doc.footnotes.items())


def test_footnote_texts_match_the_text_version(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    ratios = {
        n: SequenceMatcher(None, txt_doc.footnotes[n].text, pdf_doc.footnotes[n].text, autojunk=False).ratio()
        for n in FOOTNOTES
    }
    worst = min(ratios, key=ratios.__getitem__)
    assert ratios[worst] >= 0.95, (worst, pdf_doc.footnotes[worst].text)
    assert sum(ratios.values()) / len(ratios) >= 0.99


def test_footnote_pages(pdf_doc: ParsedDocument) -> None:
    pages = [pdf_doc.footnotes[n].page for n in FOOTNOTES]
    assert all(p is not None and 1 <= p <= PAGES for p in pages)
    assert pages == sorted(pages)
    assert pdf_doc.footnotes[2].page == 1 and pdf_doc.footnotes[70].page == 23


def test_footnote_urls_intact(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    """Addresses broken across footnote lines are rejoined without a space."""
    url = re.compile(r"https?://[^\s\]]+")
    for n in FOOTNOTES:
        assert url.findall(pdf_doc.footnotes[n].text) == url.findall(txt_doc.footnotes[n].text), n


# ---------------------------------------------------------------------------- markers


def test_every_marker_recorded_on_the_citing_block(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    def citing(doc: ParsedDocument) -> dict[int, str]:
        return {n: comparable(b.text) for b in doc.blocks for n in b.footnote_refs}

    pdf_citing, txt_citing = citing(pdf_doc), citing(txt_doc)
    assert sorted(pdf_citing) == FOOTNOTES
    assert pdf_citing == txt_citing


def test_marker_offsets_where_the_text_version_cites(
    pdf_doc: ParsedDocument, txt_doc: ParsedDocument
) -> None:
    """Each marker's offset falls after the same words as in the text version."""

    def cited_after(doc: ParsedDocument) -> dict[int, str]:
        out = {}
        for block in doc.blocks:
            assert len(block.footnote_ref_offsets) == len(block.footnote_refs)
            for number, offset in zip(block.footnote_refs, block.footnote_ref_offsets, strict=True):
                assert block.start <= offset <= block.end
                out[number] = comparable(doc.clean_text[max(block.start, offset - 30) : offset])
        return out

    assert cited_after(pdf_doc) == cited_after(txt_doc)


def test_markers_never_glued_to_numbers(pdf_doc: ParsedDocument) -> None:
    body = "\n".join(b.text for b in pdf_doc.blocks)
    assert "COVID-19" in body
    assert "COVID-1912" not in body
    assert "826,8" not in pdf_doc.clean_text
    assert re.match(r"26,8\s%", pdf_doc.footnotes[8].text)
    covid = next(b for b in pdf_doc.blocks if "lendemain de la pandémie de COVID-19." in b.text)
    assert 12 in covid.footnote_refs
    # no footnote number left at the end of a word before punctuation ("qualifiés8.")
    assert "qualifiés." in body and not re.search(r"[a-zé]\d{1,2}[.,;]", body)


# ---------------------------------------------------------------------------- body


def test_body_coverage(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    pdf_body = comparable(" ".join(b.text for b in pdf_doc.blocks))
    ref = [comparable(s) for b in txt_doc.blocks for s in sentences(b.text)]
    total = sum(len(s) for s in ref)
    found = sum(len(s) for s in ref if s in pdf_body)
    assert found / total >= 0.97


def test_blocks_are_text_version_blocks(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    """Precision: a PDF block holding a header, page number or a wrong join is not found."""
    reference = {comparable(b.text) for b in txt_doc.blocks}
    found = [comparable(b.text) in reference for b in pdf_doc.blocks]
    assert sum(found) / len(found) >= 0.97


def test_no_running_header_footer_or_page_number(pdf_doc: ParsedDocument) -> None:
    for block in pdf_doc.blocks:
        assert "COM(2020) 758 final" not in block.text
        assert not re.fullmatch(r"\d{1,2}", block.text.strip())
    assert pdf_doc.metadata["running_lines_removed"] == 2 * PAGES  # a header and a page number a page
    # the page number printed at the foot of page 2 does not end up in the paragraph running over
    straddling = next(b for b in pdf_doc.blocks if b.text.startswith("Assurer une intégration"))
    assert (straddling.page_start, straddling.page_end) == (1, 2)
    assert (
        "investissement à la fois social et économique permettant de renforcer la cohésion et la résilience"
        in (ws(straddling.text))
    )


def test_hyphens(pdf_doc: ParsedDocument) -> None:
    """Line-end hyphens here are all real: they are kept and the word is not split."""
    body = "\n".join(b.text for b in pdf_doc.blocks)
    for word in (
        "non-discrimination",
        "socio-économique",
        "socio-éducative",
        "eux-mêmes",
        "mi-parcours",
        "2021-2027",
    ):
        assert word in body, word
    assert "COVID- 19" not in body and "non- discrimination" not in body


def test_french_typography_preserved(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    for char in "’«»éœÉÀ":
        assert char in pdf_doc.clean_text, char
    nbsp_in_txt = "\u00a0" in " ".join(b.text for b in txt_doc.blocks)
    assert ("\u00a0" in " ".join(b.text for b in pdf_doc.blocks)) == nbsp_in_txt


def test_headings_in_section_paths(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    numbered = re.compile(r"^(?:\d+|[IVX]+)\.\s")
    ref = {ws(b.text) for b in txt_doc.blocks if b.kind == "heading" and numbered.match(b.text)}
    assert len(ref) == 6 + 4 + 5
    in_paths = {ws(s) for b in pdf_doc.blocks for s in b.section_path}
    assert ref <= in_paths
    roman = next(b for b in pdf_doc.blocks if b.text.startswith("De l’éducation et de l’accueil"))
    assert [ws(s) for s in roman.section_path] == [
        "4. Mesures dans les principaux domaines sectoriels",
        "I. Éducation et formation",
    ]


def test_question_subheadings_head_their_lists(pdf_doc: ParsedDocument, txt_doc: ParsedDocument) -> None:
    """ "Qu'entend faire la Commission ... ?" is set in body type in the PDF; the list under
    it gets the same section path as in the text version, where it is a tabbed sub-heading."""
    item = "accroître la participation des acteurs privés aux mesures d’intégration"
    in_pdf = next(b for b in pdf_doc.blocks if item in b.text)
    in_txt = next(b for b in txt_doc.blocks if item in b.text)
    assert in_txt.section_path[-1].startswith("Qu’entend faire la Commission")
    assert [ws(s) for s in in_pdf.section_path] == [ws(s) for s in in_txt.section_path]


def test_title_and_identity(pdf_doc: ParsedDocument) -> None:
    assert (
        pdf_doc.title
        == "Plan d’action en faveur de l’intégration et de l’inclusion pour la période 2021-2027"
    )
    assert pdf_doc.doc_id == PDF.stem
    assert pdf_doc.source_format == "pdf"
    assert pdf_doc.source_path == str(PDF)


# ---------------------------------------------------------------------------- offsets and pages


def test_offsets_round_trip(pdf_doc: ParsedDocument) -> None:
    for block in pdf_doc.blocks:
        assert pdf_doc.clean_text[block.start : block.end] == block.text
        assert pdf_doc.block_text(block) == block.text
    for note in pdf_doc.footnotes.values():
        assert pdf_doc.clean_text[note.start : note.end] == note.text
    assert max(b.end for b in pdf_doc.blocks) < min(n.start for n in pdf_doc.footnotes.values())


def test_pages_monotone_and_in_range(pdf_doc: ParsedDocument) -> None:
    starts = [b.page_start for b in pdf_doc.blocks]
    assert all(b.page_start is not None and b.page_end is not None for b in pdf_doc.blocks)
    assert all(1 <= b.page_start <= b.page_end <= PAGES for b in pdf_doc.blocks)
    assert starts == sorted(starts)
    assert starts[0] == 1 and pdf_doc.blocks[-1].page_end == PAGES
    assert sum(b.page_end > b.page_start for b in pdf_doc.blocks) >= 5


def test_bytes_and_path_agree(pdf_doc: ParsedDocument) -> None:
    from_bytes = read_pdf_bytes(PDF.read_bytes(), "plan", source_path="upload.pdf")
    assert from_bytes.clean_text == pdf_doc.clean_text
    assert (from_bytes.doc_id, from_bytes.source_path) == ("plan", "upload.pdf")
    assert read_pdf(PDF.read_bytes(), doc_id="plan").clean_text == pdf_doc.clean_text


def test_chunker_carries_pages(pdf_doc: ParsedDocument) -> None:
    chunker = pytest.importorskip("ingest.chunker")
    passages = chunker.chunk_document(pdf_doc)
    body = [p for p in passages if p.kind == "passage"]
    assert body and all(p.page_start is not None and p.page_end is not None for p in body)
    assert all(1 <= p.page_start <= p.page_end <= PAGES for p in body)
    for passage in body:
        inside = [b for b in pdf_doc.blocks if b.start < passage.end and passage.start < b.end]
        assert passage.page_start == min(b.page_start for b in inside)
        assert passage.page_end == max(b.page_end for b in inside)
    notes = [p for p in passages if p.kind == "footnote"]
    assert sorted(p.footnote_number for p in notes) == FOOTNOTES
    assert all(p.page_start == pdf_doc.footnotes[p.footnote_number].page for p in notes)


# ---------------------------------------------------------------------------- refusals


def _write(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_refused() -> None:
    writer = PdfWriter(clone_from=PDF)
    writer.encrypt("secret")
    with pytest.raises(EncryptedDocument, match="password"):
        read_pdf_bytes(_write(writer), "locked")


def test_pdf_encrypted_with_empty_password_is_read(pdf_doc: ParsedDocument) -> None:
    writer = PdfWriter(clone_from=PDF)
    writer.encrypt("")
    doc = read_pdf_bytes(_write(writer), "open")
    assert sorted(doc.footnotes) == FOOTNOTES
    assert len(doc.blocks) == len(pdf_doc.blocks)


def test_scanned_pdf_without_text_refused() -> None:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    with pytest.raises(NoTextLayer, match="OCR"):
        read_pdf_bytes(_write(writer), "scan")


@pytest.mark.parametrize("share", [0.05, 0.5, 0.95, 0.999])
def test_truncated_pdf_refused(share: float) -> None:
    data = PDF.read_bytes()
    with pytest.raises(CorruptDocument):
        read_pdf_bytes(data[: int(len(data) * share)], "cut")


def test_damaged_content_stream_refused() -> None:
    """A page whose compressed text cannot be decoded is refused, not half-read."""
    data = PDF.read_bytes()
    start = re.search(rb"stream\r?\n", data).end()
    damaged = data[: start + 20] + b"\0" * 40 + data[start + 60 :]
    with pytest.raises(CorruptDocument, match="damaged"):
        read_pdf_bytes(damaged, "damaged")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyDocument),
        (b"%PDF-1.7\n", CorruptDocument),
        (b"<html>not a pdf</html>", CorruptDocument),
    ],
)
def test_empty_or_not_pdf_refused(data: bytes, error: type[IngestError]) -> None:
    with pytest.raises(error):
        read_pdf_bytes(data, "bad")


def test_pdf_without_pages_refused() -> None:
    with pytest.raises(EmptyDocument, match="no pages"):
        read_pdf_bytes(_write(PdfWriter()), "nopages")


def test_empty_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(EmptyDocument, match="empty.pdf"):
        read_pdf(path)
